import { simPreviousClose, type SimCoin } from "./market-data.ts";
import type { SimExchangeId } from "./listings.ts";
import { createFixedWindow } from "./rate-window.ts";
import { param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";
import { createSimUniverse, type SimUniverse } from "./universe.ts";

/**
 * CoinGecko (public, keyless): `/api/v3/coins/markets`, `/api/v3/coins/list`, `/api/v3/ping`.
 * Market caps are fixed, so the ranking is stable; two coins have no rank (market cap 0, rank null).
 * 30 calls per minute (fixed window), then 429 with `Retry-After`.
 * @see https://docs.coingecko.com/reference/coins-markets
 */
export const COINGECKO_CALLS_PER_MINUTE = 30;
const MAX_PER_PAGE = 250;
const VS_CURRENCIES: Record<string, number> = { usd: 1, usdt: 1, eur: 0.92 };
const EXCHANGES_BY_DEPTH: readonly SimExchangeId[] = ["binance", "kucoin", "kraken", "poloniex", "okx", "bybit", "coinbase"];

export function createCoingeckoService(seed: number, universe: SimUniverse = createSimUniverse()): SimService {
  const calls = createFixedWindow(60_000);

  function markets(req: SimRequest): SimReply {
    const q = req.query;
    const vs = param(q, "vs_currency")?.toLowerCase();
    if (vs === undefined) return reply(400, { error: "Missing parameter vs_currency" });
    const rate = VS_CURRENCIES[vs];
    if (rate === undefined) return reply(400, { error: "invalid vs_currency" });
    const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number(param(q, "per_page") ?? 100) || 100));
    const page = Math.max(1, Math.floor(Number(param(q, "page") ?? 1)) || 1);
    const ids = listParam(q, "ids");
    const symbols = listParam(q, "symbols");
    const names = listParam(q, "names");
    let coins = universe.coins.filter(
      (c) => (ids === undefined || ids.has(c.id)) && (names === undefined || names.has(c.name.toLowerCase())) && (symbols === undefined || symbols.has(c.symbol)),
    );
    coins = sortCoins(coins, param(q, "order") ?? "market_cap_desc");
    const slice = coins.slice((page - 1) * perPage, page * perPage);
    return reply(
      200,
      slice.map((c) => marketEntry(c, rate, req.nowMs, seed)),
    );
  }

  function list(req: SimRequest): SimReply {
    const platforms = param(req.query, "include_platform") === "true";
    return reply(
      200,
      universe.coins.map((c) => (platforms ? { id: c.id, symbol: c.symbol, name: c.name, platforms: {} } : { id: c.id, symbol: c.symbol, name: c.name })),
    );
  }

  function route(path: string): ((req: SimRequest) => SimReply) | undefined {
    switch (path) {
      case "/api/v3/coins/markets":
        return markets;
      case "/api/v3/coins/list":
        return list;
      case "/api/v3/ping":
        return () => reply(200, { gecko_says: "(V3) To the Moon!" });
      default:
        return undefined;
    }
  }

  return {
    handle(req) {
      const run = route(req.path);
      if (!run) return undefined;
      const limit = Math.max(1, Math.round(COINGECKO_CALLS_PER_MINUTE * (req.faults.rateLimitScale ?? 1)));
      // Every call counts, refused ones included.
      const used = calls.add(req.nowMs, 1);
      if (used > limit) {
        return reply(
          429,
          {
            status: {
              error_code: 429,
              error_message: "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits.",
            },
          },
          { "Retry-After": String(Math.max(1, Math.ceil(calls.resetInMs(req.nowMs) / 1000))) },
        );
      }
      return run(req);
    },
    reset: () => calls.clear(),
  };
}

function listParam(query: URLSearchParams, name: string): Set<string> | undefined {
  const text = param(query, name);
  return text === undefined ? undefined : new Set(text.split(",").map((s) => s.trim().toLowerCase()));
}

function totalVolume(c: SimCoin): number {
  return Math.round(c.marketCap * 0.04 + 1000 * c.id.length);
}

function sortCoins(coins: SimCoin[], order: string): SimCoin[] {
  const byCap = (a: SimCoin, b: SimCoin) => b.marketCap - a.marketCap;
  switch (order) {
    case "market_cap_asc":
      return [...coins].sort((a, b) => -byCap(a, b));
    case "volume_desc":
      return [...coins].sort((a, b) => totalVolume(b) - totalVolume(a));
    case "volume_asc":
      return [...coins].sort((a, b) => totalVolume(a) - totalVolume(b));
    case "id_asc":
      return [...coins].sort((a, b) => a.id.localeCompare(b.id));
    case "id_desc":
      return [...coins].sort((a, b) => b.id.localeCompare(a.id));
    default:
      return [...coins].sort(byCap);
  }
}

/** The latest close on the deepest exchange listing the coin, else its typical price. */
function currentPriceUsd(c: SimCoin, nowMs: number, seed: number): number {
  const ticker = c.symbol.toUpperCase();
  if (c.rank !== null) {
    for (const exchange of EXCHANGES_BY_DEPTH) {
      // Null where the exchange does not list the coin.
      const close = simPreviousClose(exchange, ticker, nowMs, seed);
      if (close !== null) return close;
    }
  }
  return c.priceUsd;
}

function marketEntry(c: SimCoin, rate: number, nowMs: number, seed: number) {
  const price = significant(currentPriceUsd(c, nowMs, seed) * rate);
  const supply = c.marketCap > 0 ? Math.round(c.marketCap / c.priceUsd) : null;
  const updated = new Date(Math.floor(nowMs / 1000) * 1000).toISOString();
  return {
    id: c.id,
    symbol: c.symbol,
    name: c.name,
    image: `https://coin-images.coingecko.com/coins/images/${c.rank ?? 0}/large/${c.id}.png`,
    current_price: price,
    market_cap: Math.round(c.marketCap * rate),
    market_cap_rank: c.rank,
    fully_diluted_valuation: c.marketCap > 0 ? Math.round(c.marketCap * rate * 1.1) : null,
    total_volume: Math.round(totalVolume(c) * rate),
    high_24h: significant(price * 1.02),
    low_24h: significant(price * 0.98),
    price_change_24h: significant(price * 0.01),
    price_change_percentage_24h: 1.01,
    market_cap_change_24h: Math.round(c.marketCap * rate * 0.01),
    market_cap_change_percentage_24h: 1.01,
    circulating_supply: supply,
    total_supply: supply,
    max_supply: null,
    ath: significant(price * 1.8),
    ath_change_percentage: -44.4,
    ath_date: "2021-11-10T14:24:11.849Z",
    atl: significant(price * 0.05),
    atl_change_percentage: 1900,
    atl_date: "2020-03-13T02:22:55.044Z",
    roi: null,
    last_updated: updated,
  };
}

function significant(value: number): number {
  return Number(value.toPrecision(8));
}
