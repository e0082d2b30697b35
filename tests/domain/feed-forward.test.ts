import { describe, expect, test } from "bun:test";
import { feedForward } from "../../src/domain/feed-forward.ts";
import { candleProblem } from "../../src/domain/quality.ts";

const M = 60_000;
const traded = (minute: number, close: number) => ({ openTimeMs: minute * M, open: close - 1, high: close + 1, low: close - 2, close, volume: 3 });

describe("feed-forward", () => {
  test("fills empty buckets with the previous close and volume 0, flagged as filled", () => {
    const out = feedForward({ traded: [traded(0, 10), traded(3, 20)], intervalMinutes: 1, fromOpenMs: 0, toOpenMs: 4 * M });
    expect(out.map((c) => [c.openTimeMs / M, c.close, c.volume, c.filled])).toEqual([
      [0, 10, 3, false],
      [1, 10, 0, true],
      [2, 10, 0, true],
      [3, 20, 3, false],
      [4, 20, 0, true],
    ]);
    expect(out[1]).toMatchObject({ open: 10, high: 10, low: 10, close: 10 });
  });

  test("uses the close saved before the range for leading empty buckets", () => {
    const out = feedForward({ traded: [traded(2, 7)], intervalMinutes: 1, fromOpenMs: 0, toOpenMs: 2 * M, previousClose: 5 });
    expect(out.map((c) => [c.close, c.filled])).toEqual([
      [5, true],
      [5, true],
      [7, false],
    ]);
  });

  test("never invents a bucket before the first known close", () => {
    const out = feedForward({ traded: [traded(2, 7)], intervalMinutes: 1, fromOpenMs: 0, toOpenMs: 3 * M });
    expect(out.map((c) => c.openTimeMs / M)).toEqual([2, 3]);
    expect(feedForward({ traded: [], intervalMinutes: 5, fromOpenMs: 0, toOpenMs: 20 * M })).toEqual([]);
  });
});

describe("quality", () => {
  const now = 10 * M;
  const ok = { openTimeMs: 0, open: 10, high: 12, low: 9, close: 11, volume: 1 };
  test("passes a consistent closed candle", () => {
    expect(candleProblem(ok, 1, now, 5)).toBeUndefined();
  });
  test.each([
    ["high below close", { ...ok, high: 10.5 }],
    ["low above open", { ...ok, low: 10.5 }],
    ["high below low", { ...ok, high: 8, low: 9 }],
    ["negative volume", { ...ok, volume: -1 }],
    ["NaN price", { ...ok, close: Number.NaN }],
    ["infinite volume", { ...ok, volume: Number.POSITIVE_INFINITY }],
    ["zero price", { ...ok, low: 0 }],
    ["negative prices", { openTimeMs: 0, open: -2, high: -1, low: -3, close: -2, volume: 1 }],
    ["misaligned open time", { ...ok, openTimeMs: 30_000 }],
    ["unfinished bucket", { ...ok, openTimeMs: 9 * M }],
    ["bucket in the future", { ...ok, openTimeMs: 1000 * M }],
  ])("rejects a candle with %s", (_name, candle) => {
    expect(candleProblem(candle, 1, now, 5)).toBeString();
  });
});
