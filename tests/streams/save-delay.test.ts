/**
 * A stream bucket is saved as soon as the stream proves it final, not at the next cycle: Binance's
 * at its closed flag, the others' at the next minute's first update or, when quiet, at the end +
 * settle. Measured on the manual clock with the service's own save-delay histogram, which observes
 * after the sink's write resolves (CSV fsynced).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { duplicates, mismatches } from "../helpers/oracle.ts";
import { type LiveRun, missingBuckets, readCsvDir, startLiveRun } from "./live-driver.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const EXCHANGES = ["binance", "kraken", "kucoin", "poloniex"] as const;
const COINS = ["BTC", "DOGE", "ADA", "NEO"];
const SETTLE_S = 5;

let run: LiveRun | undefined;
afterEach(async () => {
  await run?.close();
  run = undefined;
});

/** The histogram's count at or below `le` seconds and in all, from /metrics. */
function delayCounts(text: string, exchange: string, source: string, le: string): { within: number; total: number } {
  const at = (bound: string) => {
    const re = new RegExp(
      `^cryptointellect_save_delay_seconds_bucket\\{exchange="${exchange}",sink="csv",source="${source}",le="${bound.replace(".", "\\.").replace("+", "\\+")}"\\} (\\d+)$`,
      "m",
    );
    return Number(re.exec(text)?.[1] ?? 0);
  };
  return { within: at(le), total: at("+Inf") };
}

describe("live_source websocket: how soon a bucket is durable", () => {
  test("Binance's within a second of the close, the others' within settle + 1 s, none in progress", async () => {
    run = await startLiveRun({
      startMs: T0 + 10_000,
      yaml: `bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [${COINS.join(", ")}]\nexchanges: [${EXCHANGES.join(", ")}]\ncatch_up_limit: 1h\nsettle_seconds: ${SETTLE_S}\n`,
    });
    const r = run;
    // Past the first cycle (REST reconcile) and one more boundary, so the stream is trusted.
    await r.stepTo(T0 + 2 * MINUTE_MS + 30_000);
    const firstStreamed = T0 + 2 * MINUTE_MS;
    const minutes = 6;
    // Step second by second; around each boundary and boundary + settle give the writes real time
    // to finish before the clock moves on, so a delay measured is the clock's, not the machine's.
    while (r.clock.now() < firstStreamed + minutes * MINUTE_MS + 30_000) {
      await r.clock.advance(1000);
      r.sim.tickStreams();
      const into = r.clock.now() % MINUTE_MS;
      const busy = into <= 2000 || (into >= SETTLE_S * 1000 && into <= SETTLE_S * 1000 + 2000);
      await Bun.sleep(busy ? 80 : 4);
    }
    const metrics = await (await r.runtime.app.request("/metrics")).text();
    const binance = delayCounts(metrics, "binance", "stream", "1");
    expect(binance.total).toBeGreaterThanOrEqual(minutes * COINS.length);
    expect(binance.within).toBe(binance.total);
    for (const ex of ["kraken", "kucoin", "poloniex"]) {
      const d = delayCounts(metrics, ex, "stream", String(SETTLE_S + 1));
      expect(d.total).toBeGreaterThanOrEqual(minutes * COINS.length - 2);
      expect(d.within).toBe(d.total);
      // Most are final at the next minute's first update, before settle.
      expect(delayCounts(metrics, ex, "stream", "4").within).toBeGreaterThan(0);
    }
    const rows = readCsvDir(r.csvDir);
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    const lastClosed = Math.floor(r.clock.now() / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
    expect(missingBuckets(rows, [...EXCHANGES], COINS, 1, T0, lastClosed - MINUTE_MS)).toEqual([]);
    expect(rows.filter((row) => row.openTimeMs + MINUTE_MS > r.clock.now())).toEqual([]);
  }, 120_000);
});
