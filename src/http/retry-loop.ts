import type { Clock } from "../clock.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { backoffMs, type BackoffOptions } from "./retry-policy.ts";

/** A failed attempt worth another: why (the metric's reason), the error to give up with, and any wait the exchange asked for. */
export class RetryableFailure extends Error {
  constructor(
    readonly reason: string,
    readonly final: Error,
    readonly retryAfterMs?: number,
  ) {
    super(reason);
  }
}

export interface RetryLoopOptions {
  /** The exchange id, for metrics and logs. */
  id: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  random?: () => number;
  /** Attempts per request, the first included. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Errors that are not the exchange failing (a ban we keep to ourselves): not counted as failures. */
  uncounted?: (error: unknown) => boolean;
}

export interface RetryLoop {
  /** Runs `attempt` until it succeeds, throws something final, or the attempts run out. */
  run<T>(label: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  status(): { lastSuccessMs: number | undefined; consecutiveFailures: number };
}

/** One exchange's retries: capped jittered backoff, `Retry-After` honoured, a metric and a log line per retry. */
export function createRetryLoop(options: RetryLoopOptions): RetryLoop {
  const { id, clock, logger, metrics } = options;
  const random = options.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? 5;
  let lastSuccessMs: number | undefined;
  let consecutiveFailures = 0;
  return {
    async run(label, attempt, signal) {
      for (let n = 1; ; n++) {
        try {
          const result = await attempt();
          lastSuccessMs = clock.now();
          consecutiveFailures = 0;
          metrics.set("cryptointellect_last_success_timestamp_seconds", { exchange: id }, Math.floor(lastSuccessMs / 1000));
          return result;
        } catch (error) {
          if (!(error instanceof RetryableFailure)) {
            if (!options.uncounted?.(error) && !signal?.aborted) consecutiveFailures++;
            throw error;
          }
          if (n >= maxAttempts || signal?.aborted) {
            consecutiveFailures++;
            throw error.final;
          }
          const waitMs = Math.max(backoffMs(n, random, options.backoff), error.retryAfterMs ?? 0);
          metrics.inc("cryptointellect_retries_total", { exchange: id, reason: error.reason });
          logger.warn("request failed; retrying", { exchange: id, request: label, reason: error.reason, attempt: n, waitMs });
          await clock.sleep(waitMs, signal);
        }
      }
    },
    status: () => ({ lastSuccessMs, consecutiveFailures }),
  };
}
