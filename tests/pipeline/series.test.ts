import { describe, expect, test } from "bun:test";
import type { RawCandle } from "../../src/domain/candle.ts";
import { buildWindowCandles, type SeriesState } from "../../src/pipeline/series.ts";

const M = 60_000;
const NOW = 100 * M;
const c = (minute: number, close: number, volume = 1): RawCandle => ({ openTimeMs: minute * M, open: close, high: close + 1, low: close - 1, close, volume });
const state = (previousClose?: number): SeriesState => ({ exchange: "kucoin", coin: "NEO", intervalMinutes: 5, previousClose });

describe("series", () => {
  test("aggregates, feeds forward and carries the close into the next window", () => {
    const s = state();
    const first = buildWindowCandles(s, { fromOpenMs: 0, toOpenMs: 10 * M, candles: [c(0, 10), c(3, 11)] }, NOW, 5);
    expect(first.candles.map((x) => [x.openTimeMs / M, x.close, x.filled])).toEqual([
      [0, 11, false],
      [5, 11, true],
      [10, 11, true],
    ]);
    expect(s.previousClose).toBe(11);
    const second = buildWindowCandles(s, { fromOpenMs: 15 * M, toOpenMs: 15 * M, candles: [] }, NOW, 5);
    expect(second.candles.map((x) => [x.close, x.filled])).toEqual([[11, true]]);
    expect(second.filled).toBe(1);
  });

  test("a zero-volume candle and an omitted one give the same saved result", () => {
    const a = buildWindowCandles(state(9), { fromOpenMs: 0, toOpenMs: 5 * M, candles: [c(0, 9, 0), c(5, 12)] }, NOW, 5);
    const b = buildWindowCandles(state(9), { fromOpenMs: 0, toOpenMs: 5 * M, candles: [c(5, 12)] }, NOW, 5);
    expect(a.candles).toEqual(b.candles);
    expect(a.candles[0]).toMatchObject({ close: 9, volume: 0, filled: true });
  });

  test("a candle failing quality checks is reported, not saved, and not papered over by feed-forward", () => {
    const bad = { ...c(5, 12), high: 1 };
    const s = state(9);
    const out = buildWindowCandles(s, { fromOpenMs: 0, toOpenMs: 15 * M, candles: [c(0, 10), bad, c(15, 14)] }, NOW, 5);
    expect(out.rejected).toHaveLength(1);
    expect(out.candles.map((x) => [x.openTimeMs / M, x.filled])).toEqual([
      [0, false],
      [15, false],
    ]);
    expect(s.previousClose).toBe(14);
  });

  test("a minute with a negative volume rejects its bucket instead of passing for a quiet one that gets fed forward", () => {
    const s = state(9);
    const out = buildWindowCandles(s, { fromOpenMs: 0, toOpenMs: 5 * M, candles: [c(0, 10), c(5, 12, -3)], baseIntervalMinutes: 1 }, NOW, 5);
    expect(out.rejected.map((r) => r.problem)).toEqual(["volume is negative"]);
    expect(out.candles.map((x) => x.openTimeMs / M)).toEqual([0]);
    expect(s.previousClose).toBeUndefined();
  });

  test("a minute with high below low rejects its bucket even when the bucket's max and min would hide it", () => {
    const swapped = { ...c(6, 11), high: 10, low: 12 };
    const out = buildWindowCandles(state(9), { fromOpenMs: 5 * M, toOpenMs: 5 * M, candles: [{ ...c(5, 11), high: 20, low: 5 }, swapped], baseIntervalMinutes: 1 }, NOW, 5);
    expect(out.rejected).toHaveLength(1);
    expect(out.candles).toEqual([]);
  });

  test("drops a bucket that is not closed yet", () => {
    const out = buildWindowCandles(state(1), { fromOpenMs: 95 * M, toOpenMs: 95 * M, candles: [c(95, 3)] }, NOW, 5);
    expect(out.candles).toEqual([]);
    expect(out.rejected[0]!.problem).toContain("not closed");
  });

  test("an open time answered with two different candles rejects its bucket: neither copy used, not fed forward, reported once", () => {
    const s = state(9);
    const conflicts = [c(6, 11), c(6, 12)];
    const out = buildWindowCandles(s, { fromOpenMs: 0, toOpenMs: 15 * M, candles: [c(0, 10), c(7, 13), c(15, 14)], baseIntervalMinutes: 1, conflicts }, NOW, 5);
    expect(out.rejected).toHaveLength(1);
    expect(out.rejected[0]!.candle.openTimeMs).toBe(6 * M);
    expect(out.rejected[0]!.problem).toContain("2 different candles for this open time");
    // Bucket 5 is left missing (its other minute is not used either); bucket 10 had no trades but
    // follows the missing bucket, so it has no known close to carry: missing too.
    expect(out.candles.map((x) => [x.openTimeMs / M, x.filled])).toEqual([
      [0, false],
      [15, false],
    ]);
    expect(s.previousClose).toBe(14);
  });

  test("a conflict in a window's last bucket leaves the close unknown for the next window", () => {
    const s = state(9);
    const out = buildWindowCandles(s, { fromOpenMs: 0, toOpenMs: 5 * M, candles: [c(0, 10)], baseIntervalMinutes: 1, conflicts: [c(5, 11), c(5, 12)] }, NOW, 5);
    expect(out.candles.map((x) => x.openTimeMs / M)).toEqual([0]);
    expect(s.previousClose).toBeUndefined();
  });
});
