import type { Clock } from "../clock.ts";
import { BannedError, CryptoIntellectError, describeError, ExchangeApiError, ExchangeHttpError, ExchangeSchemaError, RateLimitedError } from "../errors.ts";
import type { ExchangeAdapter, RequestSpec } from "../exchanges/types.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { parseResetHeader, parseRetryAfter, RETRY_STATUSES } from "./retry-policy.ts";
import { createRetryLoop, RetryableFailure } from "./retry-loop.ts";
import { createLimiter, type Limiter } from "./limiter.ts";
import { BodyTooLarge, readBodyText } from "./read-body.ts";

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface ExchangeClientOptions {
  adapter: { id: string; budget: ExchangeAdapter["budget"]; parseErrorBody?: ExchangeAdapter["parseErrorBody"] };
  /** Replaces the exchange's host; may carry a path prefix (`http://127.0.0.1:9700/binance`). */
  baseUrl: string;
  fetch: FetchFn;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  random?: () => number;
  /** Attempts per request, the first included. */
  maxAttempts?: number;
  timeoutMs?: number;
  /** Bodies larger than this are refused (a hostile 50 MB body is not parsed). */
  maxBodyBytes?: number;
  backoff?: { baseMs: number; capMs: number };
  /**
   * The share of the exchange's budget this client may spend (0 < share <= 1; default 1): instances
   * sharing an egress IP split its limit, so each spends a request's weight divided by its share.
   */
  budgetShare?: () => number;
}

export interface ExchangeClientStatus {
  bannedUntilMs: number | undefined;
  lastSuccessMs: number | undefined;
  consecutiveFailures: number;
}

/** One exchange's door to the network: limits, retries, timeouts, bans. Every adapter goes through it. */
export interface ExchangeClient {
  readonly id: string;
  /** Sends the request and parses a 2xx body with `parse`; retries what is worth retrying. */
  /**
   * `parseText`, when given, reads a successful body's text first (a fast path); when it returns
   * undefined the body is parsed as JSON and given to `parse`, as always.
   */
  request<T>(spec: RequestSpec, parse: (body: unknown) => T, signal?: AbortSignal, parseText?: (text: string) => T | undefined): Promise<T>;
  status(): ExchangeClientStatus;
}

const DEFAULT_BAN_MS = 120_000;

export function createExchangeClient(options: ExchangeClientOptions): ExchangeClient {
  const { adapter, clock, logger, metrics } = options;
  const id = adapter.id;
  const loop = createRetryLoop({ ...options, id, uncounted: (error) => error instanceof BannedError });
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBodyBytes = options.maxBodyBytes ?? 20 * 1024 * 1024;
  const base = options.baseUrl.replace(/\/+$/, "");
  const budget = adapter.budget;
  const bucket = createLimiter(budget, clock);
  const keyBuckets = new Map<string, Limiter>();
  let bannedUntilMs: number | undefined;

  const keyBucket = (key: string) => {
    let b = keyBuckets.get(key);
    if (!b && budget.perKey) {
      b = createLimiter(budget.perKey, clock);
      keyBuckets.set(key, b);
    }
    return b;
  };

  const checkBan = (where: string) => {
    if (bannedUntilMs !== undefined) {
      if (clock.now() < bannedUntilMs) throw new BannedError(where, bannedUntilMs);
      bannedUntilMs = undefined;
      metrics.set("cryptointellect_banned", { exchange: id }, 0);
      logger.info("ban ended; calling again", { exchange: id });
    }
  };

  /** Reads the used-weight header: near the window's limit, pause until the window turns. */
  const observeUsedWeight = (response: Response) => {
    const spec = budget.usedWeightHeader;
    if (!spec) return;
    const used = Number(response.headers.get(spec.name));
    if (!Number.isFinite(used)) return;
    if (used >= spec.limit * 0.9) {
      const now = clock.now();
      const windowEnd = Math.floor(now / spec.windowMs) * spec.windowMs + spec.windowMs;
      bucket.pauseUntil(windowEnd + 250);
      logger.debug("near the weight limit; pausing until the window turns", { exchange: id, used, limit: spec.limit });
    }
  };

  const retryAfterOf = (response: Response) =>
    parseRetryAfter(response.headers.get("retry-after"), clock.now()) ??
    (budget.resetHeader ? parseResetHeader(response.headers.get(budget.resetHeader.name), budget.resetHeader.unit) : undefined);

  async function attempt<T>(
    spec: RequestSpec,
    parse: (body: unknown) => T,
    where: string,
    url: string,
    signal: AbortSignal | undefined,
    parseText: ((text: string) => T | undefined) | undefined,
  ): Promise<T> {
    checkBan(where);
    // A share of the IP's budget: each request costs its weight over the share, on the per-pair
    // limits too (two instances of one IP fetching one pair must keep that pair's pace together).
    const share = options.budgetShare?.() ?? 1;
    const scale = share > 0 && share < 1 ? 1 / share : 1;
    await bucket.take(spec.weight * scale, signal);
    if (spec.limitKey) await keyBucket(spec.limitKey)?.take(scale, signal);
    checkBan(where);
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await options.fetch(url, { signal: combined, headers: { accept: "application/json" } });
    } catch (error) {
      if (signal?.aborted) throw error;
      const reason = timeout.aborted ? "timeout" : "network";
      metrics.inc("cryptointellect_requests_total", { exchange: id, status: reason });
      throw new RetryableFailure(reason, new CryptoIntellectError("EXCHANGE_HTTP", `${where}: ${timeout.aborted ? `no answer within ${timeoutMs} ms` : describeError(error)}`));
    }
    metrics.inc("cryptointellect_requests_total", { exchange: id, status: String(response.status) });
    observeUsedWeight(response);
    let text: string;
    try {
      text = await readBodyText(response, maxBodyBytes, combined);
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof BodyTooLarge) throw new ExchangeSchemaError(where, `body larger than ${maxBodyBytes} bytes`);
      throw new RetryableFailure(timeout.aborted ? "timeout" : "body", new CryptoIntellectError("EXCHANGE_HTTP", `${where}: body could not be read`));
    }
    if (response.status === 418) {
      const untilMs = clock.now() + (retryAfterOf(response) ?? DEFAULT_BAN_MS);
      // Requests in flight when the ban came each see a 418: one ban, counted and logged once.
      if (bannedUntilMs === undefined || clock.now() >= bannedUntilMs) {
        bannedUntilMs = untilMs;
        metrics.inc("cryptointellect_bans_total", { exchange: id });
        metrics.set("cryptointellect_banned", { exchange: id }, 1);
        logger.error("exchange banned this IP; not calling it until the ban ends", { exchange: id, until: new Date(bannedUntilMs).toISOString() });
      } else {
        bannedUntilMs = Math.max(bannedUntilMs, untilMs);
      }
      throw new BannedError(where, bannedUntilMs);
    }
    if (response.ok && parseText) {
      const fast = parseText(text);
      if (fast !== undefined) return fast;
    }
    let body: unknown;
    let parsedJson = true;
    try {
      body = JSON.parse(text);
    } catch {
      parsedJson = false;
    }
    if (!response.ok) {
      const retryAfterMs = retryAfterOf(response);
      const specific = parsedJson ? adapter.parseErrorBody?.(response.status, body, where) : undefined;
      if (response.status === 429 || specific instanceof RateLimitedError) {
        metrics.inc("cryptointellect_rate_limited_total", { exchange: id });
        if (retryAfterMs !== undefined) bucket.pauseUntil(clock.now() + retryAfterMs);
        throw new RetryableFailure("rate-limited", new RateLimitedError(where, retryAfterMs), retryAfterMs);
      }
      if (RETRY_STATUSES.has(response.status) || (specific instanceof ExchangeApiError && specific.retryable)) {
        throw new RetryableFailure(`http-${response.status}`, specific ?? new ExchangeHttpError(where, response.status, retryAfterMs), retryAfterMs);
      }
      throw specific ?? new ExchangeHttpError(where, response.status);
    }
    if (!parsedJson) throw new RetryableFailure("unparseable", new ExchangeSchemaError(where, "body is not JSON"));
    try {
      return parse(body);
    } catch (error) {
      if (error instanceof RateLimitedError) {
        metrics.inc("cryptointellect_rate_limited_total", { exchange: id });
        const waitMs = error.retryAfterMs ?? 2000;
        bucket.pauseUntil(clock.now() + waitMs);
        throw new RetryableFailure("rate-limited", error, waitMs);
      }
      if (error instanceof ExchangeApiError && error.retryable) throw new RetryableFailure("api", error, error.retryAfterMs);
      throw error;
    }
  }

  return {
    id,
    async request(spec, parse, signal, parseText) {
      const url = buildUrl(base, spec);
      const where = `${id} GET ${spec.path} ${spec.label}`;
      return loop.run(`${spec.path} ${spec.label}`, () => attempt(spec, parse, where, url, signal, parseText), signal);
    },
    status: () => ({ bannedUntilMs, ...loop.status() }),
  };
}

export function buildUrl(base: string, spec: RequestSpec): string {
  const query = Object.entries(spec.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
  return `${base}${spec.path}${query ? `?${query}` : ""}`;
}
