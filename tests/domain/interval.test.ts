import { describe, expect, test } from "bun:test";
import { bucketOpen, formatInterval, isAligned, lastClosedBucketOpen, parseInterval } from "../../src/domain/interval.ts";

const T = (iso: string) => Date.parse(iso);

describe("interval", () => {
  test.each([
    ["1m", 1],
    ["7m", 7],
    ["90m", 90],
    ["5M", 5],
    ["2h", 120],
    ["2H", 120],
    ["1d", 1440],
    ["1D", 1440],
    [" 15m ", 15],
  ])("parses %p as %p minutes", (text, minutes) => {
    expect(parseInterval(text)).toEqual({ ok: true, minutes });
  });

  test.each(["0m", "0h", "1x", "m", "-5m", "1.5h", "", "5", "5 minutes", "1w", "99999d", "1m\u0000"])("rejects %p with a reason", (text) => {
    const parsed = parseInterval(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(10);
  });

  test.each([
    [1, "1m"],
    [7, "7m"],
    [90, "90m"],
    [60, "1h"],
    [120, "2h"],
    [1440, "1d"],
    [2880, "2d"],
    [1500, "25h"],
  ])("formats %p minutes as %p with the largest exact unit", (minutes, label) => {
    expect(formatInterval(minutes)).toBe(label);
  });

  test("buckets start at whole multiples of the interval since the epoch", () => {
    expect(bucketOpen(T("2024-03-08T12:47:31Z"), 5)).toBe(T("2024-03-08T12:45:00Z"));
    expect(bucketOpen(T("2024-03-08T12:47:31Z"), 1440)).toBe(T("2024-03-08T00:00:00Z"));
    // 7 minutes does not divide an hour: alignment is to the epoch, not to the hour.
    const open7 = bucketOpen(T("2024-03-08T12:47:31Z"), 7);
    expect(open7 % (7 * 60_000)).toBe(0);
    expect(T("2024-03-08T12:47:31Z") - open7).toBeLessThan(7 * 60_000);
    expect(isAligned(open7, 7)).toBe(true);
    expect(isAligned(open7 + 60_000, 7)).toBe(false);
  });

  test("a bucket is closed only once now reaches its end plus the settle time", () => {
    // 12:45:04 with settle 5 s: the 12:44 minute ended at 12:45:00 but has not settled yet.
    expect(lastClosedBucketOpen(T("2024-03-08T12:45:04Z"), 1, 5)).toBe(T("2024-03-08T12:43:00Z"));
    expect(lastClosedBucketOpen(T("2024-03-08T12:45:05Z"), 1, 5)).toBe(T("2024-03-08T12:44:00Z"));
    expect(lastClosedBucketOpen(T("2024-03-08T12:50:05Z"), 5, 5)).toBe(T("2024-03-08T12:45:00Z"));
    expect(lastClosedBucketOpen(T("2024-03-08T12:50:04Z"), 5, 5)).toBe(T("2024-03-08T12:40:00Z"));
  });
});
