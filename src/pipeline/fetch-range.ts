import { sortUnique } from "../domain/aggregate.ts";
import type { RawCandle } from "../domain/candle.ts";
import { chunkRuns } from "../domain/gaps.ts";
import { baseIntervalFor, bucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { type Trade, tradesToMinuteCandles } from "../domain/trades-to-candles.ts";
import { CryptoIntellectError } from "../errors.ts";
import type { ExchangeClient } from "../http/client.ts";
import type { ExchangeAdapter, Market } from "../exchanges/types.ts";

/** How far past our clock an exchange's open time may be (clock skew) before the candle counts as from the future. */
const FUTURE_SLACK_MS = 60_000;
/**
 * The oldest candles of a recent-only endpoint's depth where a missing row is not taken as quiet:
 * Kraken was seen serving 707–711 rows where 720 were due (ccxt #5682), and its clock may be ahead of
 * ours at a boundary. There only a row shows what was served; a minute no longer served must never be
 * read as quiet. (At most a tenth of the depth.)
 */
const DEPTH_EDGE_CANDLES = 24;
/** Times a window is fetched again when its answer holds two different candles for one open time. */
export const CONFLICT_RETRIES = 2;

/** A run of whole buckets fetched together: [fromOpenMs, toOpenMs] are bucket opens, both inclusive. */
export interface FetchWindow {
  fromOpenMs: number;
  toOpenMs: number;
}

export type WindowResult =
  | (FetchWindow & {
      ok: true;
      candles: RawCandle[];
      baseIntervalMinutes: number;
      /** Copies that still disagreed after the retries: their open times are neither quiet nor saved. */
      conflicts?: readonly RawCandle[];
    })
  | (FetchWindow & { ok: false; error: Error });

/** One answer (all pages of a window) that held two different candles for the same open time. */
export interface CandleConflict {
  window: FetchWindow;
  /** Every copy of each conflicting open time, in open-time order. */
  copies: readonly RawCandle[];
  /** 1 for the first fetch of the window. */
  attempt: number;
  /** True when no retry follows: these open times are left missing. */
  final: boolean;
}

/** The range lies before what the exchange can serve (Kraken OHLC: the 720 most recent candles only). */
export class UnreachableRangeError extends CryptoIntellectError {
  constructor(where: string) {
    super("EXCHANGE_API", `${where}: older than the exchange serves on this endpoint`);
  }
}

export interface FetchRangeOptions {
  client: ExchangeClient;
  adapter: ExchangeAdapter;
  market: Market;
  intervalMinutes: number;
  /** First and last bucket open to fetch (inclusive); all must be closed at `nowMs`. */
  fromOpenMs: number;
  toOpenMs: number;
  nowMs: number;
  /**
   * The time when a page arrives (the clock's now): a candle later than that is from the future.
   * `nowMs` is when the range was planned, which a long backfill leaves far behind.
   */
  now?: () => number;
  /**
   * Fetch what the candles endpoint no longer serves from the adapter's trades endpoint (Kraken),
   * when it has one; otherwise that part fails as unreachable. Off for the live cycle.
   */
  deepHistory?: boolean;
  /**
   * One series' trade cursor, shared by the consecutive windows of a backfill: where one window's
   * trades pager stopped (its last page runs past the window's end), the next window goes on, instead
   * of fetching that page again from its own start.
   */
  tradeCarry?: TradeCarry;
  /** Told of each answer with conflicting candles (to log and count it), before the window is fetched again. */
  onConflict?: (conflict: CandleConflict) => void;
  signal?: AbortSignal;
}

/** What a series' last trades page left over: its trades from `fromMs` on, and its cursor. */
export interface TradeCarry {
  left?: { fromMs: number; trades: Trade[]; lastNs: string };
  /** Trades windows of the series take turns, so each can go on from the one before. */
  turn: Promise<void>;
}

export function createTradeCarry(): TradeCarry {
  return { turn: Promise.resolve() };
}

/**
 * Splits the range into windows of whole buckets, each fetched with pages of at most the adapter's
 * page size, so no page is ever truncated by the exchange and no bucket straddles two windows.
 * The part an exchange cannot serve any more comes back as a failed window, never as empty data.
 */
export function planWindows(
  adapter: Pick<ExchangeAdapter, "maxCandlesPerRequest" | "nativeIntervals" | "recentCandlesOnly">,
  intervalMinutes: number,
  fromOpenMs: number,
  toOpenMs: number,
  nowMs: number,
): { windows: FetchWindow[]; unreachable?: FetchWindow } {
  const size = intervalMinutes * MINUTE_MS;
  if (toOpenMs < fromOpenMs) return { windows: [] };
  let start = fromOpenMs;
  let unreachable: FetchWindow | undefined;
  if (adapter.recentCandlesOnly !== undefined) {
    const base = baseIntervalFor(adapter, intervalMinutes);
    const oldestBaseOpen = bucketOpen(nowMs, base) - (adapter.recentCandlesOnly - 1) * base * MINUTE_MS;
    const firstReachable = Math.ceil(oldestBaseOpen / size) * size;
    if (firstReachable > start) {
      unreachable = { fromOpenMs: start, toOpenMs: Math.min(toOpenMs, firstReachable - size) };
      start = firstReachable;
    }
  }
  const base = baseIntervalFor(adapter, intervalMinutes);
  const bucketsPerWindow = Math.max(1, Math.floor((adapter.maxCandlesPerRequest * base) / intervalMinutes));
  const windows: FetchWindow[] = [];
  for (let t = start; t <= toOpenMs; t += bucketsPerWindow * size) {
    windows.push({ fromOpenMs: t, toOpenMs: Math.min(toOpenMs, t + (bucketsPerWindow - 1) * size) });
  }
  return unreachable ? { windows, unreachable } : { windows };
}

/** A window's candles, and where the exchange's data actually began (for recent-only endpoints). */
export interface ServedCandles {
  candles: RawCandle[];
  /** The first bucket open the exchange served; later than the window's start when it served less. */
  servedFromMs: number;
  /** Copies of open times that disagreed in every attempt; left out of `candles`. */
  conflicts: readonly RawCandle[];
}

/** Fetches one window: its pages in order, trimmed to the window, sorted and de-duplicated. */
export async function fetchWindow(options: FetchRangeOptions, window: FetchWindow): Promise<RawCandle[]> {
  return (await fetchWindowServed(options, window)).candles;
}

/**
 * Fetches one window; an answer with two different candles for one open time is fetched again, up to
 * CONFLICT_RETRIES times, and what still disagrees comes back in `conflicts`, never as a guess.
 */
export async function fetchWindowServed(options: FetchRangeOptions, window: FetchWindow): Promise<ServedCandles> {
  for (let attempt = 1; ; attempt++) {
    const got = await fetchWindowOnce(options, window);
    if (got.conflicts.length === 0) return got;
    const final = attempt > CONFLICT_RETRIES || options.signal?.aborted === true;
    options.onConflict?.({ window, copies: got.conflicts, attempt, final });
    if (final) return got;
  }
}

async function fetchWindowOnce(options: FetchRangeOptions, window: FetchWindow): Promise<ServedCandles> {
  const { adapter, client, market, intervalMinutes, signal } = options;
  const base = baseIntervalFor(adapter, intervalMinutes);
  const baseMs = base * MINUTE_MS;
  const sizeMs = intervalMinutes * MINUTE_MS;
  // Never past what is closed now, whatever the caller asked for.
  const endMs = Math.min(window.toOpenMs + sizeMs, bucketOpen(options.nowMs, intervalMinutes));
  const pageMs = adapter.maxCandlesPerRequest * baseMs;
  const all: RawCandle[] = [];
  let servedFromMs = window.fromOpenMs;
  for (let start = window.fromOpenMs; start < endMs; start += pageMs) {
    const stop = Math.min(endMs, start + pageMs);
    const spec = adapter.candlesRequest(market, base, start, stop);
    const context = { market, intervalMinutes: base };
    const candles = await client.request(
      spec,
      (body) => adapter.parseCandles(body, context),
      signal,
      adapter.parseCandlesText && ((text) => adapter.parseCandlesText!(text, context)),
    );
    if (adapter.recentCandlesOnly !== undefined && start === window.fromOpenMs) {
      // A recent-only endpoint (Kraken) serves its `recentCandlesOnly` newest candles, counted back
      // from when it answered (by now at the latest). Inside that depth a missing row is an interval
      // without trades (Kraken may omit those), never "not served". Only at the depth's uncertain
      // edge does it take a row to show what was served; an older row shows it for everything after.
      const depthFromMs = bucketOpen(options.now?.() ?? options.nowMs, base) - (adapter.recentCandlesOnly - 1) * baseMs;
      let servedFromBase = depthFromMs + Math.min(DEPTH_EDGE_CANDLES, Math.floor(adapter.recentCandlesOnly / 10)) * baseMs;
      for (const c of candles) if (c.openTimeMs < servedFromBase) servedFromBase = c.openTimeMs;
      if (servedFromBase > start) servedFromMs = Math.ceil(Math.min(servedFromBase, endMs) / sizeMs) * sizeMs;
    }
    for (const c of candles) {
      // Keep only whole base candles inside the window: drops the open candle and anything outside,
      // except a candle from the future, which no exchange sends honestly: the quality checks refuse
      // it with a log line instead of it vanishing unseen.
      if (c.openTimeMs >= start && c.openTimeMs + baseMs <= stop && c.openTimeMs >= servedFromMs) all.push(c);
      else if (c.openTimeMs > (options.now?.() ?? options.nowMs) + FUTURE_SLACK_MS) all.push(c);
    }
  }
  const unique = sortUnique(all);
  return { candles: unique.candles, servedFromMs, conflicts: unique.conflicts };
}

/**
 * Builds a window's 1-minute candles from the trades endpoint, paging with its cursor (Kraken: a
 * nanosecond `since`/`last` kept as a string, never a float).
 */
export async function fetchTradeCandles(options: FetchRangeOptions, window: FetchWindow): Promise<RawCandle[]> {
  const { adapter, client, market, signal } = options;
  const trades = adapter.trades;
  if (!trades) throw new UnreachableRangeError(`${adapter.id} ${market.symbol}`);
  const startMs = window.fromOpenMs;
  const endMs = window.toOpenMs + options.intervalMinutes * MINUTE_MS;
  const carry = options.tradeCarry;
  let release = () => {};
  if (carry) {
    const before = carry.turn;
    carry.turn = new Promise<void>((resolve) => (release = resolve));
    await before;
  }
  try {
    const kept: Trade[] = [];
    // Trades strictly after the cursor: from one nanosecond before the window, or from where the
    // window before this one stopped, with its trades from this window's start on in hand.
    let since = (BigInt(startMs) * 1_000_000n - 1n).toString();
    let last: { trades: Trade[]; lastNs: string } | undefined;
    const left = carry?.left;
    if (carry) carry.left = undefined;
    if (left && left.fromMs === startMs) {
      since = left.lastNs;
      for (const t of left.trades) if (t.timeMs < endMs) kept.push(t);
      // Those trades already reach past this window: nothing to ask for.
      if ((left.trades.at(-1)?.timeMs ?? Number.NEGATIVE_INFINITY) >= endMs) last = left;
    }
    while (last === undefined) {
      const page = await client.request(trades.request(market, since), (body) => trades.parse(body, market), signal);
      for (const t of page.trades) if (t.timeMs >= startMs && t.timeMs < endMs) kept.push(t);
      const lastTrade = page.trades.at(-1);
      if (!lastTrade || lastTrade.timeMs >= endMs || page.lastNs === since) last = page;
      else since = page.lastNs;
    }
    // The last page's trades past this window are all there are up to its cursor.
    if (carry) carry.left = { fromMs: endMs, trades: last.trades.filter((t) => t.timeMs >= endMs), lastNs: last.lastNs };
    return tradesToMinuteCandles(kept);
  } finally {
    release();
  }
}

/** Fetches every window of the range in order; failures come back as results. */
export async function* fetchRange(options: FetchRangeOptions): AsyncGenerator<WindowResult> {
  const { windows, unreachable } = planWindows(options.adapter, options.intervalMinutes, options.fromOpenMs, options.toOpenMs, options.nowMs);
  const base = baseIntervalFor(options.adapter, options.intervalMinutes);
  const jobs: { window: FetchWindow; trades: boolean }[] = [];
  const trades = options.deepHistory ? options.adapter.trades : undefined;
  if (unreachable && trades) {
    // A day of minutes per window keeps each window's trades, and so memory, small.
    const perWindow = Math.max(1, Math.floor(1440 / options.intervalMinutes));
    for (const w of chunkRuns([unreachable], options.intervalMinutes, perWindow)) jobs.push({ window: w, trades: true });
  } else if (unreachable) {
    yield { ...unreachable, ok: false, error: new UnreachableRangeError(`${options.adapter.id} ${options.market.symbol}`) };
  }
  for (const w of windows) jobs.push({ window: w, trades: false });
  const size = options.intervalMinutes * MINUTE_MS;
  const where = `${options.adapter.id} ${options.market.symbol}`;
  const run = async (job: { window: FetchWindow; trades: boolean }): Promise<WindowResult[]> => {
    try {
      if (job.trades) return [{ ...job.window, ok: true, candles: await fetchTradeCandles(options, job.window), baseIntervalMinutes: 1 }];
      const { candles, servedFromMs, conflicts } = await fetchWindowServed(options, job.window);
      const disputed = conflicts.length > 0 ? { conflicts } : {};
      if (servedFromMs <= job.window.fromOpenMs) return [{ ...job.window, ok: true, candles, baseIntervalMinutes: base, ...disputed }];
      // The exchange served less than it should have (its window moved on since planning, or it
      // keeps fewer than it says): the unserved head is never empty buckets. With deep history it
      // comes from the trades; otherwise it is a failure.
      const head = { fromOpenMs: job.window.fromOpenMs, toOpenMs: Math.min(job.window.toOpenMs, servedFromMs - size) };
      const results: WindowResult[] = [];
      if (trades) {
        try {
          results.push({ ...head, ok: true, candles: await fetchTradeCandles(options, head), baseIntervalMinutes: 1 });
        } catch (error) {
          results.push({ ...head, ok: false, error: error instanceof Error ? error : new Error(String(error)) });
        }
      } else {
        results.push({ ...head, ok: false, error: new UnreachableRangeError(where) });
      }
      if (servedFromMs <= job.window.toOpenMs) results.push({ fromOpenMs: servedFromMs, toOpenMs: job.window.toOpenMs, ok: true, candles, baseIntervalMinutes: base, ...disputed });
      return results;
    } catch (error) {
      return [{ ...job.window, ok: false, error: error instanceof Error ? error : new Error(String(error)) }];
    }
  };
  // One window after another: a range's windows are few (the backfill runs its series and slices
  // side by side instead, through the pipeline's gate).
  for (const job of jobs) {
    for (const result of await run(job)) yield result;
    if (options.signal?.aborted) return;
  }
}
