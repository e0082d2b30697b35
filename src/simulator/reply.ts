/** What an exchange module sees of a request and returns; the server turns it into HTTP. */
import type { SimCandleQuery } from "./candle-log.ts";
import type { Faults } from "./faults.ts";

export interface SimRequest {
  method: string;
  /** Path below the service prefix: `/api/v3/klines`. */
  path: string;
  query: URLSearchParams;
  headers: Headers;
  /** The simulator clock's now. */
  nowMs: number;
  /** The service's current faults (delisted coins, omitted empty rows, rate-limit scale). */
  faults: Faults;
}

/** How a reply counts in the stats. */
export type Tally = "ok" | "rateLimited" | "banned" | "error";

export interface SimReply {
  status: number;
  /** JSON text, or its bytes when a hot page was written with an AsciiWriter. */
  body: string | Uint8Array;
  headers: Record<string, string>;
  tally: Tally;
}

/** One simulated service: answers a request, or undefined for a path it does not know (404). */
export interface SimService {
  handle(request: SimRequest): SimReply | undefined;
  /** Forgets rate-limit state and bans. */
  reset(): void;
  /** What a candle request asks for (the request log), read whatever the answer; undefined for other paths. */
  candleQuery?(path: string, query: URLSearchParams): SimCandleQuery | undefined;
}

/** A JSON reply; `body` is serialised unless already text or bytes. Tallied from the status unless told. */
export function reply(status: number, body: unknown, headers: Record<string, string> = {}, tally?: Tally): SimReply {
  return {
    status,
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    headers,
    tally: tally ?? (status === 429 ? "rateLimited" : status === 418 ? "banned" : status >= 400 ? "error" : "ok"),
  };
}

/** The query parameter, or undefined when absent or empty. */
export function param(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null || value === "" ? undefined : value;
}

/** Whether a coin's markets are currently removed by the `delisted` fault. */
export function isDelisted(faults: Faults, coin: string): boolean {
  return faults.delisted?.some((c) => c.toUpperCase() === coin) ?? false;
}
