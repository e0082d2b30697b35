import type { RateLimit } from "./rate-limit.ts";
import type { WireReader } from "./wire.ts";
import type { ExchangeId, RawCandle } from "../domain/candle.ts";
import type { Trade } from "../domain/trades-to-candles.ts";

/** One request as an adapter describes it; the shared engine sends it. */
export interface RequestSpec {
  /** Path below the base URL, already encoded (`/api/v3/klines`, `/markets/BTC_USDT/candles`). */
  path: string;
  query?: Record<string, string | number>;
  /** Cost in the exchange's budget units (Binance request weight, KuCoin pool weight; 1 elsewhere). */
  weight: number;
  /** A second budget this request also draws from (Kraken limits OHLC and Trades per pair). */
  limitKey?: string;
  /** Names the request in logs and errors: `BTCUSDT`. */
  label: string;
}

/** A tradable market on one exchange, resolved from its listing (never built by hand). */
export interface Market {
  /** Common ticker of the coin: `BTC` (Kraken's `XBT` already mapped). */
  coin: string;
  /** The exchange's own symbol for requests: `BTCUSDT`, `XXBTZUSD`, `BTC-USDT`, `BTC_USDT`. */
  symbol: string;
  /** Common ticker of the quote currency: `USDT`, `USD`. */
  quote: string;
}

/** An exchange's budget, in its own units, kept below its published limits (see src/http/limiter.ts). */
export type RateBudget = RateLimit & {
  /** A separate limit per `RequestSpec.limitKey` (Kraken: per pair). */
  perKey?: RateLimit;
  /** A response header reporting the units used in the current window (Binance `X-MBX-USED-WEIGHT-1M`). */
  usedWeightHeader?: { name: string; limit: number; windowMs: number };
  /** A response header giving when a refused request may be retried, besides `Retry-After` (KuCoin). */
  resetHeader?: { name: string; unit: "ms" | "s" };
};

export interface CandleContext {
  market: Market;
  intervalMinutes: number;
}

/**
 * An exchange, described: no adapter calls `fetch`. The engine in `src/http` owns limiting, retries,
 * timeouts and paging; the adapter owns URLs, wire schemas and mapping.
 */
export interface ExchangeAdapter {
  id: ExchangeId;
  /** What the `Exchange` column says: `Binance`, `Kucoin`, `OKX`. */
  name: string;
  /** Where requests go unless `api_base_urls` says otherwise (ccxt exchanges: empty, ccxt's own URLs). */
  defaultBaseUrl: string;
  /** Quote preference when the config gives none: USD first where an exchange's main books are in USD. */
  defaultQuotes?: readonly string[];
  /** Where the candles come from: our own adapter, or ccxt's class for the exchange. */
  kind: "native" | "ccxt";
  /** The public docs of the candles endpoint. */
  docs: string;
  budget: RateBudget;
  /** Candles one request may return. */
  maxCandlesPerRequest: number;
  /** Intervals (minutes) the exchange serves natively with the same epoch alignment as our buckets. */
  nativeIntervals: readonly number[];
  /** Only this many most recent candles (including the open one) can be fetched at all (Kraken: 720). */
  recentCandlesOnly?: number;
  marketsRequest(): RequestSpec;
  /** Tradable markets, one per coin, with the first quote of the preference list that the coin trades in. */
  parseMarkets(body: unknown, quotePreference: readonly string[]): Market[];
  /** Candles with open time in [startMs, endMs), `intervalMinutes` one of `nativeIntervals`. */
  candlesRequest(market: Market, intervalMinutes: number, startMs: number, endMs: number): RequestSpec;
  /**
   * Maps a successful body to candles (any order; the engine sorts and trims). Throws
   * ExchangeSchemaError on drift, ExchangeApiError for errors reported inside a 200 body.
   */
  parseCandles(body: unknown, context: CandleContext): RawCandle[];
  /**
   * The same candles read straight from a successful body's text, or undefined when the text is not
   * in the compact form it reads (then `parseCandles` decides). Never accepts what it would refuse.
   */
  parseCandlesText?(text: string, context: CandleContext): RawCandle[] | undefined;
  /** The adapter's fast path for pages, when it has one (see `createWireReader`). */
  wire?: WireReader;
  /** Turns a non-2xx body into a specific error (unknown symbol, rate limited), or undefined. */
  parseErrorBody?(status: number, body: unknown, where: string): Error | undefined;
  /**
   * Trade history, for exchanges whose candles do not reach back far enough (Kraken OHLC: 720 only).
   * The cursor is nanoseconds kept as a string: it does not fit a double.
   */
  trades?: {
    request(market: Market, sinceNs: string): RequestSpec;
    /** Trades oldest first, and the cursor to pass as `sinceNs` for the next page. */
    parse(body: unknown, market: Market): { trades: Trade[]; lastNs: string };
  };
}
