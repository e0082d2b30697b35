import { bucketFloor, bucketNext, type BucketScheme, type SeriesRow } from "../candle-series.ts";
import type { SimSeries } from "../price-model.ts";
import { partialTicks, previousCloseTicks, rangeTicks } from "../range-ticks.ts";

/**
 * What one subscribed series pushes as the simulator clock moves: the bucket in progress whenever it
 * changed (a trade happened) and at most every `minGapMs` of clock time, and when a bucket ends its
 * final values. Pure: the state goes in, the rows to send come out.
 */
export interface CandleFeed {
  series: SimSeries;
  scheme: BucketScheme;
  /** Open of the bucket last looked at. */
  openMs: number;
  /** Trades and volume last sent for that bucket (-1 when nothing was sent for it yet). */
  sentTrades: number;
  sentVolumeUnits: number;
  sentAtMs: number;
}

export interface FeedOptions {
  /** Least clock time between two updates of the bucket in progress (Binance: 2000 ms). */
  minGapMs: number;
  /**
   * Send a final row for every bucket that ends, even one without trades (prices the previous
   * close, volume 0): Binance. Otherwise a bucket's final values go out only when its last trades
   * were not sent yet, and quiet buckets send nothing (Kraken, KuCoin, Poloniex push on trades).
   */
  finalEveryBucket: boolean;
}

export interface FeedRow {
  row: SeriesRow;
  /** The bucket has ended: these are its final values. */
  final: boolean;
}

/** Finals sent at most for this many buckets when the clock jumps far ahead. */
const MAX_CATCH_UP_BUCKETS = 60;

/** A feed starting at `nowMs`: its first rows are what changes after now, never a replay. */
export function createCandleFeed(series: SimSeries, scheme: BucketScheme, nowMs: number): CandleFeed {
  return { series, scheme, openMs: bucketFloor(scheme, nowMs), sentTrades: -1, sentVolumeUnits: -1, sentAtMs: Number.NEGATIVE_INFINITY };
}

/** The rows due at `nowMs`, oldest first; updates `feed`. */
export function advanceFeed(feed: CandleFeed, nowMs: number, options: FeedOptions): FeedRow[] {
  const out: FeedRow[] = [];
  const { series, scheme } = feed;
  const open = bucketFloor(scheme, nowMs);
  if (open > feed.openMs) {
    let b = feed.openMs;
    let skipped = 0;
    for (let x = bucketNext(scheme, b); x < open; x = bucketNext(scheme, x)) skipped++;
    for (; skipped > MAX_CATCH_UP_BUCKETS; skipped--) b = bucketNext(scheme, b);
    for (; b < open; b = bucketNext(scheme, b)) {
      const end = bucketNext(scheme, b);
      const candle = rangeTicks(series, b, end);
      const tracked = b === feed.openMs;
      if (candle !== null) {
        const unsent = !tracked || candle.trades !== feed.sentTrades || candle.volumeUnits !== feed.sentVolumeUnits;
        if (options.finalEveryBucket || unsent) out.push({ row: { openTimeMs: b, endMs: end, candle, previousClose: candle.open, inProgress: false }, final: true });
      } else if (options.finalEveryBucket) {
        const previousClose = previousCloseTicks(series, b);
        if (previousClose !== null) out.push({ row: { openTimeMs: b, endMs: end, candle: null, previousClose, inProgress: false }, final: true });
      }
    }
    feed.sentTrades = -1;
    feed.sentVolumeUnits = -1;
  }
  feed.openMs = open;
  const candle = partialTicks(series, open, nowMs);
  const changed = candle !== null && (candle.trades !== feed.sentTrades || candle.volumeUnits !== feed.sentVolumeUnits);
  if (changed && nowMs - feed.sentAtMs >= options.minGapMs) {
    out.push({ row: { openTimeMs: open, endMs: bucketNext(scheme, open), candle, previousClose: candle.open, inProgress: true }, final: false });
    feed.sentTrades = candle.trades;
    feed.sentVolumeUnits = candle.volumeUnits;
    feed.sentAtMs = nowMs;
  }
  return out;
}

/** The bucket holding now as it stands, even before its first trade (Kraken's snapshot); null before listing. */
export function currentFeedRow(feed: CandleFeed, nowMs: number): SeriesRow | null {
  const open = bucketFloor(feed.scheme, nowMs);
  const end = bucketNext(feed.scheme, open);
  const candle = partialTicks(feed.series, open, nowMs);
  if (candle !== null) return { openTimeMs: open, endMs: end, candle, previousClose: candle.open, inProgress: true };
  const previousClose = previousCloseTicks(feed.series, open);
  return previousClose === null ? null : { openTimeMs: open, endMs: end, candle: null, previousClose, inProgress: true };
}

/** A float rounded to `decimals` and printed with `places` (approximate quote volumes). */
export function approxUnits(value: number, decimals: number): number {
  return Math.round(value * 10 ** decimals);
}
