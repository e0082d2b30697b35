/**
 * The door to an exchange through ccxt: its class sends the requests (its throttler spaces them by
 * the exchange's `rateLimit` and endpoint costs), our retry loop handles what fails. ccxt is loaded
 * here, lazily: only a configured ccxt exchange brings it into memory.
 */
import type { Exchange } from "ccxt";
import type { Clock } from "../clock.ts";
import { CryptoIntellectError, ExchangeApiError, ExchangeSchemaError, RateLimitedError, UnknownSymbolError } from "../errors.ts";
import { ccxtBudget } from "../exchanges/ccxt.ts";
import { loadCcxt, newCcxtExchange } from "../exchanges/ccxt-catalog.ts";
import { createTokenBucket, type Limiter } from "./limiter.ts";
import type { RequestSpec } from "../exchanges/types.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { ExchangeClient, FetchFn } from "./client.ts";
import type { BackoffOptions } from "./retry-policy.ts";
import { parseRetryAfter } from "./retry-policy.ts";
import { createRetryLoop, RetryableFailure } from "./retry-loop.ts";

/** What exchanges say of a market they do not have, in the messages ccxt passes on. */
const UNKNOWN_MARKET =
  /unknown (asset )?pair|invalid (symbol|instrument|product|market)|(symbol|pair|instrument|product|market)s? (is |does )?(not|n't) (provided|exist|found|supported)|not supported symbols?|instrument id does not exist/i;

/** How long to hold off after a refusal that named no time (ccxt's DDoSProtection, a 429 without Retry-After). */
const REFUSAL_PAUSE_MS = 5_000;

export interface CcxtExchangeOptions {
  id: string;
  /** Replaces scheme and host of every URL in ccxt's `urls.api`, keeping each path; undefined: ccxt's own URLs. */
  baseUrl?: string;
  fetch: FetchFn;
  clock: Clock;
  metrics: Metrics;
  timeoutMs?: number;
}

/** What the client learns from the responses ccxt receives: the last wait an exchange asked for. */
interface ResponseNotes {
  retryAfterMs: number | undefined;
  /** The status of the last response: ccxt maps some exchanges' "no such product" 404 to a plain ExchangeError. */
  status: number | undefined;
  /** The last 2xx body was not JSON (garbage, cut short): ccxt would read it as an empty page. */
  unreadable: boolean;
}

/**
 * ccxt's class for the exchange, set up for us: spot markets only, our fetch (counted in the
 * request metric), our clock, requests sent to `baseUrl` when given. Undefined when ccxt has no such exchange.
 */
export function openCcxtExchange(options: CcxtExchangeOptions): { exchange: Exchange; notes: ResponseNotes; limiter: Limiter } | undefined {
  const { id, clock, metrics } = options;
  const notes: ResponseNotes = { retryAfterMs: undefined, status: undefined, unreadable: false };
  const exchange = newCcxtExchange(id, { enableRateLimit: true, timeout: options.timeoutMs ?? 15_000 });
  if (!exchange) return undefined;
  const fetchFn = options.fetch;
  exchange.fetchImplementation = async (url: string, init: RequestInit) => {
    let response: Response;
    try {
      response = await fetchFn(url, init);
    } catch (error) {
      metrics.inc("cryptointellect_requests_total", { exchange: id, status: init.signal?.aborted ? "timeout" : "network" });
      throw error;
    }
    metrics.inc("cryptointellect_requests_total", { exchange: id, status: String(response.status) });
    notes.status = response.status;
    if (response.status === 429 || response.status === 418 || response.status === 403 || response.status === 503) {
      notes.retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), clock.now());
    }
    if (!response.ok) return response;
    // ccxt hands a 2xx body it cannot parse to the parser as text, and a candle parser makes an
    // empty page of it: quiet minutes, fed forward. A page that is not JSON is refused here instead.
    const text = await response.text();
    try {
      JSON.parse(text);
    } catch {
      notes.unreadable = true;
      throw new SyntaxError(`${id}: a ${response.status} body that is not JSON (${text.length} bytes)`);
    }
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  exchange.milliseconds = () => Math.floor(clock.now());
  // ccxt's pace and endpoint costs, spent on our clock (its own throttler sleeps on the wall clock,
  // which a test's virtual time cannot drive), and paused when the exchange says to wait.
  const limiter = createTokenBucket(ccxtBudget(exchange), clock);
  exchange.throttle = ((cost?: number) => limiter.take(cost ?? 1)) as Exchange["throttle"];
  if (options.baseUrl) exchange.urls.api = rebaseUrls(exchange.urls.api, options.baseUrl) as typeof exchange.urls.api;
  spotMarketsOnly(exchange);
  // Currencies (networks, fees) are of no use for candles: loading them costs requests, some private.
  (exchange.has as Record<string, unknown>).fetchCurrencies = false;
  return { exchange, notes, limiter };
}

/** Replaces scheme and host of every URL string in ccxt's nested `urls.api`, keeping each path. */
export function rebaseUrls(api: unknown, baseUrl: string): unknown {
  const base = baseUrl.replace(/\/+$/, "");
  if (typeof api === "string") return api.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i, base);
  if (api && typeof api === "object") return Object.fromEntries(Object.entries(api).map(([k, v]) => [k, rebaseUrls(v, base)]));
  return api;
}

/** Loads spot markets only, where ccxt lets us choose (futures and options are of no use to us and cost requests). */
function spotMarketsOnly(exchange: Exchange): void {
  const options = exchange.options as Record<string, unknown>;
  const fetchMarkets = options.fetchMarkets;
  if (Array.isArray(fetchMarkets) && fetchMarkets.includes("spot")) options.fetchMarkets = ["spot"];
  else if (fetchMarkets && typeof fetchMarkets === "object") {
    const types = (fetchMarkets as { types?: unknown }).types;
    // KuCoin's also loads every ticker for trading fees unless told not to.
    if (Array.isArray(types) && types.includes("spot")) options.fetchMarkets = { ...fetchMarkets, types: ["spot"], fetchTickersFees: false };
  }
}

export interface CcxtClientOptions {
  id: string;
  exchange: Exchange;
  notes: ResponseNotes;
  limiter: Limiter;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  random?: () => number;
  maxAttempts?: number;
  backoff?: BackoffOptions;
}

/** An ExchangeClient whose requests are ccxt calls: `loadMarkets` and `fetchOHLCV` (see src/exchanges/ccxt.ts). */
export function createCcxtClient(options: CcxtClientOptions): ExchangeClient {
  const { id, exchange, notes, limiter, clock, metrics } = options;
  const loop = createRetryLoop(options);

  function call(spec: RequestSpec): Promise<unknown> {
    const q = spec.query ?? {};
    if (spec.path === "loadMarkets") return exchange.loadMarkets(true);
    if (spec.path === "fetchOHLCV") {
      const params = q.until === undefined ? {} : { until: Number(q.until) };
      return exchange.fetchOHLCV(String(q.symbol), String(q.timeframe), Number(q.since), Number(q.limit), params);
    }
    throw new CryptoIntellectError("EXCHANGE_API", `${id}: no ccxt call named ${spec.path}`);
  }

  /** Our error for a ccxt one: retryable ones wrapped, with the wait the exchange asked for. */
  function classify(error: unknown, where: string, spec: RequestSpec): Error {
    const ccxt = loadCcxt();
    const detail = describeCcxtError(error);
    if (notes.unreadable) return new RetryableFailure("unparseable", new ExchangeSchemaError(where, "body is not JSON"));
    if (error instanceof ccxt.RateLimitExceeded || error instanceof ccxt.DDoSProtection) {
      metrics.inc("cryptointellect_rate_limited_total", { exchange: id });
      const waitMs = notes.retryAfterMs ?? REFUSAL_PAUSE_MS;
      limiter.pauseUntil(clock.now() + waitMs);
      return new RetryableFailure("rate-limited", new RateLimitedError(where, waitMs), waitMs);
    }
    if (error instanceof ccxt.RequestTimeout) return new RetryableFailure("timeout", new CryptoIntellectError("EXCHANGE_HTTP", `${where}: no answer in time`));
    if (error instanceof ccxt.NetworkError) return new RetryableFailure("network", new CryptoIntellectError("EXCHANGE_HTTP", `${where}: ${detail}`));
    if (error instanceof ccxt.BadSymbol) return new UnknownSymbolError(where);
    // ccxt maps many exchanges' "no such market" to a plain ExchangeError or BadRequest (Coinbase's
    // 404 NOT_FOUND, Kraken's "Unknown asset pair", KuCoin's "pair is not provided", Poloniex's
    // "Invalid symbol"): for a candles call on a market from the listing, that is the market gone.
    if (spec.path === "fetchOHLCV" && error instanceof ccxt.ExchangeError && (notes.status === 404 || UNKNOWN_MARKET.test(detail))) return new UnknownSymbolError(where);
    if (error instanceof ccxt.BadResponse) return new RetryableFailure("unparseable", new ExchangeSchemaError(where, detail));
    if (error instanceof ccxt.BaseError) return new ExchangeApiError(where, detail, { retryable: false });
    // Not ccxt's own: a body ccxt could not read (a garbage page) surfaces as a plain SyntaxError or TypeError.
    if (error instanceof SyntaxError || error instanceof TypeError) return new RetryableFailure("unparseable", new ExchangeSchemaError(where, detail));
    return error instanceof Error ? error : new Error(String(error));
  }

  return {
    id,
    async request<T>(spec: RequestSpec, parse: (body: unknown) => T, signal?: AbortSignal): Promise<T> {
      const where = `${id} ${spec.path} ${spec.label}`;
      return loop.run(
        `${spec.path} ${spec.label}`,
        async () => {
          signal?.throwIfAborted();
          notes.retryAfterMs = undefined;
          notes.status = undefined;
          notes.unreadable = false;
          let body: unknown;
          try {
            body = await untilAborted(call(spec), signal);
          } catch (error) {
            if (signal?.aborted) throw error;
            throw classify(error, where, spec);
          }
          return parse(body);
        },
        signal,
      );
    },
    status: () => ({ bannedUntilMs: undefined, ...loop.status() }),
  };
}

/** ccxt's message without the body it quotes: the class and the first line, at most 160 characters. */
function describeCcxtError(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 160);
  const ccxt = loadCcxt() as unknown as Record<string, unknown>;
  // By ccxt's own export names: a minified build renames the classes themselves.
  const kind = CCXT_ERROR_NAMES.find((name) => typeof ccxt[name] === "function" && error instanceof (ccxt[name] as new () => Error)) ?? "Error";
  const first = error.message.split("\n")[0] ?? "";
  return `${kind}: ${first.slice(0, 160)}`;
}

/** Most specific first. */
const CCXT_ERROR_NAMES = [
  "BadSymbol",
  "BadRequest",
  "NotSupported",
  "PermissionDenied",
  "AuthenticationError",
  "NullResponse",
  "BadResponse",
  "OnMaintenance",
  "ExchangeNotAvailable",
  "RequestTimeout",
  "RateLimitExceeded",
  "DDoSProtection",
  "NetworkError",
  "ExchangeError",
  "BaseError",
];

/** The call's result, or the abort: ccxt calls cannot be cancelled, so an aborted one is left to finish unheard. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new DOMException("aborted", "AbortError"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
