import { z } from "zod";

/**
 * Faults a test (or `simulate --error-rate`) injects into one simulated service. Rates are
 * probabilities per request, drawn from a seeded PRNG so a run is reproducible.
 */
export interface Faults {
  /** Real-time delay before answering, uniform in [min, max] milliseconds. */
  latencyMs?: [number, number];
  /** Share of requests answered with a 5xx. */
  errorRate?: number;
  /** Share answered 200 with a body that is not JSON. */
  garbageRate?: number;
  /** Share answered 200 with the real JSON body cut short. */
  truncateRate?: number;
  /** Share never answered until the client gives up (aborts). */
  timeoutRate?: number;
  /** Every request answered 503. */
  outage?: boolean;
  /** Common tickers removed from the listing; their markets answer as unknown symbols. */
  delisted?: string[];
  /** Omit intervals without trades instead of sending zero-volume rows (KuCoin's default is true, the others' false). */
  omitEmpty?: boolean;
  /** Multiplies the service's rate limits (0.01 makes refusals easy to provoke). */
  rateLimitScale?: number;
  /** WebSocket streams: each connection is dropped this long (simulator clock) after it opened (0: at the next tick). */
  streamCloseAfterMs?: number;
  /** Drops (`streamCloseAfterMs`) close the socket abruptly, without a close frame. */
  streamCloseAbrupt?: boolean;
  /** Open stream connections go silent: nothing sent, pings unanswered, the socket kept open. */
  streamStall?: boolean;
  /** Share of stream messages replaced by text no JSON parser accepts. */
  streamGarbageRate?: number;
  /** KuCoin: a bullet-public token expires this long after it was issued; its connections are closed. */
  streamTokenTtlMs?: number;
}

const rate = z.number().min(0).max(1);

/** Validates faults sent to `POST /_sim/faults`. */
export const faultsSchema = z.strictObject({
  latencyMs: z.tuple([z.number().min(0), z.number().min(0)]).optional(),
  errorRate: rate.optional(),
  garbageRate: rate.optional(),
  truncateRate: rate.optional(),
  timeoutRate: rate.optional(),
  outage: z.boolean().optional(),
  delisted: z.array(z.string()).optional(),
  omitEmpty: z.boolean().optional(),
  rateLimitScale: z.number().positive().optional(),
  streamCloseAfterMs: z.number().min(0).optional(),
  streamCloseAbrupt: z.boolean().optional(),
  streamStall: z.boolean().optional(),
  streamGarbageRate: rate.optional(),
  streamTokenTtlMs: z.number().min(0).optional(),
});

export type FaultAction = "none" | "timeout" | "error" | "garbage" | "truncate";

export interface FaultPlan {
  latencyMs: number;
  action: FaultAction;
  /** The 5xx status for `error`. */
  status: number;
  /** For `truncate`: the share of the body kept, in (0, 1). */
  keep: number;
}

const ERROR_STATUSES = [500, 502, 503, 504] as const;

/**
 * Decides one request's fate. Always draws the same number of values, so the sequence of decisions
 * for a seed does not depend on which rates are set.
 */
export function planFaults(faults: Faults, random: () => number): FaultPlan {
  const [min, max] = faults.latencyMs ?? [0, 0];
  const latencyMs = min + (Math.max(min, max) - min) * random();
  const draws = [random(), random(), random(), random()] as const;
  const statusDraw = random();
  const keep = 0.05 + 0.9 * random();
  let action: FaultAction = "none";
  if (draws[0] < (faults.timeoutRate ?? 0)) action = "timeout";
  else if (draws[1] < (faults.errorRate ?? 0)) action = "error";
  else if (draws[2] < (faults.garbageRate ?? 0)) action = "garbage";
  else if (draws[3] < (faults.truncateRate ?? 0)) action = "truncate";
  return { latencyMs, action, status: ERROR_STATUSES[Math.floor(statusDraw * ERROR_STATUSES.length)]!, keep };
}

/** A body no JSON parser accepts: what a proxy's error page or a corrupted stream looks like. */
export const GARBAGE_BODY = "<html><head><title>502 Bad Gateway</title></head><body>upstream sent garbage \u0000\u00ff{[";

/** The body cut to a share of its length: never complete, so never valid JSON (bodies are objects or arrays). */
export function truncateBody<T extends string | Uint8Array>(body: T, keep: number): T {
  const cut = Math.min(body.length - 1, Math.max(1, Math.floor(body.length * keep)));
  return (body.length < 2 ? body.slice(0, 0) : body.slice(0, cut)) as T;
}
