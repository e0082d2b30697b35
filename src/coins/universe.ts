/** Which coins to collect: the top N by market cap plus the coins the user names. Pure. */

export interface RankedCoin {
  /** CoinGecko id: `bitcoin`, `optimism`. */
  id: string;
  /** Ticker, upper case: `BTC`, `OP`. */
  symbol: string;
  name: string;
  marketCap: number | null;
  rank: number | null;
}

export interface Universe {
  /** Tickers in rank order, top N first, then the named ones not already in. */
  coins: RankedCoin[];
  /** Names from `list_coins_to_poll` that matched no coin. */
  unresolved: string[];
}

/**
 * Resolves a user's name for a coin (`Optimism`, `optimism`, `OP`, `Neo`) against the ranking:
 * CoinGecko id first, then name, then ticker (tickers are not unique: the largest cap wins).
 */
export function resolveCoinName(name: string, ranking: readonly RankedCoin[]): RankedCoin | undefined {
  const wanted = name.trim().toLowerCase();
  return ranking.find((c) => c.id === wanted) ?? ranking.find((c) => c.name.toLowerCase() === wanted) ?? byCap(ranking.filter((c) => c.symbol.toLowerCase() === wanted))[0];
}

/** Top N by market cap (coins with no cap rank last), plus the named coins. */
export function buildUniverse(ranking: readonly RankedCoin[], topN: number, named: readonly string[]): Universe {
  const coins: RankedCoin[] = [];
  const seen = new Set<string>();
  const add = (c: RankedCoin) => {
    if (seen.has(c.symbol)) return;
    seen.add(c.symbol);
    coins.push(c);
  };
  for (const c of byCap(ranking).slice(0, topN)) add(c);
  const unresolved: string[] = [];
  for (const name of named) {
    const c = resolveCoinName(name, ranking);
    if (c) add(c);
    else unresolved.push(name);
  }
  return { coins, unresolved };
}

function byCap(coins: readonly RankedCoin[]): RankedCoin[] {
  const key = (c: RankedCoin) => c.rank ?? Number.POSITIVE_INFINITY;
  return [...coins].sort((a, b) => (b.marketCap ?? -1) - (a.marketCap ?? -1) || key(a) - key(b));
}
