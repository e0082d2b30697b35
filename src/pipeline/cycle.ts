/**
 * One collection cycle for one exchange: every tracked coin from each sink's last saved bucket to
 * the newest closed bucket. Failed fetches leave buckets missing (retried next cycle); nothing is
 * fabricated; each sink gets only what it lacks, so a failing sink never blocks the other.
 */
import type { Clock } from "../clock.ts";
import type { Candle, ExchangeId, SeriesPosition } from "../domain/candle.ts";
import { lastClosedBucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { BannedError, describeError } from "../errors.ts";
import type { ExchangeAdapter, Market } from "../exchanges/types.ts";
import type { ExchangeClient } from "../http/client.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { CandleSink } from "../sinks/types.ts";
import { fetchRange, UnreachableRangeError } from "./fetch-range.ts";
import { mapPool } from "./pool.ts";
import type { SeriesState } from "./series.ts";
import { reportConflict, SEED_BUCKETS, stepWindow, writeToSinks } from "./series-step.ts";

export interface CycleSettings {
  bucketIntervalMinutes: number;
  settleSeconds: number;
  catchUpLimitMinutes: number;
}

export interface ExchangeRuntime {
  adapter: ExchangeAdapter;
  client: ExchangeClient;
  markets: Market[];
}

export interface CycleDeps {
  settings: CycleSettings;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  sinks: readonly CandleSink[];
  /** Coins fetched at once per exchange; the rate limiter paces them. */
  coinConcurrency?: number;
  /** How long a sink may take to say where each series stands before it sits this cycle out. */
  sinkDeadlineMs?: number;
}

export interface SinkOutcome {
  ok: boolean;
  written: number;
  error?: string;
}

export interface ExchangeCycleReport {
  exchange: ExchangeId;
  startedMs: number;
  finishedMs: number;
  /** The newest closed bucket this cycle aimed for. */
  targetOpenMs: number;
  seriesTotal: number;
  seriesOk: number;
  seriesFailed: number;
  banned: boolean;
  filled: number;
  rejected: number;
  sinks: Record<string, SinkOutcome>;
  /** Buckets between the target and the oldest series' newest saved bucket (0 = all current). */
  lagBuckets: number;
  /**
   * Why the exchange's cycle failed as a whole (its market listing could not be loaded, or the cycle
   * threw): then every series counts as failed, none was fetched.
   */
  error?: string;
}

/**
 * The report of a cycle that could not run at all for an exchange: every series it was to collect
 * failed. `lagBuckets` is the caller's best knowledge (it grows while the exchange stays out).
 */
export function failedCycleReport(fields: {
  exchange: ExchangeId;
  startedMs: number;
  finishedMs: number;
  targetOpenMs: number;
  series: number;
  banned: boolean;
  lagBuckets: number;
  error: string;
}): ExchangeCycleReport {
  return {
    exchange: fields.exchange,
    startedMs: fields.startedMs,
    finishedMs: fields.finishedMs,
    targetOpenMs: fields.targetOpenMs,
    seriesTotal: fields.series,
    seriesOk: 0,
    seriesFailed: fields.series,
    banned: fields.banned,
    filled: 0,
    rejected: 0,
    sinks: {},
    lagBuckets: fields.lagBuckets,
    error: fields.error,
  };
}

export async function collectExchange(deps: CycleDeps, runtime: ExchangeRuntime, signal?: AbortSignal): Promise<ExchangeCycleReport> {
  const { settings, clock, logger, metrics } = deps;
  const exchange = runtime.adapter.id;
  const interval = settings.bucketIntervalMinutes;
  const size = interval * MINUTE_MS;
  const startedMs = clock.now();
  const targetOpenMs = lastClosedBucketOpen(startedMs, interval, settings.settleSeconds);
  const floorOpenMs = targetOpenMs - (Math.max(1, Math.floor(settings.catchUpLimitMinutes / interval)) - 1) * size;

  // Which sinks can be used this cycle, and where each series stands in each.
  const sinkOutcomes: Record<string, SinkOutcome> = {};
  const usable: CandleSink[] = [];
  const positions = new Map<CandleSink, Map<string, SeriesPosition | undefined>>();
  // Each sink answers on its own, within a deadline: a database that hangs while it reconnects
  // must not hold up the CSV files (it catches up from its own last bucket once it is back).
  await Promise.all(
    deps.sinks.map(async (sink) => {
      try {
        const map = await withDeadline(
          (async () => {
            const m = new Map<string, SeriesPosition | undefined>();
            for (const market of runtime.markets) m.set(market.coin, await sink.lastSaved(exchange, market.coin, interval));
            return m;
          })(),
          deps.sinkDeadlineMs ?? 10_000,
          `${sink.name} sink did not answer in time`,
        );
        positions.set(sink, map);
        usable.push(sink);
        sinkOutcomes[sink.name] = { ok: true, written: 0 };
      } catch (error) {
        sinkOutcomes[sink.name] = { ok: false, written: 0, error: describeError(error) };
        metrics.inc("cryptointellect_sink_errors_total", { sink: sink.name });
        logger.error("sink unavailable; it catches up once it is back", { sink: sink.name, exchange, error: describeError(error) });
      }
    }),
  );

  let seriesOk = 0;
  let seriesFailed = 0;
  let filled = 0;
  let rejected = 0;
  let banned = false;
  const toWrite = new Map<CandleSink, Candle[]>(usable.map((s) => [s, []]));
  const newest = new Map<string, number>();

  await mapPool(runtime.markets, deps.coinConcurrency ?? 16, async (market) => {
    if (signal?.aborted || usable.length === 0) return;
    // Each sink wants the buckets after its own last one (fresh: only the newest closed bucket).
    const wants = usable.map((sink) => {
      const pos = positions.get(sink)!.get(market.coin);
      const from = pos ? Math.max(pos.openTimeMs + size, floorOpenMs) : targetOpenMs;
      return { sink, from, pos };
    });
    const fromOpenMs = Math.min(...wants.map((w) => w.from));
    const known = usable.map((s) => positions.get(s)!.get(market.coin)).filter((p): p is SeriesPosition => p !== undefined);
    newest.set(market.coin, Math.max(-Infinity, ...known.map((p) => p.openTimeMs)));
    if (fromOpenMs > targetOpenMs) {
      seriesOk++;
      return;
    }
    const seed = known.find((p) => p.openTimeMs === fromOpenMs - size);
    const state: SeriesState = { exchange, coin: market.coin, intervalMinutes: interval, previousClose: seed?.close };
    // Without a saved previous close, fetch a little earlier so that an empty first bucket can be fed forward.
    const fetchFrom = seed ? fromOpenMs : fromOpenMs - SEED_BUCKETS * size;
    const collected: Candle[] = [];
    let failed = false;
    const onConflict = reportConflict(logger, metrics, exchange, market.coin);
    const step = { exchange, clock, logger, metrics, settleSeconds: settings.settleSeconds };
    for await (const window of fetchRange({
      client: runtime.client,
      adapter: runtime.adapter,
      market,
      intervalMinutes: interval,
      fromOpenMs: fetchFrom,
      toOpenMs: targetOpenMs,
      nowMs: clock.now(),
      now: () => clock.now(),
      onConflict,
      signal,
    })) {
      const result = stepWindow(state, window, step);
      if (!result.ok) {
        if (window.toOpenMs < fromOpenMs) continue; // the seed look-back only; the range itself may still be fine
        if (signal?.aborted) {
          failed = true; // abandoned, not saved: no warning, the service is stopping
          break;
        }
        if (result.error instanceof UnreachableRangeError) {
          // Older than this endpoint serves (Kraken OHLC keeps 720 candles): no later cycle can fetch
          // it either, so say so once and go on with the part that can be fetched. Backfill fills it.
          metrics.inc("cryptointellect_failed_ranges_total", { exchange });
          logger.warn("range older than the exchange serves live; left for backfill", {
            exchange,
            coin: market.coin,
            from: new Date(Math.max(window.fromOpenMs, fromOpenMs)).toISOString(),
            to: new Date(window.toOpenMs).toISOString(),
          });
          continue;
        }
        failed = true;
        if (result.error instanceof BannedError) banned = true;
        metrics.inc("cryptointellect_failed_ranges_total", { exchange });
        logger.warn("fetch failed; the buckets stay missing until a later cycle fetches them", {
          exchange,
          coin: market.coin,
          from: new Date(window.fromOpenMs).toISOString(),
          error: describeError(result.error),
        });
        break; // later buckets wait too, so the series resumes from its last saved bucket
      }
      rejected += result.rejected;
      for (const c of result.candles) if (c.openTimeMs >= fromOpenMs) collected.push(c);
    }
    if (failed) seriesFailed++;
    else seriesOk++;
    for (const w of wants) {
      const mine = collected.filter((c) => c.openTimeMs >= w.from);
      toWrite.get(w.sink)!.push(...mine);
    }
    filled += collected.filter((c) => c.filled).length;
  });

  const writes = await writeToSinks(toWrite, { exchange, logger, metrics }, "sink write failed; the candles are fetched again next cycle");
  for (const [sink, outcome] of writes) {
    sinkOutcomes[sink.name] = outcome;
    if (outcome.ok) for (const c of toWrite.get(sink)!) newest.set(c.coin, Math.max(newest.get(c.coin) ?? -Infinity, c.openTimeMs));
  }
  if (filled > 0) metrics.inc("cryptointellect_filled_buckets_total", { exchange }, filled);

  const oldest = Math.min(...runtime.markets.map((m) => newest.get(m.coin) ?? -Infinity));
  const lagBuckets =
    runtime.markets.length === 0 ? 0 : Number.isFinite(oldest) ? Math.max(0, Math.round((targetOpenMs - oldest) / size)) : Math.floor(settings.catchUpLimitMinutes / interval);
  metrics.set("cryptointellect_lag_buckets", { exchange }, lagBuckets);
  return {
    exchange,
    startedMs,
    finishedMs: clock.now(),
    targetOpenMs,
    seriesTotal: runtime.markets.length,
    seriesOk,
    seriesFailed,
    banned,
    filled,
    rejected,
    sinks: sinkOutcomes,
    lagBuckets,
  };
}

/** Rejects with `message` when `work` takes longer than `ms` (real time: it guards against hung I/O). */
function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
