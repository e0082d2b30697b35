import type { Clock } from "../../src/clock.ts";

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
