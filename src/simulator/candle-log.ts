import type { SimExchangeId } from "./listings.ts";
import { param } from "./reply.ts";

/** What a candle request asks for, read off the wire by the exchange's service (`SimService.candleQuery`). */
export interface SimCandleQuery {
  /** The market as the wire names it (`BTCUSDT`, `XBTUSD`, `BTC-USDT`); null when missing. */
  symbol: string | null;
  /** The interval as the wire names it (`1m`, `60`, `1hour`, `ONE_MINUTE`), the exchange's default when omitted; null when none. */
  interval: string | null;
  /** The window's lower bound in ms, as the wire gives it (Kraken's `since` and OKX's `before` exclude it); null when unbounded. */
  startMs: number | null;
  /** The window's upper bound in ms, as the wire gives it (OKX's `after` excludes it); null when unbounded. */
  endMs: number | null;
}

/** One candle request as the simulator answered it. */
export interface SimCandleRequest extends SimCandleQuery {
  exchange: SimExchangeId;
  /** The listening address it came in on. */
  address: string;
  /** The HTTP status answered (faults and rate limits included). */
  status: number;
  /** The simulator clock when it was answered. */
  atMs: number;
}

/** A whole-number time parameter in ms (`unitMs` 1000 for seconds), or null when absent or not a number. */
export function wireTime(query: URLSearchParams, name: string, unitMs = 1): number | null {
  const text = param(query, name);
  return text !== undefined && /^-?[0-9]{1,20}$/.test(text) ? Number(text) * unitMs : null;
}

/** The newest `limit` candle requests; indices count from the last clear, so `since(n)` pages on. */
export interface CandleLog {
  record(entry: SimCandleRequest): void;
  /** The requests from index `index` on (those still kept). */
  since(index: number): SimCandleRequest[];
  clear(): void;
}

export function createCandleLog(limit: number): CandleLog {
  let ring: SimCandleRequest[] = [];
  let total = 0;
  return {
    record(entry) {
      if (limit > 0) ring[total % limit] = entry;
      total++;
    },
    since(index) {
      const out: SimCandleRequest[] = [];
      for (let i = Math.max(0, index, total - limit); i < total; i++) out.push(ring[i % limit]!);
      return out;
    },
    clear() {
      ring = [];
      total = 0;
    },
  };
}
