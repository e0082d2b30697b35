/**
 * CoinGecko's market-cap ranking, with the bundled ranking as the fallback when it cannot be reached.
 * @see https://docs.coingecko.com/reference/coins-markets
 */
import { z } from "zod";
import { describeError } from "../errors.ts";
import type { ExchangeClient } from "../http/client.ts";
import type { Logger } from "../telemetry/log.ts";
import { parseWire } from "../exchanges/wire.ts";
import bundled from "./bundled-ranking.json" with { type: "json" };
import type { RankedCoin } from "./universe.ts";

const CoinGeckoMarket = z.looseObject({
  id: z.string(),
  symbol: z.string(),
  name: z.string(),
  market_cap: z.number().nullable().optional(),
  // Can be null: never assume rank = position.
  market_cap_rank: z.number().nullable().optional(),
});
const CoinGeckoMarkets = z.array(CoinGeckoMarket);
const CoinGeckoList = z.array(z.looseObject({ id: z.string(), symbol: z.string(), name: z.string() }));

export const COINGECKO_BUDGET = { refillPerSecond: 0.4, burst: 3 };

export function parseCoinGeckoMarkets(body: unknown): RankedCoin[] {
  return parseWire(CoinGeckoMarkets, body, "coingecko coins/markets").map((c) => ({
    id: c.id,
    symbol: c.symbol.toUpperCase(),
    name: c.name,
    marketCap: c.market_cap ?? null,
    rank: c.market_cap_rank ?? null,
  }));
}

export function bundledRanking(): { asOf: string; coins: RankedCoin[] } {
  return {
    asOf: bundled.as_of,
    coins: bundled.coins.map((c) => ({ id: c.id, symbol: c.symbol.toUpperCase(), name: c.name, marketCap: null, rank: c.rank })),
  };
}

/** Named coins looked up per request: CoinGecko's largest page (and a URL of a sane length). */
const NAMED_PER_REQUEST = 250;

/**
 * The ranking: CoinGecko's top 250, plus the named coins it did not include (looked up through
 * `/coins/list`). Falls back to the bundled ranking, with one log line, when CoinGecko fails.
 */
export async function fetchRanking(
  client: ExchangeClient,
  named: readonly string[],
  logger: Logger,
  apiKey?: string,
): Promise<{ coins: RankedCoin[]; source: "coingecko" | "bundled" }> {
  const keyQuery: Record<string, string> = apiKey ? { x_cg_demo_api_key: apiKey } : {};
  try {
    const top = await client.request(
      { path: "/api/v3/coins/markets", query: { vs_currency: "usd", order: "market_cap_desc", per_page: 250, page: 1, ...keyQuery }, weight: 1, label: "top 250" },
      parseCoinGeckoMarkets,
    );
    const known = (n: string) => {
      const w = n.trim().toLowerCase();
      return top.some((c) => c.id === w || c.name.toLowerCase() === w || c.symbol.toLowerCase() === w);
    };
    const missing = named.filter((n) => !known(n));
    if (missing.length > 0) {
      const list = await client.request({ path: "/api/v3/coins/list", query: keyQuery, weight: 1, label: "coin list" }, (b) => parseWire(CoinGeckoList, b, "coingecko coins/list"));
      const ids = new Set<string>();
      for (const n of missing) {
        const w = n.trim().toLowerCase();
        const hit = list.find((c) => c.id === w) ?? list.find((c) => c.name.toLowerCase() === w) ?? list.find((c) => c.symbol.toLowerCase() === w);
        if (hit) ids.add(hit.id);
      }
      // CoinGecko answers at most per_page coins (100 unless asked): many named coins take several pages.
      const wanted = [...ids];
      for (let i = 0; i < wanted.length; i += NAMED_PER_REQUEST) {
        const batch = wanted.slice(i, i + NAMED_PER_REQUEST);
        const extra = await client.request(
          {
            path: "/api/v3/coins/markets",
            query: { vs_currency: "usd", ids: batch.join(","), per_page: NAMED_PER_REQUEST, page: 1, ...keyQuery },
            weight: 1,
            label: "named coins",
          },
          parseCoinGeckoMarkets,
        );
        top.push(...extra.map((c) => ({ ...c, rank: c.rank ?? null })));
      }
    }
    return { coins: top, source: "coingecko" };
  } catch (error) {
    const fallback = bundledRanking();
    logger.warn("CoinGecko unreachable; using the bundled ranking", { asOf: fallback.asOf, error: describeError(error) });
    return { coins: fallback.coins, source: "bundled" };
  }
}
