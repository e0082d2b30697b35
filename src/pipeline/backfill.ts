/**
 * Backfill and gap repair: for every selected series, find the buckets each sink lacks in a range,
 * fetch only those (the exchange's largest pages, many in flight up to its rate budget, Kraken's
 * older history through its trades), build candles exactly as the live cycle does, and stream them
 * to the sinks time slice by time slice, so memory stays a few pages per series. Running it again
 * continues where an interrupted run stopped: what is saved is no longer missing.
 */
import type { Clock } from "../clock.ts";
import type { Candle, ExchangeId } from "../domain/candle.ts";
import { type BucketRange, bucketCount } from "../domain/gaps.ts";
import { baseIntervalFor, lastClosedBucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { describeError } from "../errors.ts";
import type { Market } from "../exchanges/types.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { CandleSink } from "../sinks/types.ts";
import type { ExchangeRuntime } from "./cycle.ts";
import { createTradeCarry, fetchRange, type TradeCarry, type WindowResult } from "./fetch-range.ts";
import type { SeriesState } from "./series.ts";
import { reportConflict, SEED_BUCKETS, stepWindow, writeToSinks } from "./series-step.ts";
import { createGate } from "./pool.ts";

/** Where a backfill reports how far it got (the CLI draws it: src/cli/progress.ts). */
export interface Progress {
  setTotal(key: string, total: number): void;
  add(key: string, done: number): void;
  finish(): void;
}

export interface BackfillDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  sinks: readonly CandleSink[];
  progress?: Progress;
}

export interface BackfillOptions {
  intervalMinutes: number;
  settleSeconds: number;
  /**
   * Start of the range: the first bucket covered is the first that opens at or after it (a caller
   * that means "the bucket holding this instant" passes that bucket's open time, as the CLI does);
   * undefined with `repair`: from the oldest bucket the store holds.
   */
  fromMs: number | undefined;
  /** Last instant: the last bucket saved is the newest that ends by then and is closed. */
  toMs: number;
  repair: boolean;
  /** Only inside each series' saved span: never before its oldest saved bucket (the live repair). */
  withinSaved?: boolean;
  /**
   * Slices (one page per series) in flight ahead of the one being written; the rate limiter still
   * paces them. Default: about 4000 candles a series, at least 4 slices, so an exchange with small
   * pages (Poloniex, 500) keeps as much ahead as one with large ones and is not left waiting on a write.
   */
  windowsInFlight?: number;
  /** Series fetched at once per exchange. */
  seriesInFlight?: number;
  /**
   * Where a range ends, each series' state (its close, its trades pager), kept by coin; a later
   * range of a series that starts right there goes on from it: no look-back for a close and no
   * trades page fetched again (a cluster instance's next chunk of a pair). Read at the start,
   * replaced at the end of a series' range that completed.
   */
  handovers?: Map<string, SeriesHandover>;
  /**
   * Buckets held back and written together (default 0: each time slice is written as soon as it is
   * built). A cluster's job of one series holds its few thousand buckets for one transaction where
   * one a page made the database's work per row several times a single backfill's.
   */
  writeRows?: number;
}

/** A series' state where a backfill range ended (BackfillOptions.handovers). */
export interface SeriesHandover {
  /** The open of the bucket after the range: the only start it is good for. */
  nextOpenMs: number;
  previousClose: number | undefined;
  tradeCarry: TradeCarry;
}

export interface FailedRange {
  coin: string;
  fromOpenMs: number;
  toOpenMs: number;
  error: string;
}

export interface ExchangeBackfillReport {
  exchange: ExchangeId;
  series: number;
  missingBuckets: number;
  written: Record<string, number>;
  filled: number;
  rejected: number;
  failed: FailedRange[];
  sinkErrors: string[];
}

/** Slices fetched ahead of the one being written: about this many candles a series, at least 4 slices. */
const LOOKAHEAD_CANDLES = 4000;
const MIN_SLICES_AHEAD = 4;

export async function runBackfill(deps: BackfillDeps, runtimes: readonly ExchangeRuntime[], options: BackfillOptions, signal?: AbortSignal): Promise<ExchangeBackfillReport[]> {
  let effective = options;
  if (options.fromMs === undefined) {
    // Repair without --from covers the span the store holds: from its oldest saved bucket, for
    // every series, so a series whose every fetch failed is repaired too.
    const firsts: number[] = [];
    for (const rt of runtimes) {
      for (const m of rt.markets) {
        for (const sink of deps.sinks) {
          const first = await sink.firstSaved(rt.adapter.id, m.coin, options.intervalMinutes).catch(() => undefined);
          if (first !== undefined) firsts.push(first);
        }
      }
    }
    if (firsts.length === 0) {
      deps.logger.warn("nothing saved yet: --repair has no range to scan (give --from)");
      return runtimes.map((rt) => ({ exchange: rt.adapter.id, series: rt.markets.length, missingBuckets: 0, written: {}, filled: 0, rejected: 0, failed: [], sinkErrors: [] }));
    }
    effective = { ...options, fromMs: Math.min(...firsts) };
  }
  return Promise.all(runtimes.map((rt) => backfillExchange(deps, rt, effective, signal)));
}

interface SeriesPlan {
  market: Market;
  /** Per sink, the runs it lacks. */
  perSink: Map<CandleSink, BucketRange[]>;
  /** Union over sinks: what to fetch. */
  runs: BucketRange[];
  /** Where the series' trades pager stopped, for the next slice (Kraken's deep history). */
  tradeCarry: TradeCarry;
  /** The close before the first run, handed over by the range before it. */
  resumedClose?: number;
}

export async function backfillExchange(deps: BackfillDeps, rt: ExchangeRuntime, options: BackfillOptions, signal?: AbortSignal): Promise<ExchangeBackfillReport> {
  const { clock, logger, metrics } = deps;
  const exchange = rt.adapter.id;
  const interval = options.intervalMinutes;
  const size = interval * MINUTE_MS;
  const report: ExchangeBackfillReport = { exchange, series: rt.markets.length, missingBuckets: 0, written: {}, filled: 0, rejected: 0, failed: [], sinkErrors: [] };
  const lastOpen = Math.min(lastClosedBucketOpen(clock.now(), interval, options.settleSeconds), Math.floor(options.toMs / size) * size - size);
  const coins = rt.markets.map((m) => m.coin);

  // 1. What each sink lacks, per coin.
  const plans: SeriesPlan[] = rt.markets.map((market) => ({ market, perSink: new Map(), runs: [], tradeCarry: createTradeCarry() }));
  for (const sink of deps.sinks) {
    report.written[sink.name] = 0;
    try {
      const fromOpen = Math.ceil(options.fromMs! / size) * size;
      const missing = await sink.missingRanges(exchange, interval, coins, fromOpen, lastOpen);
      for (const p of plans) {
        let runs = missing.get(p.market.coin) ?? [];
        if (options.withinSaved) {
          const first = await sink.firstSaved(exchange, p.market.coin, interval);
          runs = first === undefined ? [] : runs.filter((r) => r.toOpenMs >= first).map((r) => ({ fromOpenMs: Math.max(r.fromOpenMs, first), toOpenMs: r.toOpenMs }));
        }
        p.perSink.set(sink, runs);
      }
    } catch (error) {
      report.sinkErrors.push(`${sink.name}: ${describeError(error)}`);
      logger.error("sink cannot be scanned; skipping it", { sink: sink.name, exchange, error: describeError(error) });
      for (const p of plans) p.perSink.delete(sink);
    }
  }
  for (const p of plans) p.runs = unionRuns([...p.perSink.values()], size);
  // A series whose first run starts where an earlier range of it ended goes on from that state.
  for (const p of plans) {
    const handover = options.handovers?.get(p.market.coin);
    options.handovers?.delete(p.market.coin);
    if (handover && p.runs[0]?.fromOpenMs === handover.nextOpenMs) {
      p.tradeCarry = handover.tradeCarry;
      if (handover.previousClose !== undefined) p.resumedClose = handover.previousClose;
    }
  }
  report.missingBuckets = plans.reduce((n, p) => n + bucketCount(p.runs, interval), 0);
  deps.progress?.setTotal(exchange, report.missingBuckets);
  if (report.missingBuckets === 0) {
    deps.progress?.add(exchange, 0);
    return report;
  }

  // 2. Fetch in time slices: each slice is one window per series, so every write is mostly an
  //    append in time order, and a kill leaves the store complete up to a slice boundary per series.
  const base = baseIntervalFor(rt.adapter, interval);
  const sliceBuckets = Math.max(1, Math.floor((rt.adapter.maxCandlesPerRequest * base) / interval));
  const sliceMs = sliceBuckets * size;
  const firstOpen = Math.min(...plans.flatMap((p) => p.runs.map((r) => r.fromOpenMs)));
  const states = new Map<string, SeriesState>(plans.map((p) => [p.market.coin, { exchange, coin: p.market.coin, intervalMinutes: interval, previousClose: p.resumedClose }]));
  const step = { exchange, clock, logger, metrics, settleSeconds: options.settleSeconds };
  const windowsInFlight = Math.max(1, options.windowsInFlight ?? Math.max(MIN_SLICES_AHEAD, Math.ceil(LOOKAHEAD_CANDLES / rt.adapter.maxCandlesPerRequest)));

  type SliceFetch = { plan: SeriesPlan; part: BucketRange; seeded: boolean; results: Promise<WindowResult[]> };
  const startSlice = (sliceStart: number): SliceFetch[] => {
    const sliceEnd = sliceStart + sliceMs - size;
    const fetches: SliceFetch[] = [];
    for (const plan of plans) {
      for (const run of plan.runs) {
        const from = Math.max(run.fromOpenMs, sliceStart);
        const to = Math.min(run.toOpenMs, sliceEnd);
        if (from > to) continue;
        // A run that starts in this slice needs the close before it; one that continues does not,
        // nor one whose close was handed over.
        const seeded = from === run.fromOpenMs && !(run === plan.runs[0] && plan.resumedClose !== undefined);
        fetches.push({ plan, part: { fromOpenMs: from, toOpenMs: to }, seeded, results: Promise.resolve([]) });
      }
    }
    return fetches;
  };
  const fetchPart = (plan: SeriesPlan, fromOpenMs: number, toOpenMs: number, tradeCarry: TradeCarry) =>
    collect(
      fetchRange({
        client: rt.client,
        adapter: rt.adapter,
        market: plan.market,
        intervalMinutes: interval,
        fromOpenMs,
        toOpenMs,
        nowMs: clock.now(),
        now: () => clock.now(),
        deepHistory: true,
        tradeCarry,
        onConflict: reportConflict(logger, metrics, exchange, plan.market.coin),
        signal,
      }),
    );
  const launch = (fetches: SliceFetch[]) => {
    // Series of a slice run concurrently, bounded; the limiter paces the requests.
    const gate = createGate(options.seriesInFlight ?? 16);
    for (const f of fetches) {
      f.results = gate(async () => {
        const results = await fetchPart(f.plan, f.part.fromOpenMs, f.part.toOpenMs, f.plan.tradeCarry);
        // A run's first bucket needs the close before it only when it had no trade: then (and only
        // then) look back for one. Asking every time would fetch the buckets before the run twice
        // where a neighbouring run (a cluster's previous chunk) fetches them too.
        if (!f.seeded || !needsSeed(results, f.part.fromOpenMs, size)) return results;
        return [...(await fetchPart(f.plan, f.part.fromOpenMs - SEED_BUCKETS * size, f.part.fromOpenMs - size, createTradeCarry())), ...results];
      });
    }
    return fetches;
  };

  // Slices start at the first run, so every page is full: 2880 minutes of Binance take 3 pages a
  // series, not 4 split at epoch multiples.
  const slices: number[] = [];
  for (let t = firstOpen; t <= lastOpen; t += sliceMs) slices.push(t);
  // Built buckets wait here for their write: each slice's, or up to `writeRows` of them.
  let held = new Map<CandleSink, Candle[]>([...deps.sinks].map((s) => [s, []]));
  let heldRows = 0;
  const flush = async () => {
    const batch = held;
    held = new Map([...deps.sinks].map((s) => [s, []]));
    heldRows = 0;
    for (const [sink, outcome] of await writeToSinks(batch, step, "backfill write failed; run backfill again to fill it")) {
      report.written[sink.name] = (report.written[sink.name] ?? 0) + outcome.written;
      if (outcome.ok) continue;
      const message = outcome.error!;
      if (!report.sinkErrors.includes(message)) report.sinkErrors.push(message);
      const candles = batch.get(sink)!;
      report.failed.push({ coin: "*", fromOpenMs: candles[0]!.openTimeMs, toOpenMs: candles.at(-1)!.openTimeMs, error: message });
    }
  };
  const pending: SliceFetch[][] = [];
  let next = 0;
  while ((next < slices.length || pending.length > 0) && !signal?.aborted) {
    while (pending.length < windowsInFlight && next < slices.length) pending.push(launch(startSlice(slices[next++]!)));
    const fetches = pending.shift()!;
    let done = 0;
    for (const f of fetches) {
      const state = states.get(f.plan.market.coin)!;
      if (f.seeded) state.previousClose = undefined;
      for (const w of await f.results) {
        const result = stepWindow(state, w, step);
        if (!result.ok) {
          const from = Math.max(w.fromOpenMs, f.part.fromOpenMs);
          if (w.toOpenMs < from || signal?.aborted) continue; // only the look-back failed, or stopping
          const failed = { coin: f.plan.market.coin, fromOpenMs: from, toOpenMs: w.toOpenMs, error: describeError(result.error) };
          report.failed.push(failed);
          metrics.inc("cryptointellect_failed_ranges_total", { exchange });
          logger.warn("backfill range failed; run backfill --repair later", {
            exchange,
            coin: failed.coin,
            from: iso(failed.fromOpenMs),
            to: iso(failed.toOpenMs),
            error: failed.error,
          });
          continue;
        }
        report.rejected += result.rejected;
        for (const c of result.candles) {
          if (c.openTimeMs < f.part.fromOpenMs || c.openTimeMs > f.part.toOpenMs) continue;
          done++;
          if (c.filled) report.filled++;
          for (const [sink, runs] of f.plan.perSink) if (inRuns(runs, c.openTimeMs)) held.get(sink)!.push(c);
        }
      }
    }
    heldRows += done;
    if (heldRows >= (options.writeRows ?? 0)) await flush();
    deps.progress?.add(exchange, done);
  }
  await flush();
  if (report.filled > 0) metrics.inc("cryptointellect_filled_buckets_total", { exchange }, report.filled);
  // Hand each series' state on where its range ended whole: its last run reaching the range's end,
  // nothing failed, nothing stopped.
  if (options.handovers && !signal?.aborted && report.sinkErrors.length === 0) {
    for (const p of plans) {
      if (p.runs.at(-1)?.toOpenMs !== lastOpen || report.failed.some((f) => f.coin === p.market.coin || f.coin === "*")) continue;
      options.handovers.set(p.market.coin, { nextOpenMs: lastOpen + size, previousClose: states.get(p.market.coin)!.previousClose, tradeCarry: p.tradeCarry });
    }
  }
  return report;
}

/** Whether a run's first bucket lacks a traded candle (so it can only be fed forward from the close before it). */
function needsSeed(results: readonly WindowResult[], fromOpenMs: number, sizeMs: number): boolean {
  const first = results[0];
  if (!first?.ok) return false; // a failed range is reported as such; a look-back would not save it
  for (const w of results) {
    if (!w.ok) return true;
    for (const c of w.candles) {
      if (c.openTimeMs >= fromOpenMs + sizeMs) return true;
      if (c.openTimeMs >= fromOpenMs && c.volume > 0) return false;
    }
  }
  return true;
}

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of gen) out.push(item);
  return out;
}

function inRuns(runs: readonly BucketRange[], openMs: number): boolean {
  for (const r of runs) if (openMs >= r.fromOpenMs && openMs <= r.toOpenMs) return true;
  return false;
}

/** The union of several lists of runs, merged where they touch. */
export function unionRuns(lists: readonly (readonly BucketRange[])[], sizeMs: number): BucketRange[] {
  const all = lists.flat().sort((a, b) => a.fromOpenMs - b.fromOpenMs);
  const out: BucketRange[] = [];
  for (const r of all) {
    const last = out.at(-1);
    if (last && r.fromOpenMs <= last.toOpenMs + sizeMs) last.toOpenMs = Math.max(last.toOpenMs, r.toOpenMs);
    else out.push({ ...r });
  }
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
