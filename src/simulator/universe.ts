import { SIM_COINS, type SimCoin } from "./coins.ts";
import { EXTRA_COIN_EXCHANGES, extraCoin, extraCoinMarket, extraCoinTickers, MAX_EXTRA_COINS } from "./extra-coins.ts";
import { findSimMarket, SIM_LISTINGS, type SimExchangeId, type SimMarket } from "./listings.ts";

/**
 * What one simulator instance lists: the real coins and markets, plus its `extraCoins` synthetic
 * ones (see extra-coins.ts). The services and streams look markets up here, never in the module
 * tables, so a simulator started without extra coins serves exactly the real ones.
 */
export interface SimUniverse {
  /** The synthetic tickers listed (`X0001`…), in rank order; empty by default. */
  extraTickers: readonly string[];
  /** CoinGecko's coins: the real ranked ones, the synthetic ones (smaller caps), then the unranked. */
  coins: readonly SimCoin[];
  /** Every market each exchange lists, tradable or not: the real ones first, in listing order. */
  listings: Readonly<Record<SimExchangeId, readonly SimMarket[]>>;
  /** The market an exchange symbol names (Kraken: its key or altname), whether or not it is tradable. */
  findMarket(exchange: SimExchangeId, symbol: string): SimMarket | undefined;
}

/** The universe with `extraCoins` synthetic coins (a whole number from 0 to 5000). Throws RangeError otherwise. */
export function createSimUniverse(extraCoins = 0): SimUniverse {
  if (!Number.isInteger(extraCoins) || extraCoins < 0 || extraCoins > MAX_EXTRA_COINS) {
    throw new RangeError(`extraCoins must be a whole number from 0 to ${MAX_EXTRA_COINS}, not ${extraCoins}`);
  }
  if (extraCoins === 0) return { extraTickers: [], coins: SIM_COINS, listings: SIM_LISTINGS, findMarket: findSimMarket };
  const extraTickers = extraCoinTickers(extraCoins);
  const listings = { ...SIM_LISTINGS };
  const extraMarkets = new Map<string, SimMarket>();
  for (const exchange of EXTRA_COIN_EXCHANGES) {
    const markets = extraTickers.map((ticker) => extraCoinMarket(exchange, ticker));
    listings[exchange] = [...SIM_LISTINGS[exchange], ...markets];
    for (const m of markets) {
      extraMarkets.set(`${exchange}|${m.symbol}`, m);
      if (m.altname !== undefined) extraMarkets.set(`${exchange}|${m.altname}`, m);
    }
  }
  const synthetic = extraTickers.map((ticker) => extraCoin(ticker)!);
  const ranked = SIM_COINS.filter((c) => c.rank !== null);
  const unranked = SIM_COINS.filter((c) => c.rank === null);
  return {
    extraTickers,
    coins: [...ranked, ...synthetic, ...unranked],
    listings,
    findMarket: (exchange, symbol) => findSimMarket(exchange, symbol) ?? extraMarkets.get(`${exchange}|${symbol}`),
  };
}
