import { MINUTE_MS } from "../domain/interval.ts";
import { partialTicks, previousCloseTicks, rangeTicks } from "./range-ticks.ts";
import { SIM_LISTED_FROM_MS, type SimSeries, type TickCandle } from "./price-model.ts";

/**
 * The rows a candles endpoint returns for a window: native buckets built from the minutes, the
 * still-open bucket as it stands now, and intervals without trades either omitted or carried as
 * rows whose prices are the previous close. Each exchange module only picks the window and formats.
 */

/** How an interval's buckets are laid out: fixed size from an offset (epoch, or Monday for weeks), or calendar months. */
export type BucketScheme = { kind: "fixed"; sizeMs: number; offsetMs: number } | { kind: "month" };

/** Buckets of `minutes` starting at whole multiples since the epoch. */
export function everyMinutes(minutes: number): BucketScheme {
  return { kind: "fixed", sizeMs: minutes * MINUTE_MS, offsetMs: 0 };
}

/** Weeks opening Monday 00:00 UTC (the epoch was a Thursday). */
export const MONDAY_WEEKS: BucketScheme = { kind: "fixed", sizeMs: 7 * 1440 * MINUTE_MS, offsetMs: 4 * 1440 * MINUTE_MS };
export const CALENDAR_MONTHS: BucketScheme = { kind: "month" };

/** Open time of the bucket holding `timeMs`. */
export function bucketFloor(scheme: BucketScheme, timeMs: number): number {
  if (scheme.kind === "month") {
    const d = new Date(timeMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return Math.floor((timeMs - scheme.offsetMs) / scheme.sizeMs) * scheme.sizeMs + scheme.offsetMs;
}

/** Open time of the bucket after the one opening at `openMs` (its exclusive end). */
export function bucketNext(scheme: BucketScheme, openMs: number): number {
  if (scheme.kind === "month") {
    const d = new Date(openMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return openMs + scheme.sizeMs;
}

/** Open time of the bucket `count` buckets before the one opening at `openMs`. */
export function bucketBack(scheme: BucketScheme, openMs: number, count: number): number {
  if (scheme.kind === "month") {
    const d = new Date(openMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - count, 1);
  }
  return openMs - count * scheme.sizeMs;
}

/** Open time of the first bucket opening at or after `timeMs`. */
export function bucketCeil(scheme: BucketScheme, timeMs: number): number {
  const floor = bucketFloor(scheme, timeMs);
  return floor === timeMs ? floor : bucketNext(scheme, floor);
}

export interface SeriesRow {
  openTimeMs: number;
  /** Exclusive end: the next bucket's open. */
  endMs: number;
  /** The bucket's trades, or null when it had none (then `previousClose` fills its prices). */
  candle: TickCandle | null;
  /** Close (ticks) carried into a row without trades. */
  previousClose: number;
  /** Still open at now: its values change until `endMs`. */
  inProgress: boolean;
}

export interface SeriesWindow {
  series: SimSeries;
  scheme: BucketScheme;
  nowMs: number;
  /** Leave out buckets without trades (KuCoin) instead of sending previous-close rows. */
  omitEmpty: boolean;
}

/** The first bucket that can hold data: the one holding the listing start. */
function firstListedOpen(scheme: BucketScheme): number {
  return bucketFloor(scheme, SIM_LISTED_FROM_MS);
}

/**
 * Rows with open time in [fromMs, toMs], oldest first, the first `limit` of them (Binance). Buckets
 * opening after now are never returned; the bucket holding now is returned as it stands.
 */
export function rowsFrom(w: SeriesWindow, fromMs: number, toMs: number, limit: number): SeriesRow[] {
  const rows: SeriesRow[] = [];
  let open = bucketCeil(w.scheme, Math.max(fromMs, firstListedOpen(w.scheme)));
  const last = Math.min(toMs, w.nowMs);
  let previousClose = open <= last && !w.omitEmpty ? previousCloseTicks(w.series, open) : null;
  while (open <= last && rows.length < limit) {
    const end = bucketNext(w.scheme, open);
    const inProgress = end > w.nowMs;
    const candle = inProgress ? partialTicks(w.series, open, w.nowMs) : rangeTicks(w.series, open, end);
    if (candle !== null) {
      rows.push({ openTimeMs: open, endMs: end, candle, previousClose: previousClose ?? candle.open, inProgress });
      previousClose = candle.close;
    } else if (!w.omitEmpty && previousClose !== null) {
      rows.push({ openTimeMs: open, endMs: end, candle: null, previousClose, inProgress });
    }
    open = end;
  }
  return rows;
}

/**
 * Rows with open time in [fromMs, toMs], oldest first, the most recent `limit` of them (Poloniex,
 * KuCoin, and Binance without `startTime`).
 */
export function rowsUpTo(w: SeriesWindow, fromMs: number, toMs: number, limit: number): SeriesRow[] {
  const first = bucketCeil(w.scheme, Math.max(fromMs, firstListedOpen(w.scheme)));
  const lastOpen = bucketFloor(w.scheme, Math.min(toMs, w.nowMs));
  if (lastOpen < first || limit <= 0) return [];
  if (!w.omitEmpty) {
    // Rows are contiguous from the first traded bucket on: count back from the end.
    return rowsFrom(w, Math.max(first, bucketBack(w.scheme, lastOpen, limit - 1)), lastOpen, limit);
  }
  const rows: SeriesRow[] = [];
  for (let open = lastOpen; open >= first && rows.length < limit; open = bucketBack(w.scheme, open, 1)) {
    const end = bucketNext(w.scheme, open);
    const inProgress = end > w.nowMs;
    const candle = inProgress ? partialTicks(w.series, open, w.nowMs) : rangeTicks(w.series, open, end);
    if (candle !== null) rows.push({ openTimeMs: open, endMs: end, candle, previousClose: candle.open, inProgress });
  }
  return rows.reverse();
}

/** The row of the bucket holding now, even without trades yet (Kraken always ends with it); null before listing. */
export function currentRow(w: SeriesWindow): SeriesRow | null {
  const open = bucketFloor(w.scheme, w.nowMs);
  const end = bucketNext(w.scheme, open);
  const candle = partialTicks(w.series, open, w.nowMs);
  if (candle !== null) return { openTimeMs: open, endMs: end, candle, previousClose: candle.open, inProgress: true };
  const previousClose = previousCloseTicks(w.series, open);
  return previousClose === null ? null : { openTimeMs: open, endMs: end, candle: null, previousClose, inProgress: true };
}
