import { describe, expect, test } from "bun:test";
import { type Trade, tradesToMinuteCandles } from "../../src/domain/trades-to-candles.ts";

const M = 60_000;
const T0 = 1717200000000; // a whole minute
const t = (timeMs: number, price: number, volume: number): Trade => ({ timeMs, price, volume });

describe("tradesToMinuteCandles", () => {
  test.each<[string, Trade[], ReturnType<typeof tradesToMinuteCandles>]>([
    ["no trades, no candles", [], []],
    ["one trade is a candle with all four prices equal", [t(T0 + 5, 10, 2)], [{ openTimeMs: T0, open: 10, high: 10, low: 10, close: 10, volume: 2 }]],
    [
      "open first, close last, high max, low min, volume summed",
      [t(T0 + 1_000, 10, 1), t(T0 + 2_000, 12, 0.5), t(T0 + 3_000, 9, 0.25), t(T0 + 59_999, 11, 0.25)],
      [{ openTimeMs: T0, open: 10, high: 12, low: 9, close: 11, volume: 2 }],
    ],
    [
      "a trade on the minute boundary opens the next minute",
      [t(T0 + 59_999, 10, 1), t(T0 + M, 11, 1)],
      [
        { openTimeMs: T0, open: 10, high: 10, low: 10, close: 10, volume: 1 },
        { openTimeMs: T0 + M, open: 11, high: 11, low: 11, close: 11, volume: 1 },
      ],
    ],
    [
      "a minute without trades gets no candle",
      [t(T0, 10, 1), t(T0 + 2 * M + 10, 12, 3)],
      [
        { openTimeMs: T0, open: 10, high: 10, low: 10, close: 10, volume: 1 },
        { openTimeMs: T0 + 2 * M, open: 12, high: 12, low: 12, close: 12, volume: 3 },
      ],
    ],
    [
      "trades out of order are ordered by time first",
      [t(T0 + 30_000, 12, 1), t(T0 + 10_000, 10, 1), t(T0 + M + 1, 13, 1)],
      [
        { openTimeMs: T0, open: 10, high: 12, low: 10, close: 12, volume: 2 },
        { openTimeMs: T0 + M, open: 13, high: 13, low: 13, close: 13, volume: 1 },
      ],
    ],
    [
      "trades at the same millisecond keep the exchange's order",
      [t(T0 + 7, 10, 1), t(T0 + 7, 14, 1), t(T0 + 7, 12, 1)],
      [{ openTimeMs: T0, open: 10, high: 14, low: 10, close: 12, volume: 3 }],
    ],
  ])("%s", (_name, trades, expected) => {
    expect(tradesToMinuteCandles(trades)).toEqual(expected);
  });

  test("does not modify its input", () => {
    const trades = [t(T0 + 2, 2, 1), t(T0 + 1, 1, 1)];
    const copy = structuredClone(trades);
    tradesToMinuteCandles(trades);
    expect(trades).toEqual(copy);
  });

  test("every candle satisfies low ≤ open, close ≤ high on random trades", () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const trades = Array.from({ length: 2000 }, () => t(T0 + Math.floor(random() * 30 * M), 100 + random() * 10, random()));
    const candles = tradesToMinuteCandles(trades);
    for (const c of candles) {
      expect(c.low).toBeLessThanOrEqual(Math.min(c.open, c.close));
      expect(c.high).toBeGreaterThanOrEqual(Math.max(c.open, c.close));
      expect(c.openTimeMs % M).toBe(0);
    }
    expect(candles.reduce((s, c) => s + c.volume, 0)).toBeCloseTo(
      trades.reduce((s, x) => s + x.volume, 0),
      6,
    );
  });
});
