/**
 * Any exchange ccxt knows, described as our adapters are: ccxt's class sends the requests (its own
 * throttler, its URLs and parsers), while our engine does the paging in bounded windows, the retries,
 * the closed-candle rule, aggregation and feed-forward. Requests name the ccxt call (`fetchOHLCV`,
 * `loadMarkets`) and its arguments; `src/http/ccxt-client.ts` makes the call.
 * @see https://docs.ccxt.com/#/README?id=ohlcv-candlestick-charts
 */
import type { Exchange } from "ccxt";
import { z } from "zod";
import { MINUTE_MS } from "../domain/interval.ts";
import { ExchangeApiError } from "../errors.ts";
import type { ExchangeAdapter, Market } from "./types.ts";
import { parseWire, pickPreferredQuote } from "./wire.ts";

/** Candles a request asks for when ccxt does not know the exchange's page limit. */
export const CCXT_DEFAULT_PAGE_LIMIT = 100;

/** Known history depth of exchanges whose candles endpoint serves only recent candles (Kraken OHLC: 720). */
const RECENT_ONLY: Record<string, number> = { kraken: 720 };

/** ccxt's unified candle: `[timestamp ms, open, high, low, close, volume (base)]`. */
const CcxtCandle = z.tuple([z.number().int(), z.number(), z.number(), z.number(), z.number(), z.number()]).rest(z.unknown());
const CcxtCandles = z.array(CcxtCandle);
const CcxtMarket = z.looseObject({
  symbol: z.string(),
  base: z.string(),
  quote: z.string(),
  spot: z.boolean().optional(),
  type: z.string().optional(),
  active: z.boolean().nullable().optional(),
  /** The exchange's own listing entry: Kraken marks tokenized stocks `aclass_base: tokenized_asset`. */
  info: z.looseObject({ aclass_base: z.string().optional() }).optional().catch(undefined),
});
const CcxtMarkets = z.record(z.string(), CcxtMarket);

/** Timeframes that cut the day the way our buckets do (a whole number of minutes dividing 1440), by minutes. */
export function alignedTimeframes(exchange: Pick<Exchange, "timeframes" | "parseTimeframe">): Map<number, string> {
  const out = new Map<number, string>();
  for (const tf of Object.keys(exchange.timeframes ?? {})) {
    let minutes: number;
    try {
      minutes = exchange.parseTimeframe(tf) / 60;
    } catch {
      continue; // a timeframe ccxt itself cannot read (some exchanges name theirs oddly): not one we use
    }
    if (Number.isInteger(minutes) && minutes >= 1 && 1440 % minutes === 0 && !out.has(minutes)) out.set(minutes, tf);
  }
  return out;
}

/**
 * ccxt's pace for the exchange: one unit of endpoint cost per `rateLimit` ms, as its own throttler
 * spends it. Where that pace sits right at a public limit, a little margin (ms per cost unit).
 */
const PUBLIC_RATE_LIMIT_MS: Record<string, number> = {
  // Coinbase Advanced: 10 public requests a second per IP. ccxt charges a candles call 3 units of
  // 34 ms, 102 ms a request, at the limit; 37 ms gives 111 ms (9 a second).
  coinbase: 37,
};

export function ccxtBudget(exchange: Pick<Exchange, "id" | "rateLimit">): { refillPerSecond: number; burst: number } {
  const ms = Math.max(Number(exchange.rateLimit) || 1000, PUBLIC_RATE_LIMIT_MS[exchange.id] ?? 0);
  return { refillPerSecond: 1000 / ms, burst: 1 };
}

export interface CcxtAdapterOptions {
  id: string;
  /** The `Exchange` column. */
  name: string;
  exchange: Exchange;
}

export function createCcxtAdapter({ id, name, exchange }: CcxtAdapterOptions): ExchangeAdapter {
  const timeframes = alignedTimeframes(exchange);
  const features = exchange.features as { spot?: { fetchOHLCV?: { limit?: number } } } | undefined;
  const limit = features?.spot?.fetchOHLCV?.limit ?? CCXT_DEFAULT_PAGE_LIMIT;
  // ccxt's unified `until` bounds the window where the exchange's fetchOHLCV reads it; elsewhere
  // `since` + `limit` bound it and the engine trims whatever comes back past the window.
  const takesUntil = /["']until["']|handleUntilOption/.test(String(exchange.fetchOHLCV));
  const urls = exchange.urls as { doc?: string | string[]; www?: string };
  const docs = [urls.doc].flat()[0] ?? urls.www ?? "https://docs.ccxt.com";
  return {
    id,
    name,
    defaultBaseUrl: "",
    kind: "ccxt",
    docs,
    budget: ccxtBudget(exchange),
    maxCandlesPerRequest: limit,
    nativeIntervals: [...timeframes.keys()],
    recentCandlesOnly: RECENT_ONLY[id],
    marketsRequest: () => ({ path: "loadMarkets", weight: 1, label: "markets" }),
    parseMarkets(body, quotePreference) {
      const markets = parseWire(CcxtMarkets, body, `${id} loadMarkets`);
      const candidates: Market[] = [];
      for (const m of Object.values(markets)) {
        if (!(m.spot === true || m.type === "spot") || m.active === false) continue;
        if (m.info?.aclass_base !== undefined && m.info.aclass_base !== "currency") continue; // not a coin

        candidates.push({ coin: m.base.toUpperCase(), symbol: m.symbol, quote: m.quote.toUpperCase() });
      }
      return pickPreferredQuote(candidates, quotePreference);
    },
    candlesRequest(market, intervalMinutes, startMs, endMs) {
      const timeframe = timeframes.get(intervalMinutes);
      if (timeframe === undefined) {
        throw new ExchangeApiError(
          `${id} ${market.symbol}`,
          `ccxt serves no ${intervalMinutes}m candles here; bucket intervals must be multiples of ${[...timeframes.keys()].join(", ")} minutes`,
          { retryable: false },
        );
      }
      const count = Math.max(1, Math.ceil((endMs - startMs) / (intervalMinutes * MINUTE_MS)));
      return {
        path: "fetchOHLCV",
        query: { symbol: market.symbol, timeframe, since: startMs, limit: Math.min(count, limit), ...(takesUntil ? { until: endMs - 1 } : {}) },
        weight: 1,
        label: market.symbol,
      };
    },
    parseCandles(body, context) {
      const rows = parseWire(CcxtCandles, body, `${id} fetchOHLCV ${context.market.symbol}`);
      return rows.map(([openTimeMs, open, high, low, close, volume]) => ({ openTimeMs, open, high, low, close, volume }));
    },
  };
}
