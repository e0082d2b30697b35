import type { RawCandle } from "./candle.ts";
import { MINUTE_MS } from "./interval.ts";

/** One trade: time in milliseconds, price in the quote currency, volume in the base (the coin). */
export interface Trade {
  timeMs: number;
  price: number;
  volume: number;
}

/**
 * Builds 1-minute candles from trades: open is the first trade of the minute, close the last, high
 * the maximum, low the minimum, volume the sum. A minute without trades gets no candle (feed-forward
 * decides later). Trades with the same time keep their input order, which is the exchange's order.
 */
export function tradesToMinuteCandles(trades: readonly Trade[]): RawCandle[] {
  const sorted = [...trades].sort((a, b) => a.timeMs - b.timeMs);
  const out: RawCandle[] = [];
  let current: RawCandle | undefined;
  for (const t of sorted) {
    const open = Math.floor(t.timeMs / MINUTE_MS) * MINUTE_MS;
    if (current === undefined || current.openTimeMs !== open) {
      current = { openTimeMs: open, open: t.price, high: t.price, low: t.price, close: t.price, volume: t.volume };
      out.push(current);
      continue;
    }
    if (t.price > current.high) current.high = t.price;
    if (t.price < current.low) current.low = t.price;
    current.close = t.price;
    current.volume += t.volume;
  }
  return out;
}
