import { MINUTE_MS } from "../domain/interval.ts";
import { getSeries, minuteTicks, SIM_DEFAULT_SEED, VOLUME_UNITS_PER_COIN, type SimSeries, type TickCandle } from "./price-model.ts";
import { partialTicks, previousCloseTicks, rangeTicks } from "./range-ticks.ts";
import { minuteTrades } from "./trades.ts";

/**
 * The simulator's market data: pure and deterministic from (seed, exchange, coin, minute). Tests
 * compare what the pipeline saved with these functions. Larger candles are built from the traded
 * minutes only (open of the first, close of the last, max high, min low, volume sum).
 */
export { SIM_COINS, simCoinByTicker, type SimCoin } from "./coins.ts";
export { extraCoin, extraCoinTicker, extraCoinTickers, MAX_EXTRA_COINS } from "./extra-coins.ts";
export { findSimMarket, isSimListed, SIM_EXCHANGE_IDS, SIM_LISTINGS, simListedCoins, simListing, type SimExchangeId, type SimMarket } from "./listings.ts";
export { SIM_DEFAULT_SEED, SIM_LISTED_FROM_MS } from "./price-model.ts";

export interface SimCandle {
  openTimeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Base volume (the coin), at most 4 decimals. */
  volume: number;
}

/** The final 1-minute candle, or null when nothing traded in it (or the exchange does not list the coin). */
export function simMinute(exchange: string, coin: string, openTimeMs: number, seed = SIM_DEFAULT_SEED): SimCandle | null {
  assertMinute(openTimeMs);
  const s = getSeries(exchange, coin, seed);
  return s ? toSimCandle(s, minuteTicks(s, openTimeMs)) : null;
}

/**
 * The final candle of `intervalMinutes` opening at `openTimeMs` (any whole minute), or null when no
 * minute in it traded. The endpoints align buckets to the epoch, except weeks (Monday 00:00 UTC)
 * and months (the 1st), as the exchanges do.
 */
export function simBucket(exchange: string, coin: string, intervalMinutes: number, openTimeMs: number, seed = SIM_DEFAULT_SEED): SimCandle | null {
  assertMinute(openTimeMs);
  const s = getSeries(exchange, coin, seed);
  return s ? toSimCandle(s, rangeTicks(s, openTimeMs, openTimeMs + intervalMinutes * MINUTE_MS)) : null;
}

/** Close of the last traded minute that ended at or before `beforeMs`, or null when none (before listing). */
export function simPreviousClose(exchange: string, coin: string, beforeMs: number, seed = SIM_DEFAULT_SEED): number | null {
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
export function simInProgress(exchange: string, coin: string, intervalMinutes: number, nowMs: number, seed = SIM_DEFAULT_SEED): SimCandle | null {
  const s = getSeries(exchange, coin, seed);
  if (!s) return null;
  const size = intervalMinutes * MINUTE_MS;
  return toSimCandle(s, partialTicks(s, Math.floor(nowMs / size) * size, nowMs));
}

/** The trades of one minute made at or before `untilMs` (by default all of them), oldest first, as Kraken's Trades serves them. */
export function simMinuteTrades(
  exchange: string,
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

function assertMinute(openTimeMs: number): void {
  if (!Number.isInteger(openTimeMs) || openTimeMs % MINUTE_MS !== 0) {
    throw new RangeError(`open time ${openTimeMs} is not a whole minute`);
  }
}

/** Price ticks and volume units as the numbers a parser of the wire format would read. */
function toSimCandle(s: SimSeries, c: TickCandle | null): SimCandle | null {
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
