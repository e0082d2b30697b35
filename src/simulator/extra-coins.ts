import { SIM_COINS, type SimCoin } from "./coins.ts";
import { SIM_NATIVE_MARKETS, type SimMarket, type SimNativeExchangeId } from "./listings.ts";
import { hashString } from "./noise.ts";

/**
 * Synthetic extra coins, for benchmarks at 1,000 series per exchange (`extraCoins: N`): `X0001`,
 * `X0002`, … (CoinGecko id `synthetic-0001`, name `Synthetic 0001`), ranked after every real coin
 * with smaller market caps, listed on the four native exchanges. Each is a pure function of its
 * ticker, not a registry: the module-level market data (and the tests' oracle) knows every one of
 * them whatever N a simulator was started with; a simulator lists and serves only its first N.
 */
export const MAX_EXTRA_COINS = 5000;

/** The quote each native exchange lists the synthetic coins against (its deepest). */
const EXTRA_COIN_QUOTES: Record<SimNativeExchangeId, string> = { binance: "USDT", kraken: "USD", kucoin: "USDT", poloniex: "USDT" };
export const EXTRA_COIN_EXCHANGES = Object.keys(EXTRA_COIN_QUOTES) as SimNativeExchangeId[];

/** `X` and four digits: no real ticker has that shape (tests check), and the service's coin pattern accepts it. */
const TICKER = /^X([0-9]{4})$/;
const RANKED_REAL_COINS = SIM_COINS.filter((c) => c.rank !== null);
/** The first synthetic cap sits below the smallest real one; each next one is a step lower, still positive at the last. */
const FIRST_MARKET_CAP = Math.floor(Math.min(...RANKED_REAL_COINS.map((c) => c.marketCap)) * 0.8);
const MARKET_CAP_STEP = 50_000;
/** Typical prices span 1e-4 to 1e3 USD, as small caps do. */
const LOWEST_PRICE_EXPONENT = -4;
const PRICE_EXPONENT_SPAN = 7;

/** The `index`-th synthetic ticker (1-based): `X0001`. */
export function extraCoinTicker(index: number): string {
  return `X${String(index).padStart(4, "0")}`;
}

/** The first `count` synthetic tickers, in rank order. */
export function extraCoinTickers(count: number): string[] {
  return Array.from({ length: count }, (_, i) => extraCoinTicker(i + 1));
}

/** The 1-based index of a synthetic ticker, or undefined for any other. */
function extraCoinIndex(ticker: string): number | undefined {
  const match = TICKER.exec(ticker.toUpperCase());
  const index = match ? Number(match[1]) : 0;
  return index >= 1 && index <= MAX_EXTRA_COINS ? index : undefined;
}

/** The synthetic coin a ticker names (`X0042`, any case), or undefined when it names none. */
export function extraCoin(ticker: string): SimCoin | undefined {
  const index = extraCoinIndex(ticker);
  if (index === undefined) return undefined;
  const digits = String(index).padStart(4, "0");
  const unit = hashString(`extra-coin:X${digits}`) / 4294967296;
  return {
    id: `synthetic-${digits}`,
    symbol: `x${digits}`,
    name: `Synthetic ${digits}`,
    marketCap: FIRST_MARKET_CAP - (index - 1) * MARKET_CAP_STEP,
    rank: RANKED_REAL_COINS.length + index,
    priceUsd: Number((10 ** (LOWEST_PRICE_EXPONENT + PRICE_EXPONENT_SPAN * unit)).toPrecision(2)),
  };
}

/** The market of a synthetic coin on a native exchange, named its way (`X0001USDT`, `X0001USD`, `X0001-USDT`, `X0001_USDT`). */
export function extraCoinMarket(exchange: SimNativeExchangeId, ticker: string): SimMarket {
  return SIM_NATIVE_MARKETS[exchange](ticker, EXTRA_COIN_QUOTES[exchange]);
}

/** Whether `exchange` lists the coin as a synthetic one (every native exchange lists every synthetic coin). */
export function isExtraCoinListed(exchange: string, coin: string): boolean {
  return (EXTRA_COIN_EXCHANGES as string[]).includes(exchange) && extraCoinIndex(coin) !== undefined && coin === coin.toUpperCase();
}
