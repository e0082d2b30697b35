import type { RawCandle } from "./candle.ts";
import { MINUTE_MS } from "./interval.ts";

/**
 * Aggregates candles of a smaller interval into epoch-aligned buckets of `intervalMinutes`:
 * open first, close last, high max, low min, volume sum. Candles with zero volume carry no trade,
 * so they are skipped: a bucket made only of them is absent here and is fed forward later, the same
 * result whether an exchange omits empty candles (KuCoin) or sends them with volume 0 (Binance).
 * Input must be sorted by open time without duplicates; the output is sorted.
 */
export function aggregateCandles(candles: readonly RawCandle[], intervalMinutes: number): RawCandle[] {
  const size = intervalMinutes * MINUTE_MS;
  const out: RawCandle[] = [];
  let current: RawCandle | undefined;
  // The current bucket's span [start, end): a candle inside it needs no division to be placed.
  let start = Number.NaN;
  let end = Number.NaN;
  for (let i = 0, n = candles.length; i < n; i++) {
    const c = candles[i]!;
    const volume = c.volume;
    if (!(volume > 0)) continue;
    const t = c.openTimeMs;
    if (!(t >= start && t < end)) {
      start = t - (t % size);
      end = start + size;
      current = { openTimeMs: start, open: c.open, high: c.high, low: c.low, close: c.close, volume };
      out.push(current);
    } else {
      const b = current!;
      if (c.high > b.high) b.high = c.high;
      if (c.low < b.low) b.low = c.low;
      b.close = c.close;
      b.volume += volume;
    }
  }
  return out;
}

/** Sorts by open time and drops repeated open times (the later copy wins), for pages that overlap. */
export function sortUnique<T extends { openTimeMs: number }>(candles: readonly T[]): T[] {
  // Pages mostly come strictly ascending already: then there is nothing to sort or drop.
  let ascending = true;
  for (let i = 1; i < candles.length && ascending; i++) ascending = candles[i]!.openTimeMs > candles[i - 1]!.openTimeMs;
  if (ascending) return candles.slice();
  const sorted = [...candles].sort((a, b) => a.openTimeMs - b.openTimeMs);
  const out: T[] = [];
  for (const c of sorted) {
    if (out.length > 0 && out[out.length - 1]!.openTimeMs === c.openTimeMs) out[out.length - 1] = c;
    else out.push(c);
  }
  return out;
}
