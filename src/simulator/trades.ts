import { MINUTE_MS } from "../domain/interval.ts";
import { unitAt } from "./noise.ts";
import { SIM_LISTED_FROM_MS, VOLUME_UNITS_PER_COIN, type SimSeries, type TickCandle } from "./price-model.ts";

/**
 * The trades behind a minute candle: the first trade is at the open, the last at the close, one at
 * the high and one at the low, and the volumes add up exactly (integer units) to the candle's.
 * The in-progress candle is these trades up to now, so it grows as the minute runs.
 */
export interface SimTrade {
  /** Time in tenths of a millisecond since the epoch (exact as an integer). */
  timeTenthMs: number;
  /** Price in ticks of the series. */
  price: number;
  volumeUnits: number;
  side: "b" | "s";
  orderType: "m" | "l";
  /** Increasing with time within a series (not contiguous). */
  id: number;
}

const TENTHS_PER_MINUTE = MINUTE_MS * 10;
/** Trade ids leave room for this many trades per minute. */
const IDS_PER_MINUTE = 64;

/** All trades of a traded minute, oldest first. `candle` must be that minute's `minuteTicks`. */
export function minuteTrades(s: SimSeries, candle: TickCandle): SimTrade[] {
  const n = candle.trades;
  const index = candle.openTimeMs / MINUTE_MS;
  const key = s.key ^ 0x5bd1e995;
  const u = (salt: number) => unitAt(key, index, salt);
  // Times: the first within 0.1–3 s, the last within 57–59.9 s, the rest spread between.
  const first = 1_000 + Math.floor(u(1) * 29_000);
  const last = 570_000 + Math.floor(u(2) * 29_000);
  const spacing = (last - first) / (n - 1);
  // The high and the low sit at two distinct inner positions.
  const highAt = 1 + Math.floor(u(3) * (n - 2));
  const lowAt = 1 + ((highAt - 1 + 1 + Math.floor(u(4) * (n - 3))) % (n - 2));
  const weights: number[] = [];
  let weightSum = 0;
  for (let i = 0; i < n; i++) {
    const w = 1 + Math.floor(unitAt(key, index * IDS_PER_MINUTE + i, 5) * 16);
    weights.push(w);
    weightSum += w;
  }
  const spare = candle.volumeUnits - n;
  const trades: SimTrade[] = [];
  let allocated = 0;
  const base = candle.openTimeMs * 10;
  const firstId = (index - SIM_LISTED_FROM_MS / MINUTE_MS) * IDS_PER_MINUTE + 1;
  for (let i = 0; i < n; i++) {
    const h = unitAt(key, index * IDS_PER_MINUTE + i, 6);
    let offset = first + Math.round(spacing * i);
    if (i > 0 && i < n - 1) offset += Math.round((h - 0.5) * (spacing / 2));
    let price: number;
    if (i === 0) price = candle.open;
    else if (i === n - 1) price = candle.close;
    else if (i === highAt) price = candle.high;
    else if (i === lowAt) price = candle.low;
    else price = candle.low + Math.floor(unitAt(key, index * IDS_PER_MINUTE + i, 7) * (candle.high - candle.low + 1));
    const volumeUnits = 1 + Math.floor((spare * weights[i]!) / weightSum);
    allocated += volumeUnits;
    trades.push({
      timeTenthMs: base + offset,
      price,
      volumeUnits,
      side: h < 0.5 ? "b" : "s",
      orderType: unitAt(key, index * IDS_PER_MINUTE + i, 8) < 0.5 ? "m" : "l",
      id: firstId + i,
    });
  }
  // Rounding left a few units over: the first trade takes them, so the sum is exact.
  trades[0]!.volumeUnits += candle.volumeUnits - allocated;
  return trades;
}

/** The candle of the trades of a minute made up to `nowMs` (inclusive), or null before the first. */
export function partialMinute(s: SimSeries, candle: TickCandle, nowMs: number): TickCandle | null {
  const limit = (nowMs - candle.openTimeMs) * 10;
  if (limit >= TENTHS_PER_MINUTE) return candle;
  let out: TickCandle | null = null;
  for (const t of minuteTrades(s, candle)) {
    if (t.timeTenthMs - candle.openTimeMs * 10 > limit) break;
    const value = (t.volumeUnits / VOLUME_UNITS_PER_COIN) * (t.price / s.tickScale);
    const taker = t.side === "b" ? t.volumeUnits : 0;
    if (out === null) {
      out = {
        openTimeMs: candle.openTimeMs,
        open: t.price,
        high: t.price,
        low: t.price,
        close: t.price,
        volumeUnits: t.volumeUnits,
        trades: 1,
        quoteVolume: value,
        takerBuyUnits: taker,
      };
    } else {
      if (t.price > out.high) out.high = t.price;
      if (t.price < out.low) out.low = t.price;
      out.close = t.price;
      out.volumeUnits += t.volumeUnits;
      out.trades += 1;
      out.quoteVolume += value;
      out.takerBuyUnits += taker;
    }
  }
  return out;
}
