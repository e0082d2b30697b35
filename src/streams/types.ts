/**
 * The stream client's contracts: what a per-exchange protocol module describes (pure, no sockets)
 * and the candle event every parser produces. The connection manager (`connection.ts`) is the only
 * place that opens sockets, fetches or keeps time.
 */

export type StreamExchangeId = "binance" | "kraken" | "kucoin" | "poloniex";

/** One candle update as an exchange pushed it, in our units. */
export interface StreamCandle {
  /** The market as subscribed: `BTCUSDT`, `BTC/USD`, `BTC-USDT`, `BTC_USDT`. */
  market: string;
  openTimeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Base volume (the coin). */
  volume: number;
  /** Binance's `k.x`; undefined where the exchange has no closed flag. */
  final: boolean | undefined;
}

/** What one message meant: candles (maybe none, for acks, heartbeats and pongs) or a malformed message. */
export type StreamParse = { kind: "candles"; candles: StreamCandle[] } | { kind: "malformed"; reason: string };

/** Where to connect and how to keep the connection alive. */
export interface StreamEndpoint {
  url: string;
  /** How often to send the protocol's ping; silence for twice this long is a stall. */
  pingIntervalMs: number;
  /** When the connection's token stops working, when known (KuCoin). */
  expiresAtMs?: number;
}

/** Any `fetch`-compatible function (the injected network). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** One exchange's stream protocol: a declarative description plus a pure parser. */
export interface StreamProtocol {
  exchange: StreamExchangeId;
  /** At most this many markets on one connection (Binance: 1024 streams). */
  maxMarketsPerConnection: number;
  /** Least time between two subscribe messages (Binance: 5 messages per second). */
  subscribeGapMs: number;
  /**
   * The endpoint for a REST base URL (`http://host/binance`). Only KuCoin uses `fetch` (its
   * `bullet-public` token request); `nowMs` dates a token's expiry when `tokenTtlMs` is known.
   */
  endpoint(baseUrl: string, fetchFn: FetchLike, nowMs: number, tokenTtlMs?: number): Promise<StreamEndpoint>;
  /** The subscribe messages (JSON text) for markets, in send order. */
  subscribeMessages(markets: readonly string[]): string[];
  /** The application-level ping, or undefined where the server pings (Binance). */
  pingMessage(seq: number): string | undefined;
  parse(text: string): StreamParse;
}

/** Splits markets into groups one connection can carry. */
export function splitMarkets(protocol: StreamProtocol, markets: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < markets.length; i += protocol.maxMarketsPerConnection) out.push(markets.slice(i, i + protocol.maxMarketsPerConnection));
  return out;
}

/** `ws://…` for an `http://…` base (and `wss` for `https`), path kept, trailing slash dropped. */
export function toWebSocketBase(baseUrl: string): string {
  return baseUrl.replace(/^http(s?):\/\//i, (_m, s: string) => `ws${s}://`).replace(/\/+$/, "");
}

/** Parses JSON text; undefined when it is not JSON. */
export function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/** A decimal string or number as a finite number; NaN otherwise. */
export function toNumber(value: string | number): number {
  return typeof value === "number" ? value : value.trim() === "" ? Number.NaN : Number(value);
}

export const ignored: StreamParse = { kind: "candles", candles: [] };

export function malformed(exchange: StreamExchangeId, reason: string): StreamParse {
  return { kind: "malformed", reason: `${exchange} stream: ${reason}` };
}

/** Checks that every number in a candle is finite; a malformed result otherwise. */
export function checkCandles(exchange: StreamExchangeId, candles: StreamCandle[]): StreamParse {
  for (const c of candles) {
    const values = [c.openTimeMs, c.open, c.high, c.low, c.close, c.volume];
    if (!values.every(Number.isFinite)) return malformed(exchange, `non-numeric candle values for ${c.market}`);
  }
  return { kind: "candles", candles };
}
