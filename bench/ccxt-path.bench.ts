/**
 * The ccxt path (issue "Every exchange users trade on"), against the simulator in its own process
 * with 20–50 ms latency, every side on the system clock:
 * 1. OKX, Coinbase and Bybit side by side: our backfill through ccxt (ccxt sends, our engine pages,
 *    retries, builds and saves) vs plain ccxt, both through its own paginator (`paginate: true`)
 *    and through a page loop bounded on both ends; 5 coins × 1 day of 1-minute candles, every row
 *    checked against the simulator's; then again with 5% of the exchanges' answers a 5xx, counting
 *    the rows each side lost.
 * 2. The native four one at a time: natively vs forced onto ccxt (`exchange_adapters: {id: ccxt}`),
 *    plain ccxt beside them (Kraken over 10 hours: through ccxt only its OHLC endpoint, 720 minutes deep).
 * 3. The executable: size, start to /health and idle RSS without and with a ccxt exchange configured. */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/config/config.ts";
import type { Candle } from "../src/domain/candle.ts";
import type { NativeExchangeId } from "../src/exchanges/index.ts";
import type { Market } from "../src/exchanges/types.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { runBackfill } from "../src/pipeline/backfill.ts";
import type { Progress } from "../src/cli/progress.ts";
import { createRuntime } from "../src/collector/runtime.ts";
import { SIM_COINS, SIM_EXCHANGE_IDS, SIM_LISTINGS, type SimExchangeId, simMinute } from "../src/simulator/market-data.ts";
import type { Faults, SimCounters, SimStats } from "../src/simulator/server.ts";
import { duplicates, mismatches, readCsvDir, type SavedRow } from "../tests/helpers/oracle.ts";
import { LATENCY_MS, startLatentSimulator } from "./backfill.bench.ts";
import { SEED_MINUTES, toCandles, writeCsv } from "./ccxt-baseline.ts";
import { type PlainMode, type PlainSeries, runPlainCcxt } from "./ccxt-plain.ts";
import { median } from "./compare.ts";
import { freePort, memoryOf, stop, waitHealthy } from "./resources.bench.ts";
import { type BenchContext, check, fmtBytes, fmtMs, fmtRatio, type Section } from "./results.ts";
import type { SimulatorProcess } from "./simulator-process.ts";

const ROOT = join(import.meta.dir, "..");
const MINUTE = 60_000;
/** Served for the ccxt path only: there is no native adapter. */
const CCXT_ONLY: SimExchangeId[] = ["okx", "coinbase", "bybit"];
/** Native exchanges whose candles endpoint reaches a day back. */
const NATIVE_PAGED: SimExchangeId[] = ["binance", "kucoin", "poloniex"];
/** Kraken's OHLC serves the last 720 minutes; through ccxt no Trades are used, so its range stays inside them with the look-back. */
const KRAKEN_MINUTES = 600;
const COINS = 5;
const PAUSE_MS = 2000;
/** Runs a side with faults: each serves only a few 5xx at 5% of some 60 requests. */
const FAULT_ROUNDS = 2;

type Via = "native" | "ccxt";

interface Scenario {
  coins: string[];
  /** The buckets saved open in [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  minutes: number;
}

/** The top coins by market cap tradable on every simulated exchange against USDT or USD. */
function commonSimCoins(count: number): string[] {
  const out: string[] = [];
  for (const c of SIM_COINS) {
    const ticker = c.symbol.toUpperCase();
    if (ticker === "USDT" || ticker === "USDC" || out.includes(ticker) || c.rank === null) continue;
    if (SIM_EXCHANGE_IDS.every((e) => SIM_LISTINGS[e].some((m) => m.coin === ticker && m.tradable && (m.quote === "USDT" || m.quote === "USD")))) out.push(ticker);
    if (out.length === count) break;
  }
  return out;
}

/** A range ending a minute before the last minute boundary, so every bucket in it is closed. */
function scenarioOf(coins: string[], minutes: number): Scenario {
  const toMs = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
  return { coins, fromMs: toMs - minutes * MINUTE, toMs, minutes };
}

function configYaml(sim: SimulatorProcess, exchanges: readonly SimExchangeId[], via: Via, body: string): string {
  const forced = via === "ccxt" ? exchanges.filter((e) => !CCXT_ONLY.includes(e)) : [];
  return `${body.trim()}
exchanges: [${exchanges.join(", ")}]
${forced.length > 0 ? `exchange_adapters:\n${forced.map((e) => `  ${e}: ccxt`).join("\n")}\n` : ""}api_base_urls:
${[...exchanges, "coingecko" as const].map((id) => `  ${id}: ${sim.baseUrls[id]}`).join("\n")}
`;
}

function counterDelta(after: SimStats, before: SimStats, id: SimExchangeId): SimCounters {
  return {
    requests: after[id].requests - before[id].requests,
    rateLimited: after[id].rateLimited - before[id].rateLimited,
    banned: after[id].banned - before[id].banned,
    errors: after[id].errors - before[id].errors,
  };
}

async function setFaults(sim: SimulatorProcess, exchange: SimExchangeId, faults: Faults): Promise<void> {
  const response = await fetch(`${sim.url}/_sim/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ exchange, faults }) });
  check(response.ok, `simulator faults for ${exchange}: ${response.status} ${await response.text()}`);
}

interface SideExchange {
  exchange: SimExchangeId;
  /** From the common start to its last rows saved. */
  elapsedMs: number;
  counters: SimCounters;
}

interface OursRun {
  via: Via;
  exchanges: SideExchange[];
  /** The markets tracked (ccxt symbols when through ccxt). */
  markets: Map<SimExchangeId, Market[]>;
  failedRanges: number;
  written: number;
  /** Retries our client made, by reason, over all exchanges. */
  retries: Record<string, number>;
}

/** Our backfill, from a fresh CSV directory: universe and listings first (untimed), then `runBackfill` timed per exchange. */
async function runOurs(sim: SimulatorProcess, exchanges: readonly SimExchangeId[], via: Via, s: Scenario, csvDirectory: string): Promise<OursRun> {
  const config = parseConfig(
    configYaml(
      sim,
      exchanges,
      via,
      `bucketing_interval: 1m
n_coins_to_poll: 0
list_coins_to_poll: [${s.coins.join(", ")}]
save_to_csv: true
csv_directory: ${csvDirectory}
settle_seconds: 5`,
    ),
    "bench.yml",
  );
  const logger = createLogger({ level: "error", write: () => {} });
  const runtime = createRuntime(config, { logger });
  await runtime.open();
  try {
    for (const a of runtime.adapters)
      check((a.kind === "ccxt") === (via === "ccxt" || CCXT_ONLY.includes(a.id as SimExchangeId)), `${a.id}: adapter kind ${a.kind}, expected ${via}`);
    await runtime.service.refreshUniverse();
    const tracked = runtime.service.tracked();
    const markets = new Map<SimExchangeId, Market[]>();
    for (const e of exchanges) {
      const list = [...(tracked.get(e) ?? [])];
      check(list.length === s.coins.length, `${e} (${via}): tracking ${list.length} markets, expected ${s.coins.length}`);
      markets.set(e, list);
    }
    const doneAt = new Map<string, number>();
    let t0 = 0;
    const progress: Progress = { setTotal() {}, add: (key) => void doneAt.set(key, performance.now() - t0), finish() {} };
    const before = await sim.stats();
    t0 = performance.now();
    const reports = await runBackfill(
      { clock: runtime.clock, logger, metrics: runtime.metrics, sinks: runtime.sinks, progress },
      runtime.adapters.map((adapter) => ({ adapter, client: runtime.clients.get(adapter.id)!, markets: markets.get(adapter.id as SimExchangeId)! })),
      { intervalMinutes: 1, settleSeconds: config.settleSeconds, fromMs: s.fromMs, toMs: s.toMs, repair: false },
    );
    const after = await sim.stats();
    const retries: Record<string, number> = {};
    for (const m of runtime.metrics.render().matchAll(/^cryptointellect_retries_total\{[^}]*reason="([^"]+)"[^}]*\} (\d+)/gm))
      retries[m[1]!] = (retries[m[1]!] ?? 0) + Number(m[2]);
    return {
      via,
      exchanges: exchanges.map((exchange) => ({ exchange, elapsedMs: doneAt.get(exchange) ?? Number.NaN, counters: counterDelta(after, before, exchange) })),
      markets,
      failedRanges: reports.reduce((n, r) => n + r.failed.length + r.sinkErrors.length, 0),
      written: reports.reduce((n, r) => n + (r.written.csv ?? 0), 0),
      retries,
    };
  } finally {
    await runtime.close();
  }
}

/** Ours must save every bucket once, equal to the simulator's data, with no refusal served. */
function checkOurs(dir: string, s: Scenario, run: OursRun, label: string): void {
  const rows = readCsvDir(dir);
  const expected = run.exchanges.length * s.coins.length * s.minutes;
  check(run.failedRanges === 0, `${label}: ${run.failedRanges} failed ranges`);
  check(rows.length === expected && run.written === expected, `${label}: CSV holds ${rows.length} rows (${run.written} written), expected ${expected}`);
  const dups = duplicates(rows);
  check(dups.length === 0, `${label}: duplicate rows: ${dups.slice(0, 3).join(", ")}`);
  const wrong = mismatches(rows);
  check(wrong.length === 0, `${label}: rows differ from the simulator's: ${wrong.slice(0, 2).join(" | ")}`);
  for (const e of run.exchanges)
    check(e.counters.rateLimited === 0 && e.counters.banned === 0, `${label} ${e.exchange}: ${e.counters.rateLimited} rate-limit refusals, ${e.counters.banned} bans served`);
}

interface PlainScore {
  exchange: SimExchangeId;
  mode: PlainMode;
  elapsedMs: number;
  counters: SimCounters;
  requests: number;
  expected: number;
  /** Rows equal to the simulator's. */
  right: number;
  /** Rows saved but different from the simulator's (fed forward over minutes ccxt did not return). */
  wrong: number;
  /** Traded minutes of the range that ccxt's answers lacked. */
  missingMinutes: number;
  /** Paginator calls that threw (every candle of that coin lost), with the first error. */
  threw: number;
  /** The page loop: pages asked for, and failed (each a lost window). */
  pages: number;
  failedPages: number;
  error: string | undefined;
}

/** Plain ccxt, its rows saved as ours would be (quiet minutes fed forward) into its own CSV, and scored against the simulator. */
async function runPlain(sim: SimulatorProcess, s: Scenario, markets: ReadonlyMap<SimExchangeId, readonly Market[]>, mode: PlainMode, csvDirectory: string): Promise<PlainScore[]> {
  const fromOpen = s.fromMs;
  const toOpen = s.toMs - MINUTE;
  const save = (exchange: string, series: readonly PlainSeries[]) => {
    const candles: Candle[] = [];
    // toCandles is typed for the native four; it only uses the id as the rows' exchange.
    for (const one of series) if (one.minutes) candles.push(...toCandles(exchange as NativeExchangeId, one.coin, one.minutes, fromOpen, toOpen));
    writeCsv(csvDirectory, candles);
  };
  let before: SimStats | undefined;
  const ready = async () => void (before = await sim.stats());
  const run = await runPlainCcxt({ baseUrls: sim.baseUrls, markets, mode, sinceMs: fromOpen - SEED_MINUTES * MINUTE, endMs: s.toMs, ready, save });
  const after = await sim.stats();
  check(run.refused === 0, `plain ccxt sent ${run.refused} requests off loopback`);
  plainVersion = run.ccxtVersion;
  const rows = readCsvDir(csvDirectory);
  check(duplicates(rows).length === 0, "plain ccxt's CSV holds duplicate rows");
  return run.exchanges.map((e): PlainScore => {
    const id = e.exchange as SimExchangeId;
    const mine: SavedRow[] = rows.filter((r) => r.exchange === id);
    const wrong = mismatches(mine).length;
    let missingMinutes = 0;
    for (const one of e.series) {
      const got = new Set((one.minutes ?? []).map((c) => c[0]));
      for (let t = fromOpen; t <= toOpen; t += MINUTE) if (!got.has(t) && simMinute(id, one.coin, t) !== null) missingMinutes++;
    }
    return {
      exchange: id,
      mode,
      elapsedMs: e.elapsedMs,
      counters: counterDelta(after, before!, id),
      requests: e.requests,
      expected: s.coins.length * s.minutes,
      right: mine.length - wrong,
      wrong,
      missingMinutes,
      threw: e.series.filter((x) => x.minutes === undefined).length,
      pages: e.series.reduce((n, x) => n + (x.pages ?? 0), 0),
      failedPages: e.series.reduce((n, x) => n + (x.failedPages ?? 0), 0),
      error: e.series.find((x) => x.error !== undefined)?.error,
    };
  });
}

let plainVersion = "?";

function describeLoss(p: PlainScore): string {
  const lost = p.expected - p.right;
  if (lost === 0) return `all ${p.expected.toLocaleString("en-US")} rows right`;
  const why: string[] = [];
  if (p.threw > 0) why.push(`the paginator threw for ${p.threw} of ${COINS} coins`);
  if (p.failedPages > 0) why.push(`${p.failedPages} of ${p.pages} pages failed, their windows lost`);
  why.push(`${p.missingMinutes.toLocaleString("en-US")} traded minutes missing from its answers`);
  if (p.wrong > 0) why.push(`${p.wrong.toLocaleString("en-US")} rows saved wrong, fed forward over them`);
  return `${p.right.toLocaleString("en-US")} of ${p.expected.toLocaleString("en-US")} rows right, ${lost.toLocaleString("en-US")} LOST (${why.join("; ")}${p.error ? `; first error ${p.error.slice(0, 80)}` : ""})`;
}

/** Each side once a round, the order turning each round; a warm-up round first (simulator and our process), not counted. */
interface GroupResult {
  exchanges: SimExchangeId[];
  native: OursRun[];
  ccxt: OursRun[];
  paginate: PlainScore[][];
  pages: PlainScore[][];
}

async function runGroup(
  ctx: BenchContext,
  sim: SimulatorProcess,
  exchanges: SimExchangeId[],
  s: Scenario,
  rounds: number,
  warmUp: boolean,
  withNative: boolean,
  fresh: () => string,
  pauseMs = PAUSE_MS,
): Promise<GroupResult> {
  const out: GroupResult = { exchanges, native: [], ccxt: [], paginate: [], pages: [] };
  let markets: Map<SimExchangeId, Market[]> | undefined;
  for (let round = warmUp ? 0 : 1; round <= rounds; round++) {
    const counted = round > 0;
    const label = `${exchanges.join("+")} round ${round}${counted ? "" : " (warm-up)"}`;
    const sides: (() => Promise<void>)[] = [];
    if (withNative) {
      sides.push(async () => {
        const dir = fresh();
        const run = await runOurs(sim, exchanges, "native", s, dir);
        checkOurs(dir, s, run, `native ${label}`);
        if (counted) out.native.push(run);
      });
    }
    sides.push(async () => {
      const dir = fresh();
      const run = await runOurs(sim, exchanges, "ccxt", s, dir);
      checkOurs(dir, s, run, `ours via ccxt ${label}`);
      markets = run.markets;
      if (counted) out.ccxt.push(run);
    });
    for (const mode of ["paginate", "pages"] as const) {
      sides.push(async () => {
        const scores = await runPlain(sim, s, markets!, mode, fresh());
        if (counted) out[mode].push(scores);
      });
    }
    // The plain sides ask for the markets ours tracked: ours first in the first round, then the order turns.
    const order = round % 2 === 0 || !markets ? sides : [...sides].reverse();
    for (const side of order) {
      await side();
      await Bun.sleep(pauseMs);
    }
    ctx.log(`ccxt-path: ${label} done`);
  }
  return out;
}

const medianOf = <T>(runs: readonly T[], pick: (r: T) => number) => median(runs.map(pick));
const oursMs = (runs: readonly OursRun[], e: SimExchangeId) => medianOf(runs, (r) => r.exchanges.find((x) => x.exchange === e)!.elapsedMs);
const oursReq = (runs: readonly OursRun[], e: SimExchangeId) => medianOf(runs, (r) => r.exchanges.find((x) => x.exchange === e)!.counters.requests);
const plainOf = (runs: readonly PlainScore[][], e: SimExchangeId) => runs.map((r) => r.find((x) => x.exchange === e)!);
const groupMs = (runs: readonly OursRun[]) => medianOf(runs, (r) => Math.max(...r.exchanges.map((x) => x.elapsedMs)));
const plainGroupMs = (runs: readonly PlainScore[][]) => medianOf(runs, (r) => Math.max(...r.map((x) => x.elapsedMs)));

/** A plain variant over its rounds: median time and requests, its worst round's rows, all its refusals. */
function plainSummary(runs: readonly PlainScore[]): string {
  const worst = runs.reduce((a, p) => (p.right < a.right ? p : a));
  const refused = runs.reduce((n, p) => n + p.counters.rateLimited + p.counters.banned, 0);
  const name = runs[0]!.mode === "paginate" ? "ccxt's paginator" : "page loop";
  return `${name}: ${fmtMs(median(runs.map((p) => p.elapsedMs)))} (${median(runs.map((p) => p.requests))} requests); ${runs.length > 1 ? "worst round: " : ""}${describeLoss(worst)}; ${refused === 0 ? "0 refusals" : `${refused} refusals served`}`;
}

// --- 3. The executable ------------------------------------------------------------------------

async function buildTo(path: string): Promise<{ bytes: number; buildMs: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn(["bun", "scripts/build.ts", "--outfile", path], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  check(code === 0, `bun scripts/build.ts failed: ${err.slice(0, 300)}`);
  return { bytes: statSync(path).size, buildMs: performance.now() - t0 };
}

interface ServeFigures {
  startToHealthyMs: number[];
  idleRssBytes: number;
  cycleOutcome: string;
}

/** One start of `run`: time to a 200 from /health; with `idle`, VmRSS 3 s after its first cycle too. */
async function startOnce(binary: string, dir: string, yaml: string, name: string, idle: boolean): Promise<{ ms: number; idleRssBytes: number; cycleOutcome: string }> {
  const port = await freePort();
  const tag = `${name}-${port}`;
  const config = join(dir, `${tag}.yml`);
  writeFileSync(config, `${yaml}csv_directory: ${join(dir, `${tag}-csv`)}\nhttp:\n  host: 127.0.0.1\n  port: ${port}\n`);
  const t0 = performance.now();
  const proc = Bun.spawn([binary, "run", "-c", config], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  const stderr = new Response(proc.stderr).text();
  try {
    const healthy = await waitHealthy(proc, port, t0);
    const ms = performance.now() - t0;
    check(healthy, `${name}: run did not answer /health within 10 s (exit ${proc.exitCode}) ${(await Promise.race([stderr, Bun.sleep(100).then(() => "")])).slice(-300)}`);
    if (!idle) return { ms, idleRssBytes: Number.NaN, cycleOutcome: "" };
    let cycleOutcome = "";
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline && cycleOutcome === "") {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const outcomes = [...text.matchAll(/^cryptointellect_cycles_total\{outcome="([^"]+)"\} (\d+)/gm)].filter((m) => Number(m[2]) > 0);
      if (outcomes.length > 0) cycleOutcome = outcomes.map((m) => `${m[1]} ${m[2]}`).join(", ");
      else await Bun.sleep(100);
    }
    check(cycleOutcome !== "", `${name}: run finished no cycle within 60 s`);
    await Bun.sleep(3000);
    const samples: number[] = [];
    for (let k = 0; k < 10; k++) {
      samples.push(memoryOf(proc.pid)?.rss ?? Number.NaN);
      await Bun.sleep(100);
    }
    return { ms, idleRssBytes: Math.max(...samples), cycleOutcome };
  } finally {
    await stop(proc);
    void (await stderr);
  }
}

/**
 * Start-up of each config, `starts` times, the configs taking turns (so load from elsewhere on the
 * machine falls on all of them alike); then one more start of each for its idle RSS.
 */
async function measureServe(binary: string, dir: string, configs: Record<string, string>, starts: number): Promise<Record<string, ServeFigures>> {
  const out: Record<string, ServeFigures> = {};
  for (const name of Object.keys(configs)) out[name] = { startToHealthyMs: [], idleRssBytes: Number.NaN, cycleOutcome: "" };
  for (let i = 0; i < starts; i++) {
    for (const [name, yaml] of Object.entries(configs)) out[name]!.startToHealthyMs.push((await startOnce(binary, dir, yaml, name, false)).ms);
  }
  for (const [name, yaml] of Object.entries(configs)) {
    const idle = await startOnce(binary, dir, yaml, name, true);
    out[name]!.idleRssBytes = idle.idleRssBytes;
    out[name]!.cycleOutcome = idle.cycleOutcome;
  }
  return out;
}

const megabytes = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

// --- The section ------------------------------------------------------------------------------

export async function runCcxtPathBench(ctx: BenchContext): Promise<Section> {
  const section: Section = { id: "ccxt-path", title: "ccxt path (issue: every exchange)", rows: [], notes: [] };
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), "ci-bench-ccxt-"));
    dirs.push(d);
    return d;
  };
  const rounds = ctx.quick ? 1 : 3;
  const minutes = ctx.quick ? 360 : 1440;
  const coins = commonSimCoins(COINS);
  check(coins.length === COINS, `only ${coins.length} coins are listed on all seven simulated exchanges`);
  const sim = await startLatentSimulator();
  try {
    // 1. OKX, Coinbase, Bybit: ours through ccxt vs plain ccxt.
    const sA = scenarioOf(coins, minutes);
    ctx.log(`ccxt-path: ${CCXT_ONLY.join(", ")}: ${COINS} coins × ${minutes} minutes, ours via ccxt vs plain ccxt, ${rounds} rounds after a warm-up`);
    const a = await runGroup(ctx, sim, CCXT_ONLY, sA, rounds, true, false, fresh);

    // 1b. The same with 5% of answers a 5xx.
    ctx.log("ccxt-path: the same with errorRate 0.05");
    for (const e of CCXT_ONLY) await setFaults(sim, e, { latencyMs: LATENCY_MS, errorRate: 0.05 });
    let faults: GroupResult;
    try {
      faults = await runGroup(ctx, sim, CCXT_ONLY, sA, FAULT_ROUNDS, false, false, fresh);
    } finally {
      for (const e of CCXT_ONLY) await setFaults(sim, e, { latencyMs: LATENCY_MS });
    }

    // 2. The native four, one at a time (side by side they finish together, our process being the
    //    bottleneck): natively, through our ccxt path, and plain ccxt. Their rate windows are far
    //    from full here, so 1 s between runs.
    const natives: [GroupResult, Scenario][] = [];
    for (const e of NATIVE_PAGED) {
      const sB = scenarioOf(coins, minutes);
      ctx.log(`ccxt-path: ${e}: native vs ccxt vs plain ccxt`);
      natives.push([await runGroup(ctx, sim, [e], sB, rounds, true, true, fresh, 1000), sB]);
    }
    // Kraken through ccxt goes at ccxt's 1 call per 1.2 s for the whole exchange: one round, paced by that, not by CPU.
    const sK = scenarioOf(coins, Math.min(minutes, KRAKEN_MINUTES));
    ctx.log(`ccxt-path: kraken (${sK.minutes} minutes): native vs ccxt vs plain ccxt`);
    natives.push([await runGroup(ctx, sim, ["kraken"], sK, 1, false, true, fresh), sK]);

    // 3. The executable.
    const binDir = fresh();
    const binary = join(binDir, "cryptointellect");
    ctx.log(`ccxt-path: bun scripts/build.ts --outfile ${binary}`);
    const built = await buildTo(binary);
    const starts = ctx.quick ? 2 : 5;
    const serveYaml = (exchanges: SimExchangeId[]) => configYaml(sim, exchanges, "native", "bucketing_interval: 1m\nsettle_seconds: 5");
    const serve = await measureServe(
      binary,
      binDir,
      { native4: serveYaml(["binance", "kraken", "kucoin", "poloniex"]), binance: serveYaml(["binance"]), okx: serveYaml(["binance", "okx"]) },
      starts,
    );
    const [serveNative, serveBinance, serveOkx] = [serve.native4!, serve.binance!, serve.okx!];
    ctx.log(
      `ccxt-path: idle RSS native four ${fmtBytes(serveNative.idleRssBytes)}, binance ${fmtBytes(serveBinance.idleRssBytes)}, binance + okx ${fmtBytes(serveOkx.idleRssBytes)}`,
    );

    if (!ctx.timing) return section;
    const range = (s: Scenario) => `${COINS} coins × ${s.minutes >= 1440 ? `${s.minutes / 1440} day` : `${s.minutes / 60} hours`} of 1m`;
    const versus = (oursMsValue: number, plain: Record<PlainMode, readonly PlainScore[]>) =>
      `${fmtRatio(oursMsValue / median(plain.paginate.map((p) => p.elapsedMs)))} the paginator's time, ${fmtRatio(oursMsValue / median(plain.pages.map((p) => p.elapsedMs)))} the page loop's`;

    // Rows: 1.
    for (const e of CCXT_ONLY) {
      const ours = oursMs(a.ccxt, e);
      const plain = { paginate: plainOf(a.paginate, e), pages: plainOf(a.pages, e) };
      ctx.figures[`ccxt.${e}.oursOverPaginate`] = ours / median(plain.paginate.map((p) => p.elapsedMs));
      ctx.figures[`ccxt.${e}.oursOverPages`] = ours / median(plain.pages.map((p) => p.elapsedMs));
      section.rows.push({
        what: `${e}: ours via ccxt → CSV vs plain ccxt ${plainVersion}, ${range(sA)}`,
        figure: `${fmtMs(ours)} (${oursReq(a.ccxt, e)} requests); all ${(COINS * sA.minutes).toLocaleString("en-US")} rows right; 0 refusals`,
        baseline: `${plainSummary(plain.paginate)}. ${plainSummary(plain.pages)}`,
        ratio: versus(ours, plain),
      });
    }
    const oursA = groupMs(a.ccxt);
    ctx.figures["ccxt.ccxtOnly.oursOverPages"] = oursA / plainGroupMs(a.pages);
    section.rows.push({
      what: `${CCXT_ONLY.join(" + ")} side by side, until the last is saved`,
      figure: fmtMs(oursA),
      baseline: `ccxt's paginator ${fmtMs(plainGroupMs(a.paginate))}; page loop ${fmtMs(plainGroupMs(a.pages))}`,
      ratio: `${fmtRatio(oursA / plainGroupMs(a.paginate))} the paginator's time, ${fmtRatio(oursA / plainGroupMs(a.pages))} the page loop's`,
    });

    // 1b.
    for (const e of CCXT_ONLY) {
      const ours = faults.ccxt.map((r) => r.exchanges.find((x) => x.exchange === e)!);
      const plain = { paginate: plainOf(faults.paginate, e), pages: plainOf(faults.pages, e) };
      const sum = <T>(xs: readonly T[], pick: (x: T) => number) => xs.reduce((n, x) => n + pick(x), 0);
      const lost = (xs: readonly PlainScore[]) => sum(xs, (p) => p.expected - p.right);
      ctx.figures[`ccxt.${e}.faultRowsLostPaginate`] = lost(plain.paginate);
      ctx.figures[`ccxt.${e}.faultRowsLostPages`] = lost(plain.pages);
      const plainText = (xs: readonly PlainScore[]) => {
        const name = xs[0]!.mode === "paginate" ? "paginator" : "page loop";
        const how = [xs[0]!.mode === "paginate" ? `${sum(xs, (p) => p.threw)} calls threw` : `${sum(xs, (p) => p.failedPages)} of ${sum(xs, (p) => p.pages)} pages failed`];
        const error = xs.find((p) => p.error)?.error;
        return `${name}: ${xs.map((p) => fmtMs(p.elapsedMs)).join(", ")}; ${sum(xs, (p) => p.counters.errors)} 5xx served; rows lost per run: ${xs.map((p) => (p.expected - p.right).toLocaleString("en-US")).join(", ")} of ${xs[0]!.expected.toLocaleString("en-US")} (${how.join("; ")}${error ? `; ${error.slice(0, 60)}…` : ""}); ${sum(xs, (p) => p.counters.rateLimited + p.counters.banned)} refusals`;
      };
      section.rows.push({
        what: `${e} with 5% of answers a 5xx (errorRate 0.05), ${FAULT_ROUNDS} runs a side: ours via ccxt vs plain ccxt`,
        figure: `${ours.map((o) => fmtMs(o.elapsedMs)).join(", ")}; ${sum(ours, (o) => o.counters.errors)} 5xx served of ${sum(ours, (o) => o.counters.requests)} requests; rows lost per run: ${ours.map(() => 0).join(", ")}; ${sum(ours, (o) => o.counters.rateLimited + o.counters.banned)} refusals`,
        baseline: `${plainText(plain.paginate)}. ${plainText(plain.pages)}`,
        ratio: versus(median(ours.map((o) => o.elapsedMs)), plain),
      });
    }

    // 2.
    for (const [group, s] of natives) {
      for (const e of group.exchanges) {
        const native = oursMs(group.native, e);
        const viaCcxt = oursMs(group.ccxt, e);
        const plain = { paginate: plainOf(group.paginate, e), pages: plainOf(group.pages, e) };
        ctx.figures[`ccxt.${e}.nativeOverCcxt`] = native / viaCcxt;
        section.rows.push({
          what: `${e}: native vs forced onto our ccxt path (\`exchange_adapters: {${e}: ccxt}\`), ${range(s)}`,
          figure: `native ${fmtMs(native)} (${oursReq(group.native, e)} requests)`,
          baseline: `via ccxt ${fmtMs(viaCcxt)} (${oursReq(group.ccxt, e)} requests); both: all rows right, 0 refusals`,
          ratio: `native takes ${fmtRatio(native / viaCcxt)} the ccxt path's time`,
        });
        section.rows.push({
          what: `${e}: our ccxt path vs plain ccxt, ${range(s)}`,
          figure: fmtMs(viaCcxt),
          baseline: `${plainSummary(plain.paginate)}. ${plainSummary(plain.pages)}`,
          ratio: versus(viaCcxt, plain),
        });
      }
    }

    // 3.
    const startMs = (f: ServeFigures) => median(f.startToHealthyMs);
    const starts3 = (f: ServeFigures) => f.startToHealthyMs.map((t) => fmtMs(t)).join(", ");
    section.rows.push({
      what: "binary size (`bun scripts/build.ts`, ccxt bundled)",
      figure: `${megabytes(built.bytes)} (${fmtBytes(built.bytes)})`,
      baseline: "about 115 MB before ccxt (README; the last full run's resources section: 117.4 MB, then with an embedded source map, which 21af159 dropped)",
    });
    section.rows.push({
      what: "start to a 200 from /health, `exchanges: [binance, okx]` (ccxt loaded)",
      figure: `${fmtMs(startMs(serveOkx))} median of ${starts} (${starts3(serveOkx)})`,
      baseline: `native four ${fmtMs(startMs(serveNative))} (${starts3(serveNative)}); binance alone ${fmtMs(startMs(serveBinance))} (${starts3(serveBinance)})`,
      ratio: `+${fmtMs(startMs(serveOkx) - startMs(serveNative))} over the native four, +${fmtMs(startMs(serveOkx) - startMs(serveBinance))} over binance alone`,
    });
    section.rows.push({
      what: "idle RSS after the first cycle, `exchanges: [binance, okx]` (ccxt loaded)",
      figure: `${megabytes(serveOkx.idleRssBytes)} (cycles: ${serveOkx.cycleOutcome})`,
      baseline: `native four ${megabytes(serveNative.idleRssBytes)} (${serveNative.cycleOutcome}); binance alone ${megabytes(serveBinance.idleRssBytes)} (${serveBinance.cycleOutcome})`,
      ratio: `+${megabytes(serveOkx.idleRssBytes - serveNative.idleRssBytes)} over the native four, +${megabytes(serveOkx.idleRssBytes - serveBinance.idleRssBytes)} over binance alone`,
    });
    ctx.figures["ccxt.binaryBytes"] = built.bytes;
    ctx.figures["ccxt.startMs.okx"] = startMs(serveOkx);
    ctx.figures["ccxt.startMs.native"] = startMs(serveNative);
    ctx.figures["ccxt.idleRss.okx"] = serveOkx.idleRssBytes;
    ctx.figures["ccxt.idleRss.native"] = serveNative.idleRssBytes;

    const retries: Record<string, number> = {};
    for (const run of faults.ccxt) for (const [reason, n] of Object.entries(run.retries)) retries[reason] = (retries[reason] ?? 0) + n;
    section.notes.push(
      `Setup: the simulator in its own process, every answer delayed ${LATENCY_MS[0]}–${LATENCY_MS[1]} ms, its real rate limits; every side on the system clock, in this process, one after the other (the order turns each round), ${PAUSE_MS / 1000} s apart so the rate windows turn. Coins: ${coins.join(", ")} (the top ones tradable on all seven simulated exchanges). Times are medians of ${rounds} rounds after an uncounted warm-up round (Kraken: one round; the fault runs: each run's time), each from the start of the fetch to the exchange's last rows saved; listings (our universe, ccxt's loadMarkets) come before and are not counted.`,
      `Ours: \`createRuntime\` + \`runBackfill\` into CSV from an empty directory, checked before any figure is kept: exactly ${COINS} × minutes rows per exchange, no duplicate, every row equal to the simulator's (tests/helpers/oracle.ts), no failed range, no 429/403/418 served to it (the simulator's /_sim/stats). Plain ccxt ${plainVersion}: one instance per exchange (enableRateLimit, spot markets only, no currencies), all coins at once, from the same look-back (${SEED_MINUTES} minutes before the range), in two ways: ccxt's own paginator, \`fetchOHLCV(symbol, "1m", since, undefined, { paginate: true, paginationCalls })\` once per coin; and a page loop as bench/ccxt-baseline.ts does (pages of the exchange's largest size bounded on both ends, all in flight, no retry). Its candles are saved as ours would be (quiet minutes fed forward) into a CSV of its own inside its time and scored with the same oracle: a row is right when it equals the simulator's bucket; a minute ccxt did not return becomes a row fed forward, which is wrong where the minute traded.`,
      `ccxt's paginator (ccxt ${plainVersion}) loses data with no error on three of these exchanges. Coinbase: \`fetchOHLCV\` sets \`limit\` to 300 before it hands over to the paginator, which then cuts the joined pages to the first 300 candles (js/src/coinbase.js fetchOHLCV). KuCoin: the paginator runs \`fetchSpotOHLCV\` and then filters the joined rows by a \`timestamp\` key, which OHLCV arrays lack, so it returns nothing (js/src/base/Exchange.js fetchPaginatedCallDeterministic: \`key = (method === 'fetchOHLCV') ? 0 : 'timestamp'\`). Poloniex: each page sends \`startTime\` and \`limit\` but no \`endTime\`, which the exchange (and the simulator) take as now, answering with the newest 500 candles every time, so the call returns the last 500 minutes. Passing \`until\` would not help on OKX: each page then asks for the newest 200 candles before \`until\`, so the call returns 200. The page loop, bounded on both ends, gets every row on a clean run and is the fair speed baseline.`,
      `With faults: errorRate 0.05 on ${CCXT_ONLY.join(", ")} (5% of answers a 500/502/503/504 HTML page; ccxt reads a 504 as RequestTimeout), ${FAULT_ROUNDS} rounds. Ours retried ${
        Object.entries(retries)
          .map(([r, n]) => `${n} (${r})`)
          .join(", ") || "nothing"
      } over them and saved every row (checked as above). ccxt's paginator retries a failed page up to 3 times at once, without backoff (a RateLimitExceeded not at all), and if a page still fails the whole call throws: every candle of the coin lost, not one window. The page loop has no retry: each failed page is a lost window.`,
      `Native vs ccxt: Kraken's ccxt class reads only its OHLC endpoint (720 minutes deep) and paces all pairs together at its rateLimit (1000 ms × cost 1.2 for OHLC); natively older history comes from Trades and the budget is per pair. So it is measured over ${sK.minutes} minutes, which both reach by OHLC.`,
      `Executable: \`bun scripts/build.ts --outfile\` (compile, minify, bytecode), built in ${fmtMs(built.buildMs)}. \`cryptointellect run -c FILE\` against the simulator (defaults: top 30 + 3 named coins, 1m buckets), ${starts} starts per config, /health polled every 2 ms; idle RSS is VmRSS (max of 10 samples) 3 s after the first cycle counted in /metrics. ccxt is loaded only when a ccxt exchange is configured (src/exchanges/ccxt-catalog.ts), so the native four pay nothing for it but the binary's size.`,
    );
    return section;
  } finally {
    await sim.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
