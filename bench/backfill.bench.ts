/**
 * End-to-end backfill against the simulator on the real clock, with 20–50 ms latency per request
 * and the real rate budgets: 4 exchanges × 10 coins × 2 days of 1-minute candles through the
 * backfill code path (`runBackfill` with a runtime from `createRuntime`) into CSV and into
 * PostgreSQL, side by side with the ccxt baseline writing the same CSV from the same simulator.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { parseConfig } from "../src/config/config.ts";
import type { Candle } from "../src/domain/candle.ts";
import type { NativeExchangeId as ExchangeId } from "../src/exchanges/index.ts";
import { NATIVE_EXCHANGES as ADAPTERS, NATIVE_EXCHANGE_IDS } from "../src/exchanges/index.ts";
import type { Market } from "../src/exchanges/types.ts";
import { buildUrl, type FetchFn } from "../src/http/client.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { type ExchangeBackfillReport, runBackfill } from "../src/pipeline/backfill.ts";
import type { Progress } from "../src/cli/progress.ts";
import { createRuntime, type Runtime } from "../src/collector/runtime.ts";
import { renderRow } from "../src/sinks/csv-format.ts";
import { createDatabaseSink, type DatabaseSink } from "../src/sinks/database.ts";
import { SIM_COINS, SIM_LISTINGS } from "../src/simulator/market-data.ts";
import type { SimCounters, SimServiceId, SimStats } from "../src/simulator/server.ts";
import { duplicates, mismatches, readCsvDir } from "../tests/helpers/oracle.ts";
import { type CcxtRun, type PairCalls, runCcxtBackfill } from "./ccxt-baseline.ts";
import { copyChunks, copyRows, countRows, distinctSeries, dropPostgresDatabase, postgresReachable, postgresUrl, settlePostgres, uniqueDatabaseName } from "./database.bench.ts";
import { type BenchContext, check, fmtMs, fmtPct, fmtRate, fmtRatio, type Section } from "./results.ts";
import { processCpuMs, type SimulatorProcess, startSimulatorProcess } from "./simulator-process.ts";

export const EXCHANGES: ExchangeId[] = [...NATIVE_EXCHANGE_IDS];
const MINUTE = 60_000;
export const LATENCY_MS: [number, number] = [20, 50];

/**
 * The published ceilings, in candles per second of 1-minute candles: Binance 6000 weight/min at
 * weight 2 per 1000 klines; KuCoin 2000 weight/30 s at weight 3 per 1500; Poloniex 200 requests/s
 * per 500; Kraken 1 call/s per pair per 720 (OHLC; older history comes through Trades).
 */
export function ceilingCandlesPerSecond(exchange: ExchangeId, pairs: number): number {
  switch (exchange) {
    case "binance":
      return (6000 / 2 / 60) * 1000;
    case "kucoin":
      return (2000 / 30 / 3) * 1500;
    case "poloniex":
      return 200 * 500;
    case "kraken":
      return pairs * 720;
  }
}

/** The top coins by market cap that all four exchanges list as tradable (stablecoins are quotes, not coins). */
export function commonCoins(count: number): string[] {
  const tradable = (exchange: ExchangeId, coin: string) => SIM_LISTINGS[exchange].some((m) => m.coin === coin && m.tradable && (m.quote === "USDT" || m.quote === "USD"));
  const out: string[] = [];
  for (const c of SIM_COINS) {
    const ticker = c.symbol.toUpperCase();
    if (ticker === "USDT" || ticker === "USDC" || out.includes(ticker) || c.rank === null) continue;
    if (EXCHANGES.every((e) => tradable(e, ticker))) out.push(ticker);
    if (out.length === count) break;
  }
  return out;
}

export interface E2eScenario {
  coins: string[];
  /** Backfill arguments: the buckets saved are those opening in [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  bucketsPerSeries: number;
}

/** A fixed range ending at a minute boundary at least a minute in the past, so every bucket in it is closed. */
export function scenario(coins: number, minutes: number, nowMs = Date.now()): E2eScenario {
  const toMs = Math.floor(nowMs / MINUTE) * MINUTE - MINUTE;
  return { coins: commonCoins(coins), fromMs: toMs - minutes * MINUTE, toMs, bucketsPerSeries: minutes };
}

/** The simulator in its own process, every answer delayed 20–50 ms. */
export function startLatentSimulator(timeWarp?: string): Promise<SimulatorProcess> {
  return startSimulatorProcess({ latencyMs: LATENCY_MS, timeWarp });
}

export function simulatorYaml(sim: { baseUrls: Record<SimServiceId, string> }, body: string): string {
  return `${body.trim()}
api_base_urls:
${([...NATIVE_EXCHANGE_IDS, "coingecko"] as const).map((id) => `  ${id}: ${sim.baseUrls[id]}`).join("\n")}
`;
}

export interface OurExchangeRun {
  exchange: ExchangeId;
  elapsedMs: number;
  written: number;
  requests: number;
  krakenTradesCalls: number;
  krakenOhlcCalls: number;
  /** Kraken: each pair's calls and when its last one returned. */
  krakenPairs: PairCalls[];
  counters: SimCounters;
  /** CPU time (user + system) our process had used since the start when this exchange finished. */
  cpuMsAtDone: number;
  /** CPU time the simulator process had used since the start when this exchange finished. */
  simCpuMsAtDone: number;
  /** Into PostgreSQL: CPU time the server's processes (those there at the start) had used by then. */
  serverCpuMsAtDone: number;
}

export interface OurRun {
  sink: "csv" | "database";
  exchanges: OurExchangeRun[];
  /** Universe and listings (CoinGecko + each exchange's markets), before the backfill proper. */
  setupMs: number;
  markets: Map<ExchangeId, Market[]>;
  reports: ExchangeBackfillReport[];
  /** Every URL the backfill requested, per exchange. */
  urls: Map<ExchangeId, string[]>;
  warnings: string[];
}

/**
 * The floor this machine and simulator allow: the candle requests our backfill sent for the given
 * exchanges, replayed all at once with plain fetch, bodies read and dropped (no limiter, no
 * parsing, no saving). Each exchange's figure is when its last body arrived.
 */
export async function measureFetchFloor(urls: Map<ExchangeId, string[]>, exchanges: readonly ExchangeId[], bodies?: Map<string, string>): Promise<Map<ExchangeId, number>> {
  // Let every window the backfill used turn first (Poloniex counts per second).
  await Bun.sleep(2000);
  const doneAt = new Map<ExchangeId, number>();
  const t0 = performance.now();
  await Promise.all(
    exchanges.flatMap((e) =>
      (urls.get(e) ?? []).map(async (url) => {
        const response = await fetch(url);
        const text = await response.text();
        check(response.status === 200 && text.length > 2, `floor replay ${e}: status ${response.status}, ${text.length} bytes`);
        bodies?.set(url, text);
        doneAt.set(e, Math.max(doneAt.get(e) ?? 0, performance.now() - t0));
      }),
    ),
  );
  return doneAt;
}

/**
 * Warms the simulator's JIT before anything is timed. The simulator stands in for an exchange that
 * has served for years; freshly started, its page code runs cold and, on these 2 cores, a first
 * backfill paid for that warm-up as well as its own (the simulator used 3-4 times the CPU of a warm
 * run). The warm-up asks for the same kinds of pages (every exchange's candles, Kraken's Trades) for
 * coins the timed runs never ask for, within every limit, so no window or pair budget of theirs is
 * touched; then waits for the per-second windows to turn. Our process is not warmed by it: the
 * requests go through plain fetch, not our adapters' parsing or sinks.
 */
export async function warmSimulator(sim: { baseUrls: Record<SimServiceId, string> }, s: E2eScenario): Promise<number> {
  const urls: string[] = [];
  for (const exchange of EXCHANGES) {
    const adapter = ADAPTERS[exchange]!;
    const others = SIM_LISTINGS[exchange].filter((m) => m.tradable && !s.coins.includes(m.coin)).slice(0, s.coins.length);
    for (const m of others) {
      const market = { coin: m.coin, symbol: m.symbol, quote: m.quote };
      if (exchange === "kraken") {
        // One call of each kind per pair: Kraken's budget is per pair.
        urls.push(buildUrl(sim.baseUrls.kraken, adapter.candlesRequest(market, 1, s.toMs - 720 * MINUTE, s.toMs)));
        urls.push(buildUrl(sim.baseUrls.kraken, adapter.trades!.request(market, String(s.fromMs * 1e6))));
        continue;
      }
      const step = adapter.maxCandlesPerRequest * MINUTE;
      for (let from = s.fromMs; from < s.toMs; from += step) urls.push(buildUrl(sim.baseUrls[exchange], adapter.candlesRequest(market, 1, from, Math.min(from + step, s.toMs))));
    }
  }
  await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(url);
      const text = await response.text();
      check(response.status === 200 && text.length > 2, `simulator warm-up ${url}: status ${response.status}, ${text.length} bytes`);
    }),
  );
  // Poloniex counts per second and Kraken's counters decay by one a second.
  await Bun.sleep(2000);
  return urls.length;
}

function counterDelta(after: SimStats, before: SimStats, id: ExchangeId): SimCounters {
  return {
    requests: after[id].requests - before[id].requests,
    rateLimited: after[id].rateLimited - before[id].rateLimited,
    banned: after[id].banned - before[id].banned,
    errors: after[id].errors - before[id].errors,
  };
}

/** Runs our backfill once, from a fresh store, and times each exchange until its last slice is saved. */
export async function runOurBackfill(
  sim: SimulatorProcess,
  s: E2eScenario,
  store: { csvDirectory: string } | { database: DatabaseSink; url: string },
  exchanges: readonly ExchangeId[] = EXCHANGES,
  /** Candle pages served from memory by URL (the pipeline alone: no simulator, no network for them). */
  pages?: ReadonlyMap<string, string>,
): Promise<OurRun> {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", write: (l) => lines.push(l) });
  const csvDirectory = "csvDirectory" in store ? store.csvDirectory : join(tmpdir(), "ci-bench-unused");
  const config = parseConfig(
    simulatorYaml(
      sim,
      `bucketing_interval: 1m
exchanges: [${exchanges.join(", ")}]
n_coins_to_poll: 0
list_coins_to_poll: [${s.coins.join(", ")}]
save_to_csv: ${"csvDirectory" in store}
csv_directory: ${csvDirectory}
save_to_database: ${"database" in store}
${"url" in store ? `database_connection: ${store.url}` : ""}
settle_seconds: 5`,
    ),
    "bench.yml",
  );
  const calls = { trades: 0, ohlc: 0, urls: new Map<ExchangeId, string[]>(), pairs: new Map<string, PairCalls>(), startedAt: 0 };
  const counting: FetchFn = (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    const exchange = EXCHANGES.find((e) => url.startsWith(`${sim.baseUrls[e]}/`));
    if (exchange) {
      let list = calls.urls.get(exchange);
      if (!list) calls.urls.set(exchange, (list = []));
      list.push(url);
    }
    const page = pages?.get(url);
    if (page !== undefined) return Promise.resolve(new Response(page, { headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(page)) } }));
    const kraken = url.includes("/kraken/0/public/Trades") ? "trades" : url.includes("/kraken/0/public/OHLC") ? "ohlc" : undefined;
    if (!kraken) return fetch(input, init);
    calls[kraken]++;
    const pair = /[?&]pair=([^&]+)/.exec(url)?.[1] ?? "?";
    const mine = calls.pairs.get(pair) ?? { calls: 0, doneMs: 0 };
    calls.pairs.set(pair, mine);
    mine.calls++;
    return fetch(input, init).finally(() => (mine.doneMs = performance.now() - calls.startedAt));
  };
  const runtime: Runtime = createRuntime(config, { logger, fetch: counting, ...("database" in store ? { sinks: [store.database] } : {}) });
  await runtime.open();
  try {
    const setupStart = performance.now();
    await runtime.service.refreshUniverse();
    const setupMs = performance.now() - setupStart;
    const tracked = runtime.service.tracked();
    const markets = new Map<ExchangeId, Market[]>();
    for (const e of exchanges) {
      const list = [...(tracked.get(e) ?? [])];
      check(list.length === s.coins.length, `${e}: tracking ${list.length} markets, expected ${s.coins.length} (${list.map((m) => m.coin).join(",")})`);
      markets.set(e, list);
    }
    const runtimes = runtime.adapters.map((adapter) => ({ adapter, client: runtime.clients.get(adapter.id)!, markets: markets.get(adapter.id as ExchangeId)! }));
    const doneAt = new Map<string, number>();
    const cpuAt = new Map<string, number>();
    const simCpuAt = new Map<string, number>();
    // Into PostgreSQL: the server's CPU is read from the processes there at the start, so the pool's
    // connections are opened first (the backfill writes up to one batch per exchange at a time).
    let serverPids: number[] = [];
    if ("database" in store) {
      await Promise.all(exchanges.map(() => store.database.listSeries()));
      await settlePostgres();
      serverPids = postgresServerPids();
    }
    const serverCpuAt = new Map<string, number>();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const simCpu0 = sim.cpuMs();
    const serverCpu0 = cpuMsOf(serverPids);
    const progress: Progress = {
      setTotal() {},
      add(key) {
        doneAt.set(key, performance.now() - t0);
        const used = process.cpuUsage(cpu0);
        cpuAt.set(key, (used.user + used.system) / 1000);
        simCpuAt.set(key, sim.cpuMs() - simCpu0);
        if (serverPids.length > 0) serverCpuAt.set(key, cpuMsOf(serverPids) - serverCpu0);
      },
      finish() {},
    };
    const before = await sim.stats();
    calls.trades = 0;
    calls.ohlc = 0;
    calls.urls.clear();
    calls.pairs.clear();
    calls.startedAt = t0;
    const reports = await runBackfill({ clock: runtime.clock, logger, metrics: runtime.metrics, sinks: runtime.sinks, progress }, runtimes, {
      intervalMinutes: 1,
      settleSeconds: config.settleSeconds,
      fromMs: s.fromMs,
      toMs: s.toMs,
      repair: false,
    });
    const after = await sim.stats();
    const runs = exchanges.map((exchange): OurExchangeRun => {
      const report = reports.find((r) => r.exchange === exchange)!;
      check(
        report.failed.length === 0 && report.sinkErrors.length === 0,
        `${exchange}: backfill reported failures: ${JSON.stringify(report.failed.slice(0, 3))} ${report.sinkErrors.join("; ")}`,
      );
      const counters = counterDelta(after, before, exchange);
      return {
        exchange,
        elapsedMs: doneAt.get(exchange) ?? Number.NaN,
        written: Object.values(report.written).reduce((a, b) => a + b, 0),
        requests: counters.requests,
        krakenTradesCalls: exchange === "kraken" ? calls.trades : 0,
        krakenOhlcCalls: exchange === "kraken" ? calls.ohlc : 0,
        krakenPairs: exchange === "kraken" ? [...calls.pairs.values()] : [],
        counters,
        cpuMsAtDone: cpuAt.get(exchange) ?? Number.NaN,
        simCpuMsAtDone: simCpuAt.get(exchange) ?? Number.NaN,
        serverCpuMsAtDone: serverCpuAt.get(exchange) ?? Number.NaN,
      };
    });
    return {
      sink: "csvDirectory" in store ? "csv" : "database",
      exchanges: runs,
      setupMs,
      markets,
      reports,
      urls: calls.urls,
      warnings: lines.filter((l) => / (warn|error) /.test(l)),
    };
  } finally {
    await runtime.close();
  }
}

function readDirBytes(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir)
      .filter((n) => n.endsWith(".csv"))
      .sort()
      .map((n) => [n, readFileSync(join(dir, n), "utf8")]),
  );
}

/** What our CSV run must have saved: every bucket of every series, once, equal to the simulator's own data. */
export function checkOurCsv(dir: string, s: E2eScenario, run: OurRun): string[] {
  const rows = readCsvDir(dir);
  const expected = EXCHANGES.length * s.coins.length * s.bucketsPerSeries;
  check(rows.length === expected, `our CSV holds ${rows.length} rows, expected ${expected}`);
  const dups = duplicates(rows);
  check(dups.length === 0, `our CSV holds duplicate rows: ${dups.slice(0, 3).join(", ")}`);
  const wrong = mismatches(rows);
  check(wrong.length === 0, `our CSV differs from the simulator's data: ${wrong.slice(0, 2).join(" | ")}`);
  for (const e of run.exchanges)
    check(e.written === s.coins.length * s.bucketsPerSeries, `${e.exchange}: ${e.written} rows written, expected ${s.coins.length * s.bucketsPerSeries}`);
  return rows.map((r) => r.line).sort();
}

function checkNoRefusals(label: string, counters: Record<string, SimCounters>): string[] {
  const problems: string[] = [];
  for (const [e, c] of Object.entries(counters)) {
    if (c.rateLimited > 0 || c.banned > 0) problems.push(`${label} ${e}: ${c.rateLimited} rate-limit refusals, ${c.banned} bans served`);
  }
  return problems;
}

/** The exchange's share of its ceiling (Kraken: calls per pair) in each run, in run order. */
function shareOfRuns(runs: readonly OurRun[], exchange: ExchangeId, pairs: number): number[] {
  return runs.map((r) => {
    const e = r.exchanges.find((x) => x.exchange === exchange)!;
    const row = describeExchangeRow({ exchange, elapsedMs: e.elapsedMs, candles: e.written, requests: e.requests }, pairs, e.krakenPairs);
    return exchange === "kraken" ? row.callShare! : row.share;
  });
}

/** How a median of runs came about: after a warm-up run (whose share is given), after other runs in this process, or the first in a fresh one. */
function runsText(shares: readonly number[], before: { warmupShare: number } | "csv runs" | "fresh process" = "fresh process"): string {
  if (typeof before === "object")
    return ` (median of ${shares.length} runs after a warm-up run; each counted run's share in order: ${shares.map(fmtPct).join(", ")}; the warm-up run, in a fresh process: ${fmtPct(before.warmupShare)})`;
  if (shares.length < 2) return "";
  return ` (median of ${shares.length} runs; each run's share in order: ${shares.map(fmtPct).join(", ")}, ${before === "csv runs" ? "after the runs into CSV in this process" : "the first in a fresh process"})`;
}

/**
 * Kraken's limit is per pair: each pair is a lane of its own at about 1 call/s, so its throughput is
 * each pair's calls over the time that pair's work took (to its last call's answer), averaged over
 * the pairs. A pair with less history to fetch finishes earlier; its lane is then idle for want of
 * work, not for want of speed. (Calls averaged over the pairs and divided by the slowest pair's time
 * mixes that in; it is shown beside, as "over the slowest pair's time".)
 */
function perPairRate(pairs: readonly PairCalls[]): number {
  return pairs.reduce((sum, p) => sum + p.calls / (p.doneMs / 1000), 0) / pairs.length;
}

function describeExchangeRow(
  e: { exchange: ExchangeId; elapsedMs: number; candles: number; requests: number },
  pairs: number,
  krakenPairs?: readonly PairCalls[],
): { figure: string; share: number; callShare?: number } {
  const rate = e.candles / (e.elapsedMs / 1000);
  const ceiling = ceilingCandlesPerSecond(e.exchange, pairs);
  const share = rate / ceiling;
  let figure = `${fmtRate(rate)} candles/s in ${fmtMs(e.elapsedMs)}, ${e.requests} requests; ${fmtPct(share)} of the ${fmtRate(ceiling)} candles/s ceiling`;
  let callShare: number | undefined;
  if (e.exchange === "kraken" && krakenPairs !== undefined && krakenPairs.length > 0) {
    callShare = perPairRate(krakenPairs);
    const calls = krakenPairs.reduce((n, p) => n + p.calls, 0);
    const busiest = krakenPairs.reduce((a, p) => (p.calls > a.calls ? p : a));
    const overSlowest = calls / krakenPairs.length / (Math.max(...krakenPairs.map((p) => p.doneMs)) / 1000);
    figure += ` (OHLC); ${(calls / krakenPairs.length).toFixed(1)} calls per pair (the busiest ${busiest.calls} in ${fmtMs(busiest.doneMs)}), each pair at ${callShare.toFixed(2)} calls/s on average over its own time = ${fmtPct(callShare)} of the 1 call/s per pair limit (${fmtPct(overSlowest)} over the slowest pair's time)`;
  }
  return { figure, share, callShare };
}

/** The PostgreSQL server's processes on this machine (postmaster, background workers, backends), from /proc. */
function postgresServerPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "postgres") pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU time (user + system) the given processes have used; a process gone meanwhile counts 0. */
function cpuMsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (processCpuMs(pid) || 0), 0);
}

/** PostgreSQL's floor (see measureCopyFloor): medians over the loads. */
interface CopyFloor {
  /** All of the rows, a session per exchange in parallel (the median run). */
  wallMs: number;
  serverCpuMs: number;
  /** Per exchange, when its session finished in that side-by-side load (median over the runs). */
  sideBySideMs: Map<ExchangeId, number>;
  /** Per exchange, its rows alone by COPY with nothing else running (median over the runs). */
  aloneMs: Map<ExchangeId, number>;
}

/**
 * What the database allows before anything of ours runs: the same rows loaded by COPY (pre-rendered,
 * no idempotence: the fastest way in) into a fresh database with the SPEC schema, first a session per
 * exchange side by side (as the backfill writes them), then each exchange's rows alone; `runs` times,
 * each into the emptied table and checked by count. A share of the ceiling above the one COPY reaches alone is out of reach
 * into this PostgreSQL on this machine whatever the pipeline does.
 */
async function measureCopyFloor(candles: readonly Candle[], runs: number): Promise<CopyFloor> {
  const database = uniqueDatabaseName();
  const url = postgresUrl(database);
  const sink = createDatabaseSink({ url, logger: createLogger({ level: "error", write: () => {} }) });
  const exchanges = [...new Set(candles.map((c) => c.exchange as ExchangeId))];
  const groups = exchanges.map((e) => copyChunks(candles.filter((c) => c.exchange === e)));
  const sessions = groups.map(() => postgres(url, { max: 1, onnotice: () => {} }));
  try {
    await sink.open();
    // COPY checks the foreign keys: the coin and exchange rows must exist first (the sink adds them).
    await sink.write(distinctSeries(candles));
    // Every session connected before the server's processes are listed and the clock starts.
    await Promise.all(sessions.map((sql) => sql`SELECT 1`));
    const pids = postgresServerPids();
    const results: { wallMs: number; serverCpuMs: number }[] = [];
    const sideBySide = exchanges.map((): number[] => []);
    const alone = exchanges.map((): number[] => []);
    for (let i = 0; i < runs; i++) {
      await sessions[0]!`TRUNCATE klines_data`;
      await settlePostgres(sessions[0]);
      const cpu0 = cpuMsOf(pids);
      const t0 = performance.now();
      await Promise.all(
        groups.map(async (chunks, g) => {
          await copyRows(sessions[g]!, chunks);
          sideBySide[g]!.push(performance.now() - t0);
        }),
      );
      results.push({ wallMs: performance.now() - t0, serverCpuMs: cpuMsOf(pids) - cpu0 });
      check((await countRows(sessions[0]!)) === candles.length, "COPY floor: the table holds a different number of rows than copied");
      for (const [g, chunks] of groups.entries()) {
        await sessions[0]!`TRUNCATE klines_data`;
        await settlePostgres(sessions[0]);
        const t1 = performance.now();
        await copyRows(sessions[g]!, chunks);
        alone[g]!.push(performance.now() - t1);
      }
      check((await countRows(sessions[0]!)) === candles.filter((c) => c.exchange === exchanges.at(-1)).length, "COPY floor: one exchange's rows alone did not all arrive");
    }
    const median = (xs: readonly number[]) => medianBy(xs, (x) => x);
    return {
      ...medianBy(results, (r) => r.wallMs),
      sideBySideMs: new Map(exchanges.map((e, g) => [e, median(sideBySide[g]!)])),
      aloneMs: new Map(exchanges.map((e, g) => [e, median(alone[g]!)])),
    };
  } finally {
    for (const sql of sessions) await sql.end({ timeout: 1 }).catch(() => {});
    await sink.close().catch(() => {});
    await dropPostgresDatabase(database);
  }
}

/**
 * Our backfill runs this many times into each store (each from an empty store, in this process) and
 * the median is the figure: the fast exchanges' two days last under a second, so a single run in a
 * fresh process mostly measures JIT warm-up. Each run's figures are shown beside the median.
 */
const RUNS = 3;
/**
 * Runs into CSV before the counted ones. The workload is a third of a second per exchange: in a
 * fresh process the first run mostly measures JSC compiling our hot code (its JIT threads used
 * ~180 ms of CPU in a first run, ~110 ms in a second, ~30 ms in a third, on the same 2 cores the
 * pipeline and the simulator share), which a real backfill of more than a few days amortises. The
 * warm-up run's figures are still shown, beside the median of the counted runs.
 */
const CSV_WARMUP_RUNS = 1;

/** The middle item by `key` (the lower middle for an even count). */
function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Each exchange's median entry over the runs (by its time); the rest from the first run. */
function medianRun(runs: readonly OurRun[]): OurRun {
  return {
    ...runs[0]!,
    exchanges: runs[0]!.exchanges.map((first) =>
      medianBy(
        runs.map((r) => r.exchanges.find((e) => e.exchange === first.exchange)!),
        (e) => e.elapsedMs,
      ),
    ),
  };
}

export async function runBackfillBench(ctx: BenchContext): Promise<Section> {
  const [coins, minutes] = ctx.quick ? [2, 14 * 60] : [10, 2 * 1440];
  const runs = ctx.quick ? 1 : RUNS;
  const warmups = ctx.quick ? 0 : CSV_WARMUP_RUNS;
  const s = scenario(coins, minutes);
  check(s.coins.length === coins, `only ${s.coins.length} coins are listed on all four simulated exchanges`);
  const section: Section = {
    id: "backfill",
    title: `End-to-end backfill: ${EXCHANGES.length} exchanges × ${coins} coins × ${minutes / 1440 >= 1 ? `${minutes / 1440} days` : `${minutes / 60} hours`} of 1-minute candles`,
    rows: [],
    notes: [],
  };
  const totalCandles = EXCHANGES.length * coins * minutes;
  section.notes.push(
    `The simulator in a process of its own (\`cryptointellect simulate\`) on loopback, real clock, ${LATENCY_MS[0]}–${LATENCY_MS[1]} ms latency per request (its \`latencyMs\` fault), its real rate limits. Coins: ${s.coins.join(", ")} (the top coins listed on all four). Range ${new Date(s.fromMs).toISOString()} … ${new Date(s.toMs).toISOString()}: ${totalCandles.toLocaleString("en-US")} candles in all. Time runs from the start of the backfill proper (after the coin universe and market listings are loaded, on both sides) to the last candle of the exchange saved.`,
    `Ours: \`runBackfill\` (src/pipeline/backfill.ts) with a runtime from \`createRuntime\`, as \`cryptointellect backfill\` runs it; ${runs === 1 ? "once into CSV, then once into a fresh PostgreSQL database." : `${runs} times into CSV (each into an empty directory) after ${warmups === 1 ? "a warm-up run" : `${warmups} warm-up runs`}, then ${runs} times into PostgreSQL (a fresh database each), all in this process: each figure of ours is the median of its runs, and into CSV a warm-up run comes first, not counted: on so short a workload the first run in a fresh process mostly measures JSC compiling our code (each run's share, the warm-up's too, is shown beside the median).`} Baseline: ccxt (bench/ccxt-baseline.ts) with \`enableRateLimit: true\`, one instance per exchange pointed at the simulator through \`urls.api\`, every page of every coin requested at once with both ends bounded, Kraken's older minutes from its Trades endpoint paged with the \`last\` cursor and \`buildOHLCVC\`, the same feed-forward and CSV layout. Before any figure is kept, our CSV is checked row by row against the simulator's own data, the PostgreSQL rows against our CSV, and ccxt's CSV byte for byte against ours.`,
  );
  const sim = await startLatentSimulator();
  const warmRequests = await warmSimulator(sim, s);
  section.notes.push(
    `Before anything is timed, the freshly started simulator is warmed with ${warmRequests} requests of the same kinds (each exchange's candle pages, Kraken's Trades) for other coins, through plain fetch, within every limit: a real exchange is not JIT-cold, and on these 2 cores a cold simulator used 3-4 times the CPU of a warm one during our first run. Our own process is not warmed: its first run is the first time it parses, builds and saves candles.`,
  );
  const dirs: string[] = [];
  const tempDir = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const problems: string[] = [];
  try {
    // 1. Ours into CSV: a warm-up run (checked and shown, not counted), then RUNS times, each from
    //    an empty directory.
    const csvRuns: OurRun[] = [];
    let csvWarmup: OurRun | undefined;
    let ourLines: string[] = [];
    let csvDir = "";
    let floor = new Map<ExchangeId, number>();
    const pageBodies = new Map<string, string>();
    const fastExchanges = EXCHANGES.filter((e) => e !== "kraken");
    const total = runs + warmups;
    for (let i = 0; i < total; i++) {
      ctx.log(`backfill: ours into CSV, run ${i + 1} of ${total}${i < warmups ? " (warm-up, not counted)" : ""} (${s.coins.length} coins × ${minutes} minutes × 4 exchanges)`);
      const dir = tempDir("ci-bench-e2e-csv-");
      if (i === 0) csvDir = dir;
      const run = await runOurBackfill(sim, s, { csvDirectory: dir });
      const lines = checkOurCsv(dir, s, run);
      check(i === 0 || (lines.length === ourLines.length && lines.every((l, j) => l === ourLines[j])), `ours into CSV, run ${i + 1}: the CSV differs from run 1's`);
      ourLines = lines;
      problems.push(...checkNoRefusals(`ours (CSV, run ${i + 1})`, Object.fromEntries(run.exchanges.map((e) => [e.exchange, e.counters]))));
      // The floor replays the first run's requests (the simulator then serves what it just served).
      if (i === 0) floor = await measureFetchFloor(run.urls, fastExchanges, pageBodies);
      if (i < warmups) csvWarmup = run;
      else csvRuns.push(run);
    }
    const ours = medianRun(csvRuns);
    // The pipeline alone: the same backfill of the fast exchanges with every candle page served from
    // memory (the floor's bodies), so neither the simulator's CPU nor the network is in the time.
    const aloneRuns: OurRun[] = [];
    for (let i = 0; i < runs; i++) {
      const dir = tempDir("ci-bench-e2e-alone-");
      const run = await runOurBackfill(sim, s, { csvDirectory: dir }, fastExchanges, pageBodies);
      for (const e of run.exchanges)
        check(
          e.written === s.coins.length * s.bucketsPerSeries && e.requests === 0,
          `the pipeline alone, ${e.exchange}: ${e.written} rows, ${e.requests} requests reached the simulator`,
        );
      aloneRuns.push(run);
    }
    const alone = medianRun(aloneRuns);
    // 2. The ccxt baseline, same simulator, same range, same coins.
    ctx.log("backfill: ccxt baseline into CSV");
    const ccxtDir = tempDir("ci-bench-e2e-ccxt-");
    const before = await sim.stats();
    const baseline: CcxtRun = await runCcxtBackfill({
      baseUrls: sim.baseUrls,
      markets: ours.markets,
      fromOpenMs: s.fromMs,
      toOpenMs: s.toMs - MINUTE,
      csvDirectory: ccxtDir,
    });
    const after = await sim.stats();
    check(baseline.refused === 0, `ccxt tried ${baseline.refused} requests off loopback`);
    const ccxtCounters = Object.fromEntries(EXCHANGES.map((e) => [e, counterDelta(after, before, e)]));
    for (const e of baseline.exchanges) {
      check(
        ccxtCounters[e.exchange]!.requests >= e.requests && e.requests > 0,
        `ccxt ${e.exchange}: sent ${e.requests} requests but the simulator saw ${ccxtCounters[e.exchange]!.requests}`,
      );
    }
    problems.push(...checkNoRefusals("ccxt", ccxtCounters));
    const ourFiles = readDirBytes(csvDir);
    const ccxtFiles = readDirBytes(ccxtDir);
    check([...ourFiles.keys()].join() === [...ccxtFiles.keys()].join(), `ccxt wrote files ${[...ccxtFiles.keys()].join(",")}, ours ${[...ourFiles.keys()].join(",")}`);
    for (const [name, text] of ourFiles) check(ccxtFiles.get(name) === text, `ccxt's ${name} differs from ours`);
    // 3. Ours into PostgreSQL, RUNS times, each into a fresh database.
    let pgRun: OurRun | undefined;
    let pgFloor: CopyFloor | undefined;
    const pgRuns: OurRun[] = [];
    const fastSaved: Candle[] = [];
    if (await postgresReachable()) {
      for (let i = 0; i < runs; i++) {
        ctx.log(`backfill: ours into PostgreSQL, run ${i + 1} of ${runs}`);
        const database = uniqueDatabaseName();
        const url = postgresUrl(database);
        const sink = createDatabaseSink({ url, logger: createLogger({ level: "error", write: () => {} }) });
        try {
          const run = await runOurBackfill(sim, s, { database: sink, url });
          const saved: string[] = [];
          await sink.open();
          for (const [e, list] of run.markets) {
            for (const m of list) {
              for (const c of await sink.readCandles(e, m.coin, 1, s.fromMs, s.toMs - MINUTE)) {
                saved.push(renderRow(c));
                if (i === 0 && e !== "kraken") fastSaved.push(c);
              }
            }
          }
          saved.sort();
          check(
            saved.length === ourLines.length && saved.every((l, i) => l === ourLines[i]),
            `PostgreSQL holds ${saved.length} rows that differ from our CSV's ${ourLines.length}`,
          );
          problems.push(...checkNoRefusals(`ours (PostgreSQL, run ${i + 1})`, Object.fromEntries(run.exchanges.map((e) => [e.exchange, e.counters]))));
          pgRuns.push(run);
        } finally {
          await sink.close().catch(() => {});
          await dropPostgresDatabase(database);
        }
      }
      pgRun = medianRun(pgRuns);
      ctx.log(`backfill: PostgreSQL floor, COPY of the ${fastSaved.length} candles of ${fastExchanges.join(", ")}`);
      pgFloor = await measureCopyFloor(fastSaved, runs);
    } else if (process.env.CI) {
      throw new Error("PostgreSQL is unreachable, and CI requires it");
    } else {
      section.notes.push("PostgreSQL NOT MEASURED: the server is unreachable.");
    }
    if (!ctx.timing) return section;

    // Figures.
    const overall = (elapsed: number[], candles: number) => candles / (Math.max(...elapsed) / 1000);
    const oursRate = overall(
      ours.exchanges.map((e) => e.elapsedMs),
      totalCandles,
    );
    const ccxtRate = overall(
      baseline.exchanges.map((e) => e.elapsedMs),
      totalCandles,
    );
    ctx.figures["e2e.ratioOverall"] = oursRate / ccxtRate;
    section.rows.push({
      what: "overall, ours → CSV vs ccxt → CSV",
      figure: `${fmtRate(oursRate)} candles/s (${fmtMs(Math.max(...ours.exchanges.map((e) => e.elapsedMs)))})`,
      baseline: `${fmtRate(ccxtRate)} candles/s (${fmtMs(Math.max(...baseline.exchanges.map((e) => e.elapsedMs)))})`,
      ratio: `${fmtRatio(oursRate / ccxtRate)} ccxt's speed`,
    });
    if (pgRun) {
      const pgRate = overall(
        pgRun.exchanges.map((e) => e.elapsedMs),
        totalCandles,
      );
      ctx.figures["e2e.ratioOverallPg"] = pgRate / ccxtRate;
      section.rows.push({
        what: "overall, ours → PostgreSQL vs ccxt → CSV",
        figure: `${fmtRate(pgRate)} candles/s (${fmtMs(Math.max(...pgRun.exchanges.map((e) => e.elapsedMs)))})`,
        baseline: `${fmtRate(ccxtRate)} candles/s`,
        ratio: `${fmtRatio(pgRate / ccxtRate)} ccxt's speed`,
      });
    }
    let worstShare = Infinity;
    for (const exchange of EXCHANGES) {
      const o = ours.exchanges.find((e) => e.exchange === exchange)!;
      const c = baseline.exchanges.find((e) => e.exchange === exchange)!;
      const mine = describeExchangeRow({ exchange, elapsedMs: o.elapsedMs, candles: o.written, requests: o.requests }, coins, o.krakenPairs);
      const theirs = describeExchangeRow({ exchange, elapsedMs: c.elapsedMs, candles: c.candles, requests: c.requests }, coins, c.krakenPairs);
      const targetShare = exchange === "kraken" ? mine.callShare! : mine.share;
      worstShare = Math.min(worstShare, targetShare);
      ctx.figures[`e2e.${exchange}.share`] = targetShare;
      ctx.figures[`e2e.${exchange}.ratio`] = o.written / o.elapsedMs / (c.candles / c.elapsedMs);
      const csvShares = shareOfRuns(csvRuns, exchange, coins);
      const warmupShare = csvWarmup === undefined ? undefined : shareOfRuns([csvWarmup], exchange, coins)[0]!;
      if (warmupShare !== undefined) ctx.figures[`e2e.${exchange}.shareWarmup`] = warmupShare;
      else if (csvShares.length > 1) ctx.figures[`e2e.${exchange}.shareFirst`] = csvShares[0]!;
      section.rows.push({
        what: `${exchange}, ours → CSV`,
        figure: `${mine.figure}${runsText(csvShares, warmupShare === undefined ? undefined : { warmupShare })}`,
        baseline: `ccxt: ${theirs.figure}`,
        ratio: `${fmtRatio(o.written / o.elapsedMs / (c.candles / c.elapsedMs))} ccxt's speed`,
      });
      if (pgRun) {
        const p = pgRun.exchanges.find((e) => e.exchange === exchange)!;
        const pg = describeExchangeRow({ exchange, elapsedMs: p.elapsedMs, candles: p.written, requests: p.requests }, coins, p.krakenPairs);
        const pgShares = shareOfRuns(pgRuns, exchange, coins);
        section.rows.push({
          what: `${exchange}, ours → PostgreSQL`,
          figure: `${pg.figure}${runsText(pgShares, "csv runs")}`,
          ratio: `${fmtRatio(p.written / p.elapsedMs / (c.candles / c.elapsedMs))} ccxt's speed`,
        });
        ctx.figures[`e2e.${exchange}.sharePg`] = exchange === "kraken" ? pg.callShare! : pg.share;
        if (pgShares.length > 1) ctx.figures[`e2e.${exchange}.sharePgFirst`] = pgShares[0]!;
      }
    }
    for (const exchange of fastExchanges) {
      const o = ours.exchanges.find((e) => e.exchange === exchange)!;
      const floorMs = floor.get(exchange)!;
      const share = o.written / (floorMs / 1000) / ceilingCandlesPerSecond(exchange, coins);
      ctx.figures[`e2e.${exchange}.floorShare`] = share;
      section.rows.push({
        what: `${exchange}, floor: our ${ours.urls.get(exchange)?.length ?? 0} requests replayed at once, plain fetch, bodies dropped`,
        figure: `last body after ${fmtMs(floorMs)}: at most ${fmtPct(share)} of the ceiling on this machine`,
        baseline: `ours → CSV: ${fmtMs(o.elapsedMs)}`,
        ratio: `ours takes ${fmtRatio(o.elapsedMs / floorMs)} the floor's time`,
      });
      const a = alone.exchanges.find((e) => e.exchange === exchange)!;
      const aloneShare = a.written / (a.elapsedMs / 1000) / ceilingCandlesPerSecond(exchange, coins);
      ctx.figures[`e2e.${exchange}.aloneShare`] = aloneShare;
      section.rows.push({
        what: `${exchange}, the pipeline alone: ours → CSV with every candle page served from memory (no simulator, no network)`,
        figure: `saved after ${fmtMs(a.elapsedMs)}: ${fmtPct(aloneShare)} of the ceiling${runsText(shareOfRuns(aloneRuns, exchange, coins))}`,
        baseline: `ours → CSV: ${fmtMs(o.elapsedMs)}`,
        ratio: `ours takes ${fmtRatio(o.elapsedMs / a.elapsedMs)} the pipeline's own time`,
      });
    }
    // At their ceilings, side by side, the fast exchanges' candles arrive in this time.
    const neededMs = Math.max(...fastExchanges.map((e) => ours.exchanges.find((x) => x.exchange === e)!.written / ceilingCandlesPerSecond(e, coins))) * 1000;
    if (pgRun && pgFloor !== undefined) {
      // They all go into the one database: if it takes longer than `neededMs` to load them even by
      // COPY, no share above neededMs / COPY's time is reachable for all three together.
      const bound = Math.min(1, neededMs / pgFloor.wallMs);
      ctx.figures["e2e.pgFloorShare"] = bound;
      const pgLast = pgRun.exchanges.filter((e) => e.exchange !== "kraken").reduce((a, e) => (e.elapsedMs > a.elapsedMs ? e : a));
      const rows = fastSaved.length;
      section.rows.push({
        what: `PostgreSQL floor: the ${rows.toLocaleString("en-US")} candles of ${fastExchanges.join(", ")} loaded by \`COPY … FROM STDIN\` into the SPEC schema, a session per exchange in parallel, nothing else running`,
        figure: `${fmtMs(pgFloor.wallMs)} (${fmtRate(rows / (pgFloor.wallMs / 1000))} rows/s, ${fmtMs(pgFloor.serverCpuMs)} of server CPU): at most ${fmtPct(bound)} of their ceilings together on this machine (at their ceilings they arrive in ${fmtMs(neededMs)})`,
        baseline: `ours → PostgreSQL: all three saved after ${fmtMs(pgLast.elapsedMs)} (median run)`,
        ratio: `ours takes ${fmtRatio(pgLast.elapsedMs / pgFloor.wallMs)} COPY's time`,
      });
      // Per exchange: the share COPY itself reaches, side by side and alone.
      const outOfReach: string[] = [];
      for (const exchange of fastExchanges) {
        const candles = fastSaved.filter((c) => c.exchange === exchange).length;
        const ceilingMs = (candles / ceilingCandlesPerSecond(exchange, coins)) * 1000;
        const aloneMs = pgFloor.aloneMs.get(exchange)!;
        const sideMs = pgFloor.sideBySideMs.get(exchange)!;
        ctx.figures[`e2e.${exchange}.pgCopyShare`] = ceilingMs / sideMs;
        ctx.figures[`e2e.${exchange}.pgCopyAloneShare`] = ceilingMs / aloneMs;
        if (ceilingMs / aloneMs < 0.8)
          outOfReach.push(`${exchange} (${candles.toLocaleString("en-US")} rows alone by COPY in ${fmtMs(aloneMs)}: at most ${fmtPct(ceilingMs / aloneMs)})`);
        const p = pgRun.exchanges.find((e) => e.exchange === exchange)!;
        section.rows.push({
          what: `${exchange}, PostgreSQL floor: its ${candles.toLocaleString("en-US")} candles by \`COPY … FROM STDIN\`, nothing of ours running (median of ${runs})`,
          figure: `side by side with the other two: done after ${fmtMs(sideMs)}, at most ${fmtPct(ceilingMs / sideMs)} of the ceiling; alone: ${fmtMs(aloneMs)}, at most ${fmtPct(ceilingMs / aloneMs)}`,
          baseline: `ours → PostgreSQL: ${fmtMs(p.elapsedMs)}`,
          ratio: `ours takes ${fmtRatio(p.elapsedMs / sideMs)} COPY's side-by-side time`,
        });
      }
      const schema = `the SPEC's \`klines_data\` (two foreign keys checked per row, primary key, coin index)`;
      const busy = pgLast.cpuMsAtDone + pgLast.simCpuMsAtDone + pgLast.serverCpuMsAtDone;
      const during = Number.isFinite(busy)
        ? ` By then (the median run) the server had used ${fmtMs(pgLast.serverCpuMsAtDone)} of CPU, our process ${fmtMs(pgLast.cpuMsAtDone)} and the simulator ${fmtMs(pgLast.simCpuMsAtDone)}: ${fmtPct(busy / (2 * pgLast.elapsedMs))} of the machine's two cores over that time.`
        : "";
      section.notes.push(
        `Into PostgreSQL the database is the largest cost: the server alone loads the three fast exchanges' ${rows.toLocaleString("en-US")} candles into ${schema} by COPY in ${fmtMs(pgFloor.wallMs)}, using ${fmtMs(pgFloor.serverCpuMs)} of CPU (${fmtPct(pgFloor.serverCpuMs / (2 * pgFloor.wallMs))} of both cores), which would allow ${fmtPct(bound)} of their ceilings together with nothing else running. ${
          outOfReach.length > 0
            ? `Even alone, with nothing else running, COPY cannot take ${outOfReach.join(" or ")} at 80% of the ceiling, so that target is out of reach into PostgreSQL on this machine whatever the pipeline does. `
            : ""
        }In the backfill the server shares the 2 cores with our process (fetching, parsing, building and sending the rows) and the simulator, and takes the rows through the sink's idempotent write, plain INSERTs for rows new to the table (the database section compares it with COPY on a million rows): all three were saved after ${fmtMs(pgLast.elapsedMs)}, ${fmtRatio(pgLast.elapsedMs / pgFloor.wallMs)} COPY's time.${during}`,
      );
    }
    ctx.figures["e2e.worstShare"] = worstShare;
    ctx.figures["e2e.refusals"] = problems.length;
    // The run in the middle by when its last fast exchange was saved.
    const lastFastMs = (r: OurRun) => Math.max(...r.exchanges.filter((e) => e.exchange !== "kraken").map((e) => e.elapsedMs));
    const middle = medianBy(csvRuns, lastFastMs);
    const fast = middle.exchanges.filter((e) => e.exchange !== "kraken");
    const fastDone = fast.reduce((a, e) => (e.elapsedMs > a.elapsedMs ? e : a));
    const fastCandles = fast.reduce((n, e) => n + e.written, 0);
    const cpuShare = fastDone.cpuMsAtDone / fastDone.elapsedMs;
    section.notes.push(
      `Where the time goes (ours → CSV, the median run${csvRuns.length > 1 ? ` of ${csvRuns.length}` : ""}): when ${fast.map((e) => e.exchange).join(", ")} were all saved (${fmtMs(fastDone.elapsedMs)} in), our process had used ${fmtMs(fastDone.cpuMsAtDone)} of CPU (${fmtPct(cpuShare)} of that time) for their ${fastCandles.toLocaleString("en-US")} candles and Kraken's first pages: ${((fastDone.cpuMsAtDone * 1000) / fastCandles).toFixed(1)} µs of CPU per candle (all of its threads: JavaScript, HTTP, garbage collection, the JIT). At their ceilings, side by side, those candles need ${fmtMs(neededMs)} of requests. ${cpuShare >= 0.6 ? "These three are bound by our CPU (reading the pages, building the candles, rendering and writing the CSV), not by their rate limits." : "Here our CPU is not saturated: round trips (20–50 ms each, slice after slice) weigh more than the rate limits."} Their workload is small (${fast.map((e) => `${e.exchange} ${e.requests}`).join(", ")} requests): each fits in one window of its exchange's limit, so the limiter sends it at once. By then the simulator process had used ${fmtMs(fastDone.simCpuMsAtDone)} of CPU serving them (its pages are generated per request), so the two processes used ${fmtPct((fastDone.cpuMsAtDone + fastDone.simCpuMsAtDone) / (2 * fastDone.elapsedMs))} of the machine's two cores over that time.`,
    );
    section.notes.push(
      `The floor rows replay, after our first CSV run, the very candle requests it sent to ${fastExchanges.join(", ")}, all at once with plain \`fetch\` and no limiter, reading each body and dropping it: what the simulator (its own process, on the same 2 cores) and loopback allow before any parsing or saving. A share of the ceiling above the floor's is out of reach on this machine whatever the pipeline does. The "pipeline alone" rows are the other side: the same backfill of the same three exchanges (limiter, parsing, building, CSV) with each candle page handed over from memory, the floor's bodies, so the simulator's CPU and the network are out of the time: what the pipeline itself takes on this machine.`,
    );
    const kr = ours.exchanges.find((e) => e.exchange === "kraken")!;
    const krc = baseline.exchanges.find((e) => e.exchange === "kraken")!;
    section.notes.push(
      `Kraken: OHLC serves only the 720 most recent minutes, so ${minutes - 720} of each pair's ${minutes} minutes come from its Trades endpoint (1000 trades a page, about ${Math.round(kr.krakenTradesCalls / coins)} pages per pair here), at most about 1 call/s per pair. Ours made ${kr.krakenTradesCalls} Trades and ${kr.krakenOhlcCalls} OHLC calls (${(kr.requests / coins).toFixed(1)} per pair, concurrently across pairs, 0.9 calls/s per pair by its budget); ccxt made ${krc.tradesCalls} Trades and ${krc.ohlcCalls} OHLC calls through one limiter for the whole exchange (rateLimit 1000 ms × cost 1.2: one call per 1.2 s for all pairs together). Kraken's share of its ceiling is therefore given in calls per second per pair against 1 call/s: each pair's calls over that pair's own time (to its last answer), averaged over the pairs, since the limit is per pair and a pair with less history finishes earlier; calls averaged over the pairs and divided by the slowest pair's time is shown beside it, and its candles/s against the OHLC ceiling (720 per call) for reference.`,
      `ccxt really fetched from the simulator: its counters (\`/_sim/stats\`) rose by ${EXCHANGES.map((e) => `${e} ${ccxtCounters[e]!.requests}`).join(", ")} requests during ccxt's run (listings included), and the loopback guard refused ${baseline.refused} requests. Ours: setup (CoinGecko + 4 listings) ${fmtMs(ours.setupMs)}; ccxt loadMarkets: ${baseline.exchanges.map((e) => `${e.exchange} ${fmtMs(e.setupMs)}`).join(", ")} (ccxt ${baseline.ccxtVersion}). Both excluded from the rates above.`,
      problems.length === 0
        ? "Rate-limit refusals served by the simulator: none (ours and ccxt; no 429, no Kraken throttle, no 418)."
        : `Rate-limit refusals served: ${problems.join("; ")}.`,
    );
    if (ours.warnings.length > 0) section.notes.push(`Our run logged ${ours.warnings.length} warnings, first: ${ours.warnings[0]!.slice(0, 200)}`);
    return section;
  } finally {
    await sim.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
