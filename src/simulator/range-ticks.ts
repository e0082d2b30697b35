import { MINUTE_MS } from "../domain/interval.ts";
import { FORCED_TRADE_EVERY_MINUTES, minuteTicks, SIM_LISTED_FROM_MS, type SimSeries, type TickCandle } from "./price-model.ts";
import { partialMinute } from "./trades.ts";

/**
 * Candles of any minute-aligned range, built from the final minutes: whole days and hours are
 * memoised (the data never changes), so a page of daily or monthly candles is cheap after the first.
 */

const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Memoised hour and day aggregates across all series; dropped wholesale past this many. */
const MAX_CACHED_AGGREGATES = 400_000;
let cachedAggregates = 0;

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
