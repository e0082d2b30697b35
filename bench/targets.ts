/** The issue's targets for this 2-core machine, judged from the figures of one run (pure). */
import type { TargetResult } from "./results.ts";
import { fmtMs, fmtPct, fmtRate, fmtRatio } from "./results.ts";
import { NATIVE_EXCHANGE_IDS } from "../src/exchanges/index.ts";

const MB = 1_000_000;
const EXCHANGES = NATIVE_EXCHANGE_IDS;

type Figures = Record<string, number>;

function target(name: string, value: number | undefined, pass: (v: number) => boolean, show: (v: number) => string): TargetResult {
  if (value === undefined || Number.isNaN(value)) return { target: name, pass: undefined, measured: "not measured in this run" };
  return { target: name, pass: pass(value), measured: show(value) };
}

/** One run's figure (`which`) beside a median of several runs (`runs` says which runs). */
const besideMedian = (runs: string, which: string, share: number | undefined) => (share === undefined ? "" : ` (median of the runs${runs}; ${which}: ${fmtPct(share)})`);

export function evaluateTargets(f: Figures, only?: readonly string[]): TargetResult[] {
  const wanted = (section: string) => only === undefined || only.includes(section);
  const out: TargetResult[] = [];
  if (wanted("aggregate")) {
    out.push(
      target(
        "Aggregation within 1.5× of the simple-loop baseline (worst of 5m, 7m, 1h, 1d)",
        f["aggregate.worstRatio"],
        (v) => v <= 1.5,
        (v) => `${fmtRatio(v)} the loop's time`,
      ),
      target(
        "Aggregation ≥ 10 million 1-minute candles per second (slowest interval)",
        f["aggregate.slowestRate"],
        (v) => v >= 10e6,
        (v) => `${fmtRate(v)} candles/s`,
      ),
    );
  }
  if (wanted("database")) {
    out.push(
      target(
        "PostgreSQL idempotent writes ≥ half the speed of COPY",
        f["pg.speedShareOfCopy"],
        (v) => v >= 0.5,
        (v) => `${fmtPct(v)} of COPY's speed (${fmtRate(f["pg.rowsPerSecond"] ?? Number.NaN)} rows/s)`,
      ),
    );
  }
  if (wanted("backfill")) {
    out.push(
      target(
        "End-to-end backfill ≥ 2× the ccxt baseline overall (into CSV)",
        f["e2e.ratioOverall"],
        (v) => v >= 2,
        (v) => `${fmtRatio(v)} ccxt's candles/s${f["e2e.ratioOverallPg"] === undefined ? "" : ` (into PostgreSQL: ${fmtRatio(f["e2e.ratioOverallPg"])})`}`,
      ),
    );
    for (const e of EXCHANGES) {
      const what = e === "kraken" ? "each pair's calls/s over its own time against 1 call/s per pair (its history comes from Trades)" : "candles/s against its ceiling";
      const floor = f[`e2e.${e}.floorShare`];
      out.push(
        target(
          `Backfill into CSV: ${e} ≥ 80% of its rate-limit ceiling, ${what}`,
          f[`e2e.${e}.share`],
          (v) => v >= 0.8,
          (v) =>
            `${fmtPct(v)}${besideMedian("", "the first, in a fresh process", f[`e2e.${e}.shareFirst`])}${besideMedian(" after a warm-up run", "the warm-up run, in a fresh process", f[`e2e.${e}.shareWarmup`])}${floor === undefined ? "" : ` (the floor on this machine, its requests fetched and dropped: ${fmtPct(floor)}${f[`e2e.${e}.aloneShare`] === undefined ? "" : `; the pipeline alone, pages served from memory: ${fmtPct(f[`e2e.${e}.aloneShare`]!)}`})`}`,
        ),
      );
    }
    for (const e of EXCHANGES) {
      const side = f[`e2e.${e}.pgCopyShare`];
      const alone = f[`e2e.${e}.pgCopyAloneShare`];
      const bound =
        side === undefined || alone === undefined
          ? ""
          : ` (PostgreSQL's own COPY of these rows, nothing else running, reaches ${fmtPct(side)} side by side with the other exchanges, ${fmtPct(alone)} alone${alone < 0.8 ? ": out of reach into PostgreSQL on this machine" : ""})`;
      out.push(
        target(
          `Backfill into PostgreSQL: ${e} ≥ 80% of its rate-limit ceiling`,
          f[`e2e.${e}.sharePg`],
          (v) => v >= 0.8,
          (v) => `${fmtPct(v)}${besideMedian(", after the runs into CSV", "the first", f[`e2e.${e}.sharePgFirst`])}${bound}`,
        ),
      );
    }
    out.push(
      target(
        "Backfill: no rate-limit refusal served by the simulator (ours and ccxt)",
        f["e2e.refusals"],
        (v) => v === 0,
        (v) => (v === 0 ? "none" : `${v} exchange runs were refused (see the backfill notes)`),
      ),
    );
  }
  if (wanted("live")) {
    const bound = f["live.boundMs"];
    for (const e of ["binance", "kucoin", "poloniex"] as const) {
      out.push(
        target(
          `Live cycle: every candle of a bucket saved within settle_seconds + 3 s on ${e} (100 coins)`,
          f[`live.${e}.worstMs`],
          (v) => bound !== undefined && v <= bound,
          (v) => `worst ${fmtMs(v)} after the bucket's close (bound ${fmtMs(bound ?? Number.NaN)})`,
        ),
      );
    }
    const kraken = f["live.kraken.worstMs"];
    out.push({
      target: "Live cycle on Kraken (reported as it is, not a target)",
      pass: kraken === undefined ? undefined : true,
      verdict: kraken === undefined ? undefined : "REPORTED",
      measured: kraken === undefined ? "not measured in this run" : `worst ${fmtMs(kraken)} after the bucket's close (see the live-cycle notes for what 100 pairs take)`,
    });
    out.push(
      target(
        "Live cycle: no rate-limit refusal served",
        f["live.refusals"],
        (v) => v === 0,
        (v) => (v === 0 ? "none" : `${v}`),
      ),
    );
  }
  if (wanted("resources")) {
    out.push(
      target(
        "Start to a healthy /health under 200 ms",
        f["res.startToHealthyMs"],
        (v) => v < 200,
        (v) => `${fmtMs(v)} (median)`,
      ),
      target(
        "Idle RSS under 100 MB",
        f["res.idleRssBytes"],
        (v) => v < 100 * MB,
        (v) => `${(v / MB).toFixed(1)} MB`,
      ),
      target(
        "Backfill peak RSS under 300 MB",
        f["res.backfillPeakRssBytes"],
        (v) => v < 300 * MB,
        (v) => `${(v / MB).toFixed(1)} MB`,
      ),
    );
  }
  return out;
}
