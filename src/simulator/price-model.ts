import { MINUTE_MS } from "../domain/interval.ts";
import { simCoinByTicker, type SimCoin } from "./coins.ts";
import { extraCoin, isExtraCoinListed } from "./extra-coins.ts";
import { isSimListed, type SimExchangeId } from "./listings.ts";
import { hashAt, hashString, mix32, unitAt } from "./noise.ts";

/**
 * The price model of one (exchange, coin) series: a smooth per-coin price path (value noise at
 * several scales, shared by all exchanges) with a small per-exchange premium, and hash noise for
 * each minute's high, low, volume and trade count. Every minute is computed on its own, from the
 * seed and its index, without iterating from an origin.
 */

/** Data starts here on every exchange: nothing trades before it (Kraken's `since=0` starts here too). */
export const SIM_LISTED_FROM_MS = Date.UTC(2020, 0, 1);
export const SIM_DEFAULT_SEED = 1;

/** Volumes are whole multiples of this many units per coin: 1e-4, so they sum exactly as integers. */
export const VOLUME_UNITS_PER_COIN = 10_000;

/** A no-trade run never reaches this many minutes: every series trades at least once in each such cycle. */
export const FORCED_TRADE_EVERY_MINUTES = 24;

/** A candle in exact integers: prices in ticks of 10^-decimals, volume in 1e-4 of the coin. */
export interface TickCandle {
  openTimeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volumeUnits: number;
  trades: number;
  /** Traded value in the quote currency (approximate, not part of the exactness contract). */
  quoteVolume: number;
  /** Volume of trades where the taker bought, in volume units. */
  takerBuyUnits: number;
}

export interface SimSeries {
  exchange: SimExchangeId;
  coin: string;
  seed: number;
  /** Hash key of the series (exchange-specific noise). */
  key: number;
  /** Hash key of the coin (the price path all exchanges share). */
  coinKey: number;
  /** Price decimals: a price is `ticks / tickScale`. */
  decimals: number;
  tickScale: number;
  basePrice: number;
  /** Daily volatility of the log price. */
  volatility: number;
  typicalVolumeUnits: number;
  tradeActivity: number;
  emptyRate: number;
  forcedPhase: number;
  /** Shift of the daily activity cycle, in radians. */
  dayPhase: number;
  premiumOffset: number;
  /** Memoised aggregates of whole hours and days (immutable data, keyed by open time). */
  hours: Map<number, TickCandle | null>;
  days: Map<number, TickCandle | null>;
  /** Per noise slot, the lattice cell last used and its two end values: neighbouring minutes share them. */
  latticeCell: Int32Array;
  latticeFrom: Float64Array;
  latticeTo: Float64Array;
  lastPathMinute: number;
  lastPathPrice: number;
}

interface ExchangeProfile {
  /** Share of the coin's volume traded here. */
  volumeShare: number;
  /** Multiplier of the no-trade minute rate: thinner books have more empty minutes. */
  emptiness: number;
  /** Constant price premium against the common path. */
  premium: number;
  salt: number;
}

const PROFILES: Record<SimExchangeId, ExchangeProfile> = {
  binance: { volumeShare: 1, emptiness: 1, premium: 0, salt: 1 },
  kraken: { volumeShare: 0.15, emptiness: 1.6, premium: 0.0003, salt: 2 },
  kucoin: { volumeShare: 0.3, emptiness: 1.3, premium: -0.0002, salt: 3 },
  poloniex: { volumeShare: 0.05, emptiness: 2.2, premium: 0.0005, salt: 4 },
  okx: { volumeShare: 0.4, emptiness: 1.2, premium: 0.0001, salt: 5 },
  coinbase: { volumeShare: 0.25, emptiness: 1.4, premium: 0.0002, salt: 6 },
  bybit: { volumeShare: 0.35, emptiness: 1.25, premium: -0.0001, salt: 7 },
};

const STABLECOINS = new Set(["USDT", "USDC", "DAI", "USDE", "FDUSD"]);
const MEME_COINS = new Set(["DOGE", "SHIB", "PEPE", "BONK", "FLOKI", "WIF"]);
/** Always trade: the majors tests compare minute by minute. */
const ALWAYS_TRADED = new Set(["BTC", "ETH"]);
/** Made to have empty minutes on every exchange, so tests meet them on popular coins. */
const SOMETIMES_EMPTY = new Set(["DOGE", "NEO"]);
const MAX_EMPTY_RATE = 0.2;
const MAX_VOLUME_UNITS = 1_000_000 * VOLUME_UNITS_PER_COIN;

/** Octaves of the common price path: period in minutes, amplitude in daily volatilities. */
const OCTAVES: readonly (readonly [number, number])[] = [
  [129_600, 4],
  [20_160, 2.5],
  [2_880, 1.2],
  [360, 0.5],
  [60, 0.2],
  [12, 0.08],
];

const seriesCache = new Map<string, SimSeries | null>();

/** A real coin, or a synthetic extra one (`X0042`): every synthetic coin has market data, whatever a simulator lists. */
function coinInfo(coin: string): SimCoin | undefined {
  return simCoinByTicker(coin) ?? extraCoin(coin);
}

/** Decimals of a coin's prices: about six significant digits at its typical price, 2 to 8. */
export function priceDecimals(coin: string): number {
  const price = coinInfo(coin)?.priceUsd ?? 1;
  return Math.min(8, Math.max(2, 5 - Math.floor(Math.log10(price))));
}

/** The series of a coin on an exchange, or undefined when that exchange does not list the coin. */
export function getSeries(exchange: string, coin: string, seed: number): SimSeries | undefined {
  const cacheKey = `${seed}|${exchange}|${coin}`;
  let series = seriesCache.get(cacheKey);
  if (series === undefined) {
    series = createSeries(exchange, coin, seed);
    seriesCache.set(cacheKey, series);
  }
  return series ?? undefined;
}

function createSeries(exchange: string, coin: string, seed: number): SimSeries | null {
  const info = coinInfo(coin);
  if (!info || !(isSimListed(exchange, coin) || isExtraCoinListed(exchange, coin))) return null;
  const profile = PROFILES[exchange as SimExchangeId];
  const key = hashString(`${seed}:${exchange}:${coin}`);
  const decimals = priceDecimals(coin);
  const quotePerMinute = Math.max(50, info.marketCap * 1e-7);
  const coinUnits = Math.min(MAX_VOLUME_UNITS, (quotePerMinute / info.priceUsd) * VOLUME_UNITS_PER_COIN);
  const typicalVolumeUnits = Math.max(40, Math.round(coinUnits * profile.volumeShare));
  const rank = info.rank ?? 100;
  let emptyRate = ALWAYS_TRADED.has(coin) ? 0 : (profile.emptiness * rank) / 400;
  if (SOMETIMES_EMPTY.has(coin)) emptyRate = Math.max(emptyRate, 0.06 * profile.emptiness);
  return {
    exchange: exchange as SimExchangeId,
    coin,
    seed,
    key,
    coinKey: hashString(`${seed}:${coin}`),
    decimals,
    tickScale: 10 ** decimals,
    basePrice: info.priceUsd,
    volatility: STABLECOINS.has(coin) ? 0.0005 : coin === "BTC" || coin === "WBTC" ? 0.025 : coin === "ETH" ? 0.035 : MEME_COINS.has(coin) ? 0.07 : 0.05,
    typicalVolumeUnits,
    tradeActivity: 8 + 40 * profile.volumeShare,
    emptyRate: Math.min(MAX_EMPTY_RATE, emptyRate),
    forcedPhase: key % FORCED_TRADE_EVERY_MINUTES,
    dayPhase: (key % 628) / 100,
    premiumOffset: profile.premium,
    hours: new Map(),
    days: new Map(),
    latticeCell: new Int32Array(LATTICE_SLOTS).fill(-1),
    latticeFrom: new Float64Array(LATTICE_SLOTS),
    latticeTo: new Float64Array(LATTICE_SLOTS),
    lastPathMinute: Number.NaN,
    lastPathPrice: 0,
  };
}

/** Slow noises of the series besides the path octaves: slot and period in minutes. */
const PREMIUM_SLOT = OCTAVES.length;
const EMPTY_CLUSTER_SLOT = OCTAVES.length + 1;
const ACTIVITY_SLOT = OCTAVES.length + 2;
const SLOT_PERIODS = [...OCTAVES.map(([period]) => period), 240, 45, 300];
const LATTICE_SLOTS = SLOT_PERIODS.length;
const INVERSE_PERIODS = SLOT_PERIODS.map((period) => 1 / period);
const UNIT = 1 / 4294967296;
const AMPLITUDES = OCTAVES.map(([, amplitude]) => amplitude);

/**
 * Smooth value noise in [-1, 1]: random values at whole multiples of the slot's period, joined by a
 * smoothstep, so the path has no jumps between minutes. The last lattice cell per slot is
 * remembered: a page of candles walks through the same cells, so most minutes hash nothing.
 */
function cachedNoise(s: SimSeries, slot: number, key: number, minutes: number): number {
  const x = minutes * INVERSE_PERIODS[slot]!;
  const i = Math.floor(x);
  const f = x - i;
  if (s.latticeCell[slot] !== i) {
    s.latticeCell[slot] = i;
    s.latticeFrom[slot] = unitAt(key, i, slot) * 2 - 1;
    s.latticeTo[slot] = unitAt(key, i + 1, slot) * 2 - 1;
  }
  const a = s.latticeFrom[slot]!;
  return a + (s.latticeTo[slot]! - a) * (f * f * (3 - 2 * f));
}

/** The smooth price of the series at a whole minute since the epoch (the last one is remembered). */
function pathPrice(s: SimSeries, minutes: number): number {
  if (s.lastPathMinute === minutes) return s.lastPathPrice;
  let log = 0;
  for (let k = 0; k < AMPLITUDES.length; k++) log += AMPLITUDES[k]! * cachedNoise(s, k, s.coinKey, minutes);
  const premium = s.premiumOffset + 0.0006 * cachedNoise(s, PREMIUM_SLOT, s.key, minutes);
  const price = s.basePrice * Math.exp(log * s.volatility) * (1 + premium);
  s.lastPathMinute = minutes;
  s.lastPathPrice = price;
  return price;
}

/** Whether anything traded in minute `index` (minutes since the epoch). */
function traded(s: SimSeries, index: number): boolean {
  if (s.emptyRate === 0) return true;
  if ((index + s.forcedPhase) % FORCED_TRADE_EVERY_MINUTES === 0) return true;
  if (index * MINUTE_MS === SIM_LISTED_FROM_MS) return true;
  // Empty minutes come in clusters: the rate itself wanders around its mean.
  const rate = s.emptyRate * (1 + 0.8 * cachedNoise(s, EMPTY_CLUSTER_SLOT, s.key, index));
  return unitAt(s.key, index, 11) >= rate;
}

/** The `k`-th uniform draw in [0, 1) from a minute's hash. */
function draw(h: number, k: number): number {
  return mix32(h + Math.imul(k, 0x9e3779b9)) * UNIT;
}

/** The final 1-minute candle opening at `openTimeMs` (minute-aligned), or null when nothing traded. */
export function minuteTicks(s: SimSeries, openTimeMs: number): TickCandle | null {
  if (openTimeMs < SIM_LISTED_FROM_MS) return null;
  const index = openTimeMs / MINUTE_MS;
  if (!traded(s, index)) return null;
  const scale = s.tickScale;
  // One hash per minute, stretched into the few uniform draws the minute needs.
  const h = hashAt(s.key, index, 0);
  const tickNoise = s.volatility * 0.002;
  const o = pathPrice(s, index) * (1 + tickNoise * (draw(h, 1) * 2 - 1));
  // The next minute asks for this path point as its open, so it is computed last and remembered.
  const c = pathPrice(s, index + 1) * (1 + tickNoise * (draw(h, 2) * 2 - 1));
  const range = (s.volatility / 38) * (0.2 + draw(h, 3));
  const open = Math.max(1, Math.round(o * scale));
  const close = Math.max(1, Math.round(c * scale));
  const high = Math.max(open, close, Math.round(Math.max(o, c) * (1 + range * draw(h, 4)) * scale));
  const low = Math.max(1, Math.min(open, close, Math.round(Math.min(o, c) * (1 - range * draw(h, 5)) * scale)));
  // Activity follows the time of day and a slow swell; a single minute varies around it.
  const minuteOfDay = index - Math.floor(index / 1440) * 1440;
  const activity = (1 + 0.35 * Math.sin(minuteOfDay * ((2 * Math.PI) / 1440) + s.dayPhase)) * (1 + 0.5 * cachedNoise(s, ACTIVITY_SLOT, s.key, index));
  const trades = Math.min(60, 4 + Math.floor(draw(h, 6) * s.tradeActivity * activity));
  const volumeUnits = Math.max(trades, Math.round(s.typicalVolumeUnits * activity * (0.3 + 1.4 * draw(h, 7))));
  const typical = (open + high + low + close) / 4 / scale;
  return {
    openTimeMs,
    open,
    high,
    low,
    close,
    volumeUnits,
    trades,
    quoteVolume: (volumeUnits / VOLUME_UNITS_PER_COIN) * typical,
    takerBuyUnits: Math.floor(volumeUnits * (0.3 + 0.4 * draw(h, 8))),
  };
}

/** Volume-weighted average price in ticks, kept within the candle's range. */
export function vwapTicks(s: SimSeries, c: TickCandle): number {
  const vwap = Math.round((c.quoteVolume / (c.volumeUnits / VOLUME_UNITS_PER_COIN)) * s.tickScale);
  return Math.min(c.high, Math.max(c.low, vwap));
}
