/**
 * The collector: keeps the coin universe and each exchange's markets, runs a cycle per exchange on
 * each tick (exchanges independent: a slow one never holds up another), and tells the health
 * tracker and the metadata job. It only uses the dependencies it is handed.
 */
import type { Clock } from "../clock.ts";
import { fetchRanking } from "../coins/coingecko.ts";
import { buildUniverse, type RankedCoin } from "../coins/universe.ts";
import { type Config, DEFAULT_QUOTES } from "../config/config.ts";
import type { ExchangeId } from "../domain/candle.ts";
import { lastClosedBucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { describeError } from "../errors.ts";
import type { ExchangeAdapter, Market } from "../exchanges/types.ts";
import type { HealthTracker } from "./health.ts";
import type { LiveStreams } from "./live-streams.ts";
import { timedSinks } from "./save-delay.ts";
import type { ExchangeClient } from "../http/client.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { backfillExchange, type ExchangeBackfillReport, type SeriesHandover } from "../pipeline/backfill.ts";
import { collectExchange, type ExchangeCycleReport, type ExchangeRuntime, failedCycleReport } from "../pipeline/cycle.ts";
import type { CandleSink, CoinInfo } from "../sinks/types.ts";

export interface ServiceDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  health: HealthTracker;
  adapters: readonly ExchangeAdapter[];
  clients: ReadonlyMap<ExchangeId, ExchangeClient>;
  coingecko: ExchangeClient;
  sinks: readonly CandleSink[];
  /** Hourly repair of recent gaps after a cycle (default on). */
  repairGaps?: boolean;
  /** Called after every tick's cycles settle (the metadata job). */
  afterTick?: (info: { series: number; coins: number; exchanges: number; atMs: number }) => Promise<void>;
  /** Whether more ticks follow (the service's loop; default yes): `once` has no next cycle to promise. */
  repeating?: () => boolean;
  /** `live_source: websocket`: the exchanges it handles take their live candles from streams. */
  live?: LiveStreams;
  /**
   * Cluster mode: a tick only publishes shard jobs (true for the one instance whose publication
   * took); the series are collected by `runShard` as jobs come. The instance that published runs
   * the tick's metadata job and gap repair, so each runs once for the cluster.
   */
  cluster?: { publish(dueMs: number, exchanges: readonly { exchange: ExchangeId; coins: readonly string[] }[]): Promise<boolean> };
}

export interface TickReport {
  dueMs: number;
  reports: ExchangeCycleReport[];
  skipped: ExchangeId[];
}

export interface Service {
  /** Starts a cycle for every exchange that is not still busy; resolves when they all finish. */
  tick(dueMs: number, signal?: AbortSignal): Promise<TickReport>;
  /** Cluster mode: collects these coins of one exchange (a shard job), as a cycle would. Throws when it could not run at all. */
  runShard(exchange: ExchangeId, coins: readonly string[], signal?: AbortSignal): Promise<ExchangeCycleReport>;
  /**
   * Cluster mode: fetches the buckets of one coin opening in [fromOpenMs, toOpenMs] that a sink
   * lacks (a backfill job), any coin the exchange lists. Throws unless every one was fetched and
   * saved, so the job is retried (here or elsewhere) rather than acknowledged with rows missing.
   */
  backfillRange(range: BackfillRange, signal?: AbortSignal): Promise<ExchangeBackfillReport>;
  /** The markets being collected, per exchange. */
  tracked(): ReadonlyMap<ExchangeId, readonly Market[]>;
  /** Reloads the coin ranking and every exchange's listing now. */
  refreshUniverse(signal?: AbortSignal): Promise<void>;
}

export interface BackfillRange {
  exchange: string;
  coin: string;
  intervalMinutes: number;
  fromOpenMs: number;
  toOpenMs: number;
}

const DAY_MS = 86_400_000;
/** Buckets of a cluster backfill job written together (a four-day chunk at 1m is 5,760). */
const JOB_WRITE_ROWS = 10_000;
const REPAIR_EVERY_MS = 3_600_000;
const TICKER = /^[A-Z0-9]{1,20}$/;

export function createService(deps: ServiceDeps): Service {
  const { config, clock, logger, metrics } = deps;
  let universe: RankedCoin[] | undefined;
  let universeAtMs = -Infinity;
  const listings = new Map<ExchangeId, { markets: Market[]; atMs: number }>();
  // Per exchange and interval, each series' state where this instance's last backfill job of it
  // ended: its next job of the series (the next chunk of its lane) goes on from there.
  const handovers = new Map<string, Map<string, SeriesHandover>>();
  const handoversOf = (key: string) => handovers.get(key) ?? handovers.set(key, new Map()).get(key)!;
  const markets = new Map<ExchangeId, Market[]>();
  const busy = new Set<ExchangeId>();
  const lastRepairMs = new Map<ExchangeId, number>();
  /** Each exchange's latest cycle report, for the lag of a cycle that could not run. */
  const lastReports = new Map<ExchangeId, ExchangeCycleReport>();

  /**
   * Gap repair for the recent past (catch_up_limit), run by each exchange's own task at most once an
   * hour: buckets left missing by an outage that outlasted the retries, a rejected candle or a
   * sink that was down are fetched again without user action.
   */
  async function repairRecent(runtime: ExchangeRuntime, signal?: AbortSignal, untilMs?: number): Promise<void> {
    const now = clock.now();
    if (untilMs === undefined && now - (lastRepairMs.get(runtime.adapter.id) ?? -Infinity) < REPAIR_EVERY_MS) return;
    lastRepairMs.set(runtime.adapter.id, now);
    const report = await backfillExchange(
      { clock, logger, metrics, sinks: deps.sinks },
      runtime,
      {
        intervalMinutes: config.bucketIntervalMinutes,
        settleSeconds: config.settleSeconds,
        fromMs: now - config.catchUpLimitMinutes * 60_000,
        toMs: untilMs ?? now,
        repair: true,
        withinSaved: true,
        windowsInFlight: 1,
        seriesInFlight: 4,
      },
      signal,
    );
    const written = Object.values(report.written).reduce((a, b) => a + b, 0);
    if (written > 0 || report.failed.length > 0) {
      logger.info("gap repair done", { exchange: runtime.adapter.id, missing: report.missingBuckets, written, failed: report.failed.length });
    }
  }

  async function loadUniverse(): Promise<void> {
    const ranking = await fetchRanking(deps.coingecko, config.coinsToPoll, logger, config.coingeckoApiKey);
    const built = buildUniverse(ranking.coins, config.topN, config.coinsToPoll);
    for (const name of built.unresolved) logger.warn("coin not found in the ranking; skipped", { coin: name });
    universe = built.coins;
    universeAtMs = clock.now();
    logger.info("coin universe loaded", { coins: built.coins.length, source: ranking.source });
  }

  async function loadListing(adapter: ExchangeAdapter, signal?: AbortSignal): Promise<void> {
    const client = deps.clients.get(adapter.id)!;
    const listed = await client.request(adapter.marketsRequest(), (body) => adapter.parseMarkets(body, config.quoteCurrencies[adapter.id] ?? DEFAULT_QUOTES), signal);
    listings.set(adapter.id, { markets: listed.filter((m) => TICKER.test(m.coin)), atMs: clock.now() });
  }

  /** Maps the universe onto one exchange's listing; logs once per load the coins it lacks. */
  function resolveExchange(adapter: ExchangeAdapter): void {
    const listing = listings.get(adapter.id);
    if (!universe || !listing) return;
    const byCoin = new Map(listing.markets.map((m) => [m.coin, m]));
    const chosen: Market[] = [];
    const missing: string[] = [];
    for (const coin of universe) {
      const m = byCoin.get(coin.symbol);
      if (m) chosen.push(m);
      else missing.push(coin.symbol);
    }
    if (missing.length > 0) logger.info("coins not listed on this exchange; skipped there", { exchange: adapter.id, coins: missing.join(",") });
    markets.set(adapter.id, chosen);
  }

  let universeVersion = 0;
  let warnedVersion = 0;
  /** Once every listing is in: one warning per coin that no enabled exchange lists (once per universe load). */
  function warnUnlisted(): void {
    if (!universe || warnedVersion === universeVersion || listings.size < deps.adapters.length) return;
    warnedVersion = universeVersion;
    const listed = new Set([...markets.values()].flatMap((l) => l.map((m) => m.coin)));
    for (const coin of universe) {
      if (!listed.has(coin.symbol)) logger.warn("coin is not listed on any enabled exchange; skipped", { coin: coin.symbol, name: coin.name });
    }
  }

  let universeLoading: Promise<void> | undefined;
  /** The ranking, loaded when missing or a day old; concurrent callers share one load. */
  function ensureUniverse(): Promise<void> {
    if (universe && clock.now() - universeAtMs < DAY_MS) return Promise.resolve();
    universeLoading ??= (async () => {
      await loadUniverse();
      universeVersion++;
      if (deps.sinks.some((s) => s.track)) await trackCoins();
      for (const adapter of deps.adapters) resolveExchange(adapter);
      warnUnlisted();
    })().finally(() => (universeLoading = undefined));
    return universeLoading;
  }

  const listingLoading = new Map<ExchangeId, Promise<string | undefined>>();
  /**
   * One exchange's listing, loaded when missing or a day old, by that exchange's own task: a
   * listing that hangs or fails holds up only its own exchange. Resolves to the load's error, if it failed.
   */
  function ensureListing(adapter: ExchangeAdapter, signal?: AbortSignal): Promise<string | undefined> {
    const listing = listings.get(adapter.id);
    if (listing && clock.now() - listing.atMs < DAY_MS) return Promise.resolve(undefined);
    let loading = listingLoading.get(adapter.id);
    if (!loading) {
      loading = loadListing(adapter, signal)
        .then(() => {
          resolveExchange(adapter);
          warnUnlisted();
          return undefined;
        })
        .catch((error: unknown) => {
          // Stopping abandons the request: not a failure to report.
          if (signal?.aborted) return describeError(error);
          metrics.inc("cryptointellect_listing_failures_total", { exchange: adapter.id });
          const next = deps.repeating?.() === false ? "nothing is collected from this exchange" : "retrying next cycle";
          logger.error(`market listing could not be loaded; ${next}`, { exchange: adapter.id, error: describeError(error) });
          return describeError(error);
        })
        .finally(() => listingLoading.delete(adapter.id));
      listingLoading.set(adapter.id, loading);
    }
    return loading;
  }

  /**
   * The report of an exchange whose cycle could not run (no listing to go on, or the cycle threw):
   * a failure of every series it was to collect, so /health and /metrics show an outage as one.
   */
  function failedReport(adapter: ExchangeAdapter, startedMs: number, error: string): ExchangeCycleReport {
    const interval = config.bucketIntervalMinutes;
    const targetOpenMs = lastClosedBucketOpen(startedMs, interval, config.settleSeconds);
    const last = lastReports.get(adapter.id);
    // The series it would have collected: its last known markets, or else every coin of the universe.
    const series = markets.get(adapter.id)?.length ?? universe?.length ?? 0;
    const lagBuckets = last
      ? last.lagBuckets + Math.max(0, Math.round((targetOpenMs - last.targetOpenMs) / (interval * MINUTE_MS)))
      : Math.floor(config.catchUpLimitMinutes / interval);
    const bannedUntilMs = deps.clients.get(adapter.id)?.status().bannedUntilMs;
    const report = failedCycleReport({
      exchange: adapter.id,
      startedMs,
      finishedMs: clock.now(),
      targetOpenMs,
      series,
      banned: bannedUntilMs !== undefined && bannedUntilMs > clock.now(),
      lagBuckets,
      error,
    });
    if (series > 0) metrics.inc("cryptointellect_failed_ranges_total", { exchange: adapter.id }, series);
    metrics.set("cryptointellect_lag_buckets", { exchange: adapter.id }, lagBuckets);
    return report;
  }

  /** Tells health and the log how an exchange's cycle went, and remembers it. */
  function recordReport(adapter: ExchangeAdapter, report: ExchangeCycleReport): void {
    lastReports.set(adapter.id, report);
    deps.health.record(report);
    deps.health.setBan(adapter.id, deps.clients.get(adapter.id)?.status().bannedUntilMs);
  }

  /** One exchange's REST cycle over `runtime`'s markets, save delays timed. */
  function restCycle(rt: ExchangeRuntime, sinks: readonly CandleSink[], signal?: AbortSignal): Promise<ExchangeCycleReport> {
    const settings = { bucketIntervalMinutes: config.bucketIntervalMinutes, settleSeconds: config.settleSeconds, catchUpLimitMinutes: config.catchUpLimitMinutes };
    const timed = timedSinks(sinks, { exchange: rt.adapter.id, source: "rest", intervalMinutes: config.bucketIntervalMinutes, clock, metrics });
    return collectExchange({ settings, clock, logger, metrics, sinks: timed }, rt, signal);
  }

  /** Cluster mode's tick: every listing in, the shards published; the publisher runs the once-a-tick jobs. */
  async function clusterTick(cluster: NonNullable<ServiceDeps["cluster"]>, dueMs: number, signal?: AbortSignal): Promise<TickReport> {
    await Promise.all(deps.adapters.map((adapter) => ensureListing(adapter, signal)));
    const exchanges = deps.adapters.flatMap((adapter) => {
      const list = markets.get(adapter.id);
      return list && list.length > 0 ? [{ exchange: adapter.id, coins: list.map((m) => m.coin) }] : [];
    });
    if (exchanges.length === 0 || signal?.aborted) return { dueMs, reports: [], skipped: [] };
    const published = await cluster.publish(dueMs, exchanges);
    if (!published) return { dueMs, reports: [], skipped: [] };
    logger.info("tick published as shard jobs", { due: new Date(dueMs).toISOString(), exchanges: exchanges.length });
    // Gap repair once an hour for the whole cluster (the first tick of each hour), up to the bucket
    // before this tick's: that one is being fetched by the shard jobs just published.
    const sizeMs = config.bucketIntervalMinutes * MINUTE_MS;
    if (deps.repairGaps !== false && Math.floor(dueMs / REPAIR_EVERY_MS) !== Math.floor((dueMs - sizeMs) / REPAIR_EVERY_MS)) {
      const untilMs = lastClosedBucketOpen(dueMs, config.bucketIntervalMinutes, config.settleSeconds) - 1;
      for (const adapter of deps.adapters) {
        const list = markets.get(adapter.id);
        if (!list || signal?.aborted) continue;
        await repairRecent({ adapter, client: deps.clients.get(adapter.id)!, markets: list }, signal, untilMs).catch((error: unknown) => {
          if (!signal?.aborted) logger.error("gap repair failed", { exchange: adapter.id, error: describeError(error) });
        });
      }
    }
    await runAfterTick();
    return { dueMs, reports: [], skipped: [] };
  }

  async function runAfterTick(): Promise<void> {
    if (!deps.afterTick) return;
    const series = [...markets.values()].reduce((n, l) => n + l.length, 0);
    const coins = new Set([...markets.values()].flatMap((l) => l.map((m) => m.coin))).size;
    try {
      await deps.afterTick({ series, coins, exchanges: markets.size, atMs: clock.now() });
    } catch (error) {
      logger.error("metadata job failed", { error: describeError(error) });
    }
  }

  async function trackCoins(): Promise<void> {
    const coins: CoinInfo[] = (universe ?? []).map((c) => ({ coin: c.symbol, name: c.name, marketCap: c.marketCap }));
    for (const sink of deps.sinks) {
      if (!sink.track) continue;
      try {
        await sink.track(coins, config.exchanges);
      } catch (error) {
        logger.error("could not record the tracked coins", { sink: sink.name, error: describeError(error) });
      }
    }
  }

  return {
    async tick(dueMs, signal) {
      try {
        await ensureUniverse();
      } catch (error) {
        logger.error("coin universe could not be loaded", { error: describeError(error) });
      }
      // `once` (no next cycle) collects here and now, alone.
      if (deps.cluster && deps.repeating?.() !== false) return clusterTick(deps.cluster, dueMs, signal);
      const skipped: ExchangeId[] = [];
      const running: Promise<ExchangeCycleReport | undefined>[] = [];
      for (const adapter of deps.adapters) {
        if (busy.has(adapter.id)) {
          skipped.push(adapter.id);
          logger.warn("previous cycle of this exchange still running; not starting another", { exchange: adapter.id });
          continue;
        }
        busy.add(adapter.id);
        const client = deps.clients.get(adapter.id)!;
        const startedMs = clock.now();
        let recorded = false;
        const task = async (): Promise<ExchangeCycleReport | undefined> => {
          const listingError = await ensureListing(adapter, signal);
          const list = markets.get(adapter.id);
          if (!list) {
            if (signal?.aborted) return undefined;
            // No listing to go on: nothing of this exchange can be fetched, which is an outage of
            // every series it has, not a quiet cycle.
            const report = failedReport(
              adapter,
              startedMs,
              listingError !== undefined ? `market listing failed: ${listingError}` : "no market listing: the coin universe is not loaded",
            );
            recorded = true;
            recordReport(adapter, report);
            return report;
          }
          const runtime = { adapter, client, markets: list };
          const rest = (rt: ExchangeRuntime, sinks: readonly CandleSink[]) => restCycle(rt, sinks, signal);
          const report = deps.live?.handles(adapter.id) && deps.repeating?.() !== false ? await deps.live.cycle(runtime, rest, signal) : await rest(runtime, deps.sinks);
          recorded = true;
          recordReport(adapter, report);
          logger.info("cycle done", {
            exchange: adapter.id,
            series: report.seriesTotal,
            failed: report.seriesFailed,
            filled: report.filled,
            ...Object.fromEntries(Object.entries(report.sinks).map(([k, v]) => [k, v.ok ? v.written : "failed"])),
            lag: report.lagBuckets,
          });
          if (deps.repairGaps !== false && report.seriesOk > 0 && !signal?.aborted) {
            await repairRecent(runtime, signal).catch((error: unknown) => {
              if (!signal?.aborted) logger.error("gap repair failed", { exchange: adapter.id, error: describeError(error) });
            });
          }
          return report;
        };
        running.push(
          task()
            .catch((error: unknown) => {
              if (!signal?.aborted) logger.error("cycle failed", { exchange: adapter.id, error: describeError(error) });
              if (recorded || signal?.aborted) return undefined;
              const report = failedReport(adapter, startedMs, `cycle failed: ${describeError(error)}`);
              recordReport(adapter, report);
              return report;
            })
            .finally(() => busy.delete(adapter.id)),
        );
      }
      const reports = (await Promise.all(running)).filter((r): r is ExchangeCycleReport => r !== undefined);
      deps.health.cycleDone();
      metrics.inc("cryptointellect_cycles_total", { outcome: cycleOutcome(reports) });
      await runAfterTick();
      return { dueMs, reports, skipped };
    },
    async runShard(exchange, coins, signal) {
      const adapter = deps.adapters.find((a) => a.id === exchange);
      if (!adapter) throw new Error(`shard of ${exchange}, which this instance does not collect (check that every instance has the same config)`);
      await ensureUniverse();
      const listingError = await ensureListing(adapter, signal);
      const listed = new Map((markets.get(exchange) ?? []).map((m) => [m.coin, m]));
      if (listed.size === 0) throw new Error(`no market listing for ${exchange}${listingError !== undefined ? `: ${listingError}` : ""}`);
      const shard = coins.flatMap((coin) => listed.get(coin) ?? []);
      if (shard.length < coins.length)
        logger.warn("shard names coins this instance does not track there; skipped", { exchange, coins: coins.filter((c) => !listed.has(c)).join(",") });
      const report = await restCycle({ adapter, client: deps.clients.get(exchange)!, markets: shard }, deps.sinks, signal);
      recordReport(adapter, report);
      deps.health.cycleDone();
      metrics.inc("cryptointellect_cycles_total", { outcome: cycleOutcome([report]) });
      logger.info("shard done", { exchange, series: report.seriesTotal, failed: report.seriesFailed, lag: report.lagBuckets });
      // A sink that failed: the job is retried (here or elsewhere) rather than acknowledged with rows missing.
      const sinkFailed = Object.values(report.sinks).find((o) => !o.ok);
      if (sinkFailed) throw new Error(`a sink failed: ${sinkFailed.error ?? "unknown"}`);
      return report;
    },
    async backfillRange(range, signal) {
      const startedMs = performance.now();
      const adapter = deps.adapters.find((a) => a.id === range.exchange);
      if (!adapter) throw new Error(`backfill job of ${range.exchange}, which this instance does not collect (check that every instance has the same config)`);
      const listingError = await ensureListing(adapter, signal);
      const market = listings.get(adapter.id)?.markets.find((m) => m.coin === range.coin);
      if (!market) {
        const why = listingError !== undefined ? `no market listing: ${listingError}` : "the coin is not listed there";
        throw new Error(`backfill job of ${range.exchange} ${range.coin}: ${why}`);
      }
      const report = await backfillExchange(
        { clock, logger, metrics, sinks: deps.sinks },
        { adapter, client: deps.clients.get(adapter.id)!, markets: [market] },
        {
          intervalMinutes: range.intervalMinutes,
          settleSeconds: config.settleSeconds,
          fromMs: range.fromOpenMs,
          toMs: range.toOpenMs + range.intervalMinutes * MINUTE_MS,
          repair: false,
          handovers: handoversOf(`${adapter.id}|${range.intervalMinutes}`),
          // A job's range (a few thousand buckets of one series) in one transaction.
          writeRows: JOB_WRITE_ROWS,
        },
        signal,
      );
      const what = `${range.exchange} ${range.coin} ${new Date(range.fromOpenMs).toISOString()} … ${new Date(range.toOpenMs).toISOString()}`;
      if (signal?.aborted) throw new Error(`backfill of ${what} stopped before it was complete`);
      const failed = report.sinkErrors[0] ?? report.failed[0]?.error;
      if (failed !== undefined) throw new Error(`backfill of ${what}: ${report.failed.length} range(s) failed: ${failed}`);
      logger.info("backfill job done", {
        exchange: range.exchange,
        coin: range.coin,
        from: new Date(range.fromOpenMs).toISOString(),
        missing: report.missingBuckets,
        ...report.written,
        took_ms: Math.round(performance.now() - startedMs),
      });
      return report;
    },
    tracked: () => markets,
    async refreshUniverse(signal) {
      universe = undefined;
      listings.clear();
      await ensureUniverse();
      await Promise.all(deps.adapters.map((adapter) => ensureListing(adapter, signal)));
    },
  };
}

/** A tick's outcome for /metrics: `ok` when no series failed, `failed` when none succeeded, else `partial`. */
export function cycleOutcome(reports: readonly ExchangeCycleReport[]): "ok" | "partial" | "failed" {
  let failed = 0;
  let ok = 0;
  for (const r of reports) {
    failed += r.error !== undefined ? Math.max(1, r.seriesFailed) : r.seriesFailed;
    ok += r.seriesOk;
  }
  return failed === 0 ? "ok" : ok === 0 ? "failed" : "partial";
}
