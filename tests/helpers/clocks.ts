/**
 * The test clocks, in one place. Which one:
 * - `createManualClock` (src/clock.ts): time moves only when the test sets it.
 * - `createAutoClock`: every sleep returns at once and moves time forward; for one flow at a time
 *   (a retry loop, a limiter, an adapter's paging) in no real time.
 * - `createFastClock`: time jumps to the earliest wake-up once every request in flight is done; for
 *   the whole service in-process, where many flows run side by side (tests/helpers/harness.ts).
 */
import { type Clock, createSleepQueue } from "../../src/clock.ts";
import type { FetchFn } from "../../src/http/client.ts";

export { createManualClock } from "../../src/clock.ts";

/** A clock whose sleeps return at once and move time forward: a retry loop runs in no real time. */
export function createAutoClock(startMs: number): Clock & { sleeps: number[]; set(ms: number): void } {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    now: () => now,
    async sleep(ms) {
      if (ms > 0) {
        sleeps.push(ms);
        now += ms;
      }
    },
    set(ms) {
      now = ms;
    },
    sleeps,
  };
}

/**
 * Virtual time for in-process end-to-end tests: `now()` only moves when a test sets it or when
 * every request in flight has finished and someone is sleeping; then it jumps to the earliest
 * wake-up. Rate-limit waits and backoffs cost no real time, yet happen in the right order.
 */
export interface FastClock extends Clock {
  set(ms: number): void;
  /** Wraps a fetch so the clock knows when requests are in flight. */
  track(fetch: FetchFn): FetchFn;
  stop(): void;
}

export function createFastClock(startMs: number): FastClock {
  let nowMs = startMs;
  let inflight = 0;
  let idleChecks = 0;
  const queue = createSleepQueue(() => nowMs);
  const wakeDue = () => {
    for (let next = queue.next(); next && next.at <= nowMs; next = queue.next()) queue.shift()!.resolve();
  };
  const timer = setInterval(() => {
    if (queue.size() === 0 || inflight > 0) {
      idleChecks = 0;
      return;
    }
    // A few idle checks in a row: let file writes and promise chains settle before time jumps.
    if (++idleChecks < 3) return;
    idleChecks = 0;
    const wake = queue.next()!.at;
    if (wake > nowMs) nowMs = wake;
    wakeDue();
  }, 1);
  return {
    now: () => nowMs,
    sleep: queue.sleep,
    set(ms) {
      nowMs = ms;
      wakeDue();
    },
    track(fetch) {
      return async (input, init) => {
        inflight++;
        try {
          const response = await fetch(input, init);
          const body = await response.arrayBuffer();
          return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
        } finally {
          inflight--;
        }
      };
    },
    stop: () => clearInterval(timer),
  };
}
