import { describe, expect, test } from "bun:test";
import { createManualClock } from "../../src/clock.ts";
import { createLimiter, createWindowLimiter, type WindowLimit } from "../../src/http/limiter.ts";

/** Starts every take at once, in order; runs the clock until all are granted; returns when each was. */
async function grantTimes(limit: WindowLimit, weights: readonly number[], before?: (l: ReturnType<typeof createWindowLimiter>) => void): Promise<number[]> {
  const clock = createManualClock(1_000_000);
  const limiter = createWindowLimiter(limit, clock);
  before?.(limiter);
  const granted: number[] = Array(weights.length).fill(Number.NaN);
  const all = Promise.all(weights.map((w, i) => limiter.take(w).then(() => (granted[i] = clock.now() - 1_000_000))));
  // Let every grant that needs no wait be recorded before time moves.
  await new Promise((r) => setImmediate(r));
  while (granted.some(Number.isNaN)) {
    if (!(await clock.step())) await new Promise((r) => setImmediate(r));
  }
  await all;
  return granted;
}

/** The most units granted inside any span of `spanMs`. */
function busiest(times: readonly number[], weights: readonly number[], spanMs: number): number {
  let most = 0;
  for (const start of times) {
    let sum = 0;
    for (let i = 0; i < times.length; i++) if (times[i]! >= start && times[i]! < start + spanMs) sum += weights[i]!;
    most = Math.max(most, sum);
  }
  return most;
}

describe("window limiter", () => {
  const limit: WindowLimit = { unitsPerWindow: 100, windowMs: 1000, slackMs: 50 };

  test("a whole window's units go at once, without waiting", async () => {
    const times = await grantTimes(limit, Array(50).fill(2));
    expect(new Set(times)).toEqual(new Set([0]));
  });

  test("the next unit waits until the first reservation has left the window and its slack", async () => {
    const times = await grantTimes(limit, Array(101).fill(1));
    expect(times.slice(0, 100).every((t) => t === 0)).toBe(true);
    expect(times[100]).toBe(1050);
  });

  test("no span of window + slack holds more than a window's units, with mixed weights, and the pace is the window's", async () => {
    const weights = Array.from({ length: 900 }, (_, i) => 1 + ((i * 7) % 5));
    const times = await grantTimes(limit, weights);
    expect(busiest(times, weights, 1050)).toBeLessThanOrEqual(100);
    // Sustained: units granted before the last grant over the time until it, at least 90% of 100 per 1.05 s.
    const last = times.at(-1)!;
    const before = weights.filter((_, i) => times[i]! < last).reduce((a, b) => a + b, 0);
    expect(before / (last / 1000)).toBeGreaterThan(0.9 * (100 / 1.05));
  });

  test("grants in arrival order: a heavy request is not overtaken by lighter ones behind it", async () => {
    const times = await grantTimes(limit, [60, 50, 1, 1]);
    expect(times).toEqual([0, 1050, 1050, 1050]);
  });

  test("a request heavier than the window waits for an empty window, then goes", async () => {
    const times = await grantTimes(limit, [30, 150, 1]);
    expect(times).toEqual([0, 1050, 2100]);
  });

  test("pauseUntil holds every taker until then", async () => {
    const times = await grantTimes(limit, [1, 1], (l) => l.pauseUntil(1_000_000 + 400));
    expect(times).toEqual([400, 400]);
  });

  test("createLimiter picks a window or a token bucket from the limit's shape", async () => {
    const clock = createManualClock(0);
    const bucket = createLimiter({ refillPerSecond: 1, burst: 1 }, clock);
    await bucket.take(1);
    let second = false;
    void bucket.take(1).then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    await clock.advance(1000);
    expect(second).toBe(true);
    const window = createLimiter({ unitsPerWindow: 5, windowMs: 1000, slackMs: 0 }, clock);
    for (let i = 0; i < 5; i++) await window.take(1);
    expect(clock.pending()).toBe(0);
  });
});
