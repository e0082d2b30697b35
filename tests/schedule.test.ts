import { describe, expect, test } from "bun:test";
import { createManualClock } from "../src/clock.ts";
import { silentLogger } from "../src/telemetry/log.ts";
import { nextCycleAt, runScheduler } from "../src/collector/schedule.ts";

const T = (iso: string) => Date.parse(iso);

describe("schedule", () => {
  test.each([
    ["2024-03-08T12:44:30Z", 1, 5, "2024-03-08T12:45:05Z"],
    ["2024-03-08T12:45:04.999Z", 5, 5, "2024-03-08T12:45:05Z"],
    ["2024-03-08T12:45:05Z", 5, 5, "2024-03-08T12:50:05Z"],
    ["2024-03-08T12:44:30Z", 60, 0, "2024-03-08T13:00:00Z"],
    ["2024-03-08T12:44:30Z", 90, 5, "2024-03-08T13:30:05Z"],
    ["2024-03-08T12:44:30Z", 1440, 5, "2024-03-09T00:00:05Z"],
  ])("from %s at %p minutes + %p s settle, the next cycle is at %s", (now, interval, settle, next) => {
    expect(nextCycleAt(T(now), interval, settle)).toBe(T(next));
  });

  test("7-minute cycles land on epoch multiples of 7 minutes", () => {
    let t = T("2024-03-08T12:00:00Z");
    for (let i = 0; i < 20; i++) {
      t = nextCycleAt(t, 7, 5);
      expect((t - 5000) % (7 * 60_000)).toBe(0);
    }
  });

  test("runs a day of 5-minute ticks on a manual clock, each once, errors caught", async () => {
    const clock = createManualClock(T("2024-03-08T00:00:00Z"));
    const ticks: number[] = [];
    const stop = new AbortController();
    const done = runScheduler(
      {
        clock,
        logger: silentLogger,
        intervalMinutes: 5,
        settleSeconds: 5,
        onTick: (due) => {
          ticks.push(due);
          if (ticks.length === 3) throw new Error("a failing cycle is logged, not fatal");
        },
      },
      stop.signal,
    );
    for (let i = 0; i < 288; i++) await clock.step();
    stop.abort();
    await done;
    expect(ticks).toHaveLength(288);
    expect(new Set(ticks).size).toBe(288);
    expect(ticks[0]).toBe(T("2024-03-08T00:00:05Z"));
    expect(ticks.at(-1)).toBe(T("2024-03-08T23:55:05Z"));
  });
});
