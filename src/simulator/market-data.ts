import type { ExchangeId } from "../domain/candle.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import {
  FORCED_TRADE_EVERY_MINUTES,
  getSeries,
  minuteTicks,
  SIM_DEFAULT_SEED,
  SIM_LISTED_FROM_MS,
  VOLUME_UNITS_PER_COIN,
  type SimSeries,
  type TickCandle,
} from "./price-model.ts";
import { minuteTrades, partialMinute, type SimTrade } from "./trades.ts";

/**
 * The simulator's market data: pure and deterministic from (seed, exchange, coin, minute). Tests
 * compare what the pipeline saved with these functions. Larger candles are built from the traded
 * minutes only (open of the first, close of the last, max high, min low, volume sum).
 */
export { SIM_COINS, simCoinByTicker, type SimCoin } from "./coins.ts";
export { findSimMarket, isSimListed, SIM_LISTINGS, simListedCoins, type SimMarket } from "./listings.ts";
export { SIM_DEFAULT_SEED, SIM_LISTED_FROM_MS, type TickCandle } from "./price-model.ts";

export interface SimCandle {
  openTimeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Base volume (the coin), at most 4 decimals. */
  volume: number;
}

const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Memoised hour and day aggregates across all series; dropped wholesale past this many. */
const MAX_CACHED_AGGREGATES = 400_000;
let cachedAggregates = 0;

/** The final 1-minute candle, or null when nothing traded in it (or the exchange does not list the coin). */
export function simMinute(exchange: ExchangeId, coin: string, openTimeMs: number, seed = SIM_DEFAULT_SEED): SimCandle | null {
  assertMinute(openTimeMs);
  const s = getSeries(exchange, coin, seed);
  return s ? toSimCandle(s, minuteTicks(s, openTimeMs)) : null;
}

/**
 * The final candle of `intervalMinutes` opening at `openTimeMs` (minute-aligned; the endpoints use
 * epoch-aligned buckets except Binance `1w`/`1M`), or null when no minute in it traded.
 */
export function simBucket(
  exchange: ExchangeId,
  coin: string,
  intervalMinutes: number,
  openTimeMs: number,
  seed = SIM_DEFAULT_SEED,
): SimCandle | null {
  assertMinute(openTimeMs);
  const s = getSeries(exchange, coin, seed);
  return s ? toSimCandle(s, rangeTicks(s, openTimeMs, openTimeMs + intervalMinutes * MINUTE_MS)) : null;
}

/** Close of the last traded minute that ended at or before `beforeMs`, or null when none (before listing). */
export function simPreviousClose(exchange: ExchangeId, coin: string, beforeMs: number, seed = SIM_DEFAULT_SEED): number | null {
  const s = getSeries(exchange, coin, seed);
  if (!s) return null;
  const close = previousCloseTicks(s, beforeMs);
  return close === null ? null : close / s.tickScale;
}

/**
 * The still-open candle of the epoch-aligned bucket of `intervalMinutes` holding `nowMs`: the final
 * minutes so far plus the current minute's trades up to now. It differs from the final candle until
 * the bucket's last trade. Null when nothing has traded in the bucket yet.
 */
export function simInProgress(
  exchange: ExchangeId,
  coin: string,
  intervalMinutes: number,
  nowMs: number,
  seed = SIM_DEFAULT_SEED,
): SimCandle | null {
  const s = getSeries(exchange, coin, seed);
  if (!s) return null;
  const size = intervalMinutes * MINUTE_MS;
  return toSimCandle(s, partialTicks(s, Math.floor(nowMs / size) * size, nowMs));
}

/** The trades of one minute up to `untilMs` (exclusive end of the minute by default), oldest first. */
export function simMinuteTrades(
  exchange: ExchangeId,
  coin: string,
  openTimeMs: number,
  untilMs = openTimeMs + MINUTE_MS,
  seed = SIM_DEFAULT_SEED,
): { timeMs: number; price: number; volume: number }[] {
  assertMinute(openTimeMs);
  const s = getSeries(exchange, coin, seed);
  const candle = s ? minuteTicks(s, openTimeMs) : null;
  if (!s || !candle) return [];
  return minuteTrades(s, candle)
    .filter((t) => t.timeTenthMs <= untilMs * 10)
    .map((t) => ({ timeMs: t.timeTenthMs / 10, price: t.price / s.tickScale, volume: t.volumeUnits / VOLUME_UNITS_PER_COIN }));
}

export type { SimTrade };

function assertMinute(openTimeMs: number): void {
  if (!Number.isInteger(openTimeMs) || openTimeMs % MINUTE_MS !== 0) {
    throw new RangeError(`open time ${openTimeMs} is not a whole minute`);
  }
}

/** Price ticks and volume units as the numbers a parser of the wire format would read. */
export function toSimCandle(s: SimSeries, c: TickCandle | null): SimCandle | null {
  if (c === null) return null;
  const scale = s.tickScale;
  return {
    openTimeMs: c.openTimeMs,
    open: c.open / scale,
    high: c.high / scale,
    low: c.low / scale,
    close: c.close / scale,
    volume: c.volumeUnits / VOLUME_UNITS_PER_COIN,
  };
}

/** Adds `part` (later in time) into `acc`, which the caller owns. */
function mergeInto(acc: TickCandle, part: TickCandle): void {
  if (part.high > acc.high) acc.high = part.high;
  if (part.low < acc.low) acc.low = part.low;
  acc.close = part.close;
  acc.volumeUnits += part.volumeUnits;
  acc.trades += part.trades;
  acc.quoteVolume += part.quoteVolume;
  acc.takerBuyUnits += part.takerBuyUnits;
}

function remember(cache: Map<number, TickCandle | null>, openMs: number, value: TickCandle | null): TickCandle | null {
  if (cachedAggregates >= MAX_CACHED_AGGREGATES) {
    clearAggregateCaches(cache);
  }
  cache.set(openMs, value);
  cachedAggregates++;
  return value;
}

const allCaches = new Set<Map<number, TickCandle | null>>();
function clearAggregateCaches(current: Map<number, TickCandle | null>): void {
  for (const cache of allCaches) cache.clear();
  allCaches.clear();
  allCaches.add(current);
  cachedAggregates = 0;
}

function hourTicks(s: SimSeries, openMs: number): TickCandle | null {
  const hit = s.hours.get(openMs);
  if (hit !== undefined) return hit;
  allCaches.add(s.hours);
  return remember(s.hours, openMs, sumMinutes(s, openMs, openMs + HOUR_MS));
}

function dayTicks(s: SimSeries, openMs: number): TickCandle | null {
  const hit = s.days.get(openMs);
  if (hit !== undefined) return hit;
  allCaches.add(s.days);
  let acc: TickCandle | null = null;
  if (openMs + DAY_MS > SIM_LISTED_FROM_MS) {
    for (let t = openMs; t < openMs + DAY_MS; t += HOUR_MS) acc = accumulate(acc, hourTicks(s, t));
  }
  return remember(s.days, openMs, acc);
}

function sumMinutes(s: SimSeries, startMs: number, endMs: number): TickCandle | null {
  let acc: TickCandle | null = null;
  for (let t = Math.max(startMs, SIM_LISTED_FROM_MS); t < endMs; t += MINUTE_MS) acc = accumulate(acc, minuteTicks(s, t));
  return acc;
}

function accumulate(acc: TickCandle | null, part: TickCandle | null): TickCandle | null {
  if (part === null) return acc;
  if (acc === null) return { ...part };
  mergeInto(acc, part);
  return acc;
}

/**
 * The aggregate of the final minutes in [startMs, endMs) (both minute-aligned), built from whole
 * days and hours where they fit (memoised) and single minutes at the edges. Null when none traded.
 */
export function rangeTicks(s: SimSeries, startMs: number, endMs: number): TickCandle | null {
  let acc: TickCandle | null = null;
  let t = Math.max(startMs, Math.floor(SIM_LISTED_FROM_MS / DAY_MS) * DAY_MS);
  while (t < endMs) {
    if (t % DAY_MS === 0 && t + DAY_MS <= endMs) {
      acc = accumulate(acc, dayTicks(s, t));
      t += DAY_MS;
    } else if (t % HOUR_MS === 0 && t + HOUR_MS <= endMs) {
      acc = accumulate(acc, hourTicks(s, t));
      t += HOUR_MS;
    } else {
      acc = accumulate(acc, minuteTicks(s, t));
      t += MINUTE_MS;
    }
  }
  if (acc !== null) acc.openTimeMs = startMs;
  return acc;
}

/** The bucket opening at `openMs` as it stands at `nowMs`: final minutes so far plus the current minute's trades. */
export function partialTicks(s: SimSeries, openMs: number, nowMs: number): TickCandle | null {
  const currentMinute = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const acc = rangeTicks(s, openMs, currentMinute);
  const minute = minuteTicks(s, currentMinute);
  const partial = minute === null ? null : partialMinute(s, minute, nowMs);
  const out = accumulate(acc, partial);
  if (out !== null) out.openTimeMs = openMs;
  return out;
}

/** Close (ticks) of the last traded minute ending at or before `beforeMs`; the search is bounded by the forced-trade cycle. */
export function previousCloseTicks(s: SimSeries, beforeMs: number): number | null {
  const last = Math.floor(beforeMs / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  const stop = Math.max(SIM_LISTED_FROM_MS, last - FORCED_TRADE_EVERY_MINUTES * MINUTE_MS);
  for (let t = last; t >= stop; t -= MINUTE_MS) {
    const c = minuteTicks(s, t);
    if (c !== null) return c.close;
  }
  return null;
}

/** The series behind an (exchange, coin), for the endpoint modules. */
export { getSeries, minuteTicks, minuteTrades, type SimSeries };
