import type { RawCandle } from "./candle.ts";
import { MINUTE_MS } from "./interval.ts";

/**
 * Aggregates candles of a smaller interval into epoch-aligned buckets of `intervalMinutes`:
 * open first, close last, high max, low min, volume sum. Candles with zero volume carry no trade,
 * so they are skipped: a bucket made only of them is absent here and is fed forward later, the same
 * result whether an exchange omits empty candles (KuCoin) or sends them with volume 0 (Binance).
 * Input must be sorted by open time without duplicates; the output is sorted. Volumes are summed
 * with Neumaier's compensation: the sum's error stays within an ulp or two whatever the number of
 * candles, so rounding it to 15 digits gives the exact decimal sum (docs/numbers.md).
 */
export function aggregateCandles(candles: readonly RawCandle[], intervalMinutes: number): RawCandle[] {
  const size = intervalMinutes * MINUTE_MS;
  const out: RawCandle[] = [];
  let current: RawCandle | undefined;
  // The current bucket's span [start, end): a candle inside it needs no division to be placed.
  let start = Number.NaN;
  let end = Number.NaN;
  /** The current bucket's volume lost to rounding, added back when the bucket is done. */
  let lost = 0;
  for (let i = 0, n = candles.length; i < n; i++) {
    const c = candles[i]!;
    const volume = c.volume;
    if (!(volume > 0)) continue;
    const t = c.openTimeMs;
    if (!(t >= start && t < end)) {
      start = t - (t % size);
      end = start + size;
      if (current) current.volume += lost;
      lost = 0;
      current = { openTimeMs: start, open: c.open, high: c.high, low: c.low, close: c.close, volume };
      out.push(current);
    } else {
      const b = current!;
      if (c.high > b.high) b.high = c.high;
      if (c.low < b.low) b.low = c.low;
      b.close = c.close;
      const sum = b.volume + volume;
      lost += b.volume >= volume ? b.volume - sum + volume : volume - sum + b.volume;
      b.volume = sum;
    }
  }
  if (current) current.volume += lost;
  return out;
}

/** `sortUnique`'s answer: the candles, one per open time, and the copies that disagreed. */
export interface SortedUnique<T> {
  candles: T[];
  /** Every copy of each open time whose copies differ, in open-time order; none of them is in `candles`. */
  conflicts: readonly T[];
}

const NO_CONFLICTS: readonly never[] = Object.freeze([]);

/**
 * Sorts by open time and drops repeated open times, for pages that overlap. A repeat equal to its
 * first copy is dropped. Copies that differ are a conflict: which one is right cannot be told, so
 * none is kept (the caller must not read the open time as quiet) and all are returned in `conflicts`.
 */
export function sortUnique<T extends { openTimeMs: number }>(candles: readonly T[]): SortedUnique<T> {
  // Pages mostly come strictly ascending already: then there is nothing to sort, drop or compare.
  let ascending = true;
  for (let i = 1; i < candles.length && ascending; i++) ascending = candles[i]!.openTimeMs > candles[i - 1]!.openTimeMs;
  if (ascending) return { candles: candles.slice(), conflicts: NO_CONFLICTS };
  const sorted = [...candles].sort((a, b) => a.openTimeMs - b.openTimeMs);
  const out: T[] = [];
  let conflicts: T[] | undefined;
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i]!;
    let end = i + 1;
    let same = true;
    for (; end < sorted.length && sorted[end]!.openTimeMs === first.openTimeMs; end++) same &&= sameFields(first, sorted[end]!);
    if (same) out.push(first);
    else {
      conflicts ??= [];
      for (let k = i; k < end; k++) conflicts.push(sorted[k]!);
    }
    i = end;
  }
  return { candles: out, conflicts: conflicts ?? NO_CONFLICTS };
}

/** Whether two plain objects hold the same values under the same keys. */
function sameFields(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (x[k] !== y[k]) return false;
    keys++;
  }
  for (const _ in y) keys--;
  return keys === 0;
}
