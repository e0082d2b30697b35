import type { Clock } from "../clock.ts";

import type { BucketLimit, RateLimit, WindowLimit } from "../exchanges/rate-limit.ts";

export type { BucketLimit, RateLimit, WindowLimit };

/**
 * Hands out reservations in arrival order: `take(w)` reserves `w` units at the earliest instant the
 * limit allows (never before an earlier caller's) and waits until then. No polling loop, fair under
 * concurrency.
 */
export interface Limiter {
  take(units: number, signal?: AbortSignal): Promise<void>;
  /** Spends nothing until `untilMs` (a server said to wait): later takers queue behind it. */
  pauseUntil(untilMs: number): void;
}

export function createLimiter(limit: RateLimit, clock: Clock): Limiter {
  return "windowMs" in limit ? createWindowLimiter(limit, clock) : createTokenBucket(limit, clock);
}

/** A token bucket: the balance may go negative, and a taker waits until what it left would have refilled to zero. */
export function createTokenBucket(limit: BucketLimit, clock: Clock): Limiter {
  const { refillPerSecond, burst } = limit;
  let tokens = burst;
  let updatedMs = clock.now();
  let pausedUntilMs = 0;
  const refill = () => {
    const now = clock.now();
    if (now > updatedMs) {
      // While paused nothing accrues: the pause means the server's window is spent.
      const from = Math.max(updatedMs, Math.min(pausedUntilMs, now));
      tokens = Math.min(burst, tokens + ((now - from) * refillPerSecond) / 1000);
      updatedMs = now;
    }
  };
  return {
    async take(units, signal) {
      refill();
      tokens -= units;
      const start = Math.max(clock.now(), pausedUntilMs);
      const waitMs = start - clock.now() + (tokens < 0 ? (-tokens * 1000) / refillPerSecond : 0);
      if (waitMs > 0) await clock.sleep(Math.ceil(waitMs), signal);
    },
    pauseUntil(untilMs) {
      refill();
      if (untilMs > pausedUntilMs) {
        pausedUntilMs = untilMs;
        if (tokens > 0) tokens = 0;
      }
    },
  };
}

/**
 * A sliding window over reservations: a reservation at `t` counts against every span of
 * `windowMs + slackMs` that holds `t`. A unit reserved and then abandoned (the caller gave up) stays
 * spent: the limiter never assumes a request it let go did not reach the server.
 */
export function createWindowLimiter(limit: WindowLimit, clock: Clock): Limiter {
  const spanMs = limit.windowMs + limit.slackMs;
  const capacity = limit.unitsPerWindow;
  // Reservations in time order; entries before `head` have left every span that matters.
  const at: number[] = [];
  const units: number[] = [];
  let head = 0;
  let held = 0; // units of the entries from head on
  let pausedUntilMs = 0;
  const forgetBefore = (cutoffMs: number) => {
    while (head < at.length && at[head]! <= cutoffMs) held -= units[head++]!;
    if (head > 1024 && head * 2 > at.length) {
      at.splice(0, head);
      units.splice(0, head);
      head = 0;
    }
  };
  return {
    async take(n, signal) {
      const now = clock.now();
      forgetBefore(now - spanMs);
      let t = Math.max(now, pausedUntilMs, at.length > head ? at[at.length - 1]! : now);
      // Units still in the span ending at t, walking past reservations that leave it as t moves on.
      let i = head;
      let inSpan = held;
      while (i < at.length && at[i]! <= t - spanMs) inSpan -= units[i++]!;
      while (inSpan + n > capacity && i < at.length) {
        t = at[i]! + spanMs;
        while (i < at.length && at[i]! <= t - spanMs) inSpan -= units[i++]!;
      }
      at.push(t);
      units.push(n);
      held += n;
      if (t > now) await clock.sleep(t - now, signal);
    },
    pauseUntil(untilMs) {
      if (untilMs > pausedUntilMs) pausedUntilMs = untilMs;
    },
  };
}
