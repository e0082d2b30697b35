import type { Clock } from "../clock.ts";

/**
 * A token bucket that hands out reservations in arrival order: `take(w)` subtracts `w` at once (the
 * balance may go negative) and waits until the balance it left would have refilled to zero. No
 * polling loop, fair under concurrency, and over any window of length t at most burst + rate·t units
 * are spent.
 */
export interface TokenBucket {
  take(units: number, signal?: AbortSignal): Promise<void>;
  /** Spends nothing until `untilMs` (a server said to wait): later takers queue behind it. */
  pauseUntil(untilMs: number): void;
  available(): number;
}

export function createTokenBucket(options: { refillPerSecond: number; burst: number; clock: Clock }): TokenBucket {
  const { refillPerSecond, burst, clock } = options;
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
      const waitMs = (start - clock.now()) + (tokens < 0 ? (-tokens * 1000) / refillPerSecond : 0);
      if (waitMs > 0) await clock.sleep(Math.ceil(waitMs), signal);
    },
    pauseUntil(untilMs) {
      refill();
      if (untilMs > pausedUntilMs) {
        pausedUntilMs = untilMs;
        if (tokens > 0) tokens = 0;
      }
    },
    available() {
      refill();
      return tokens;
    },
  };
}
