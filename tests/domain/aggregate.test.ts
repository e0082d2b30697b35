import { describe, expect, test } from "bun:test";
import { aggregateCandles, sortUnique } from "../../src/domain/aggregate.ts";
import type { RawCandle } from "../../src/domain/candle.ts";

const M = 60_000;
const c = (minute: number, o: number, h: number, l: number, cl: number, v: number): RawCandle => ({ openTimeMs: minute * M, open: o, high: h, low: l, close: cl, volume: v });

describe("aggregate", () => {
  test("takes open first, close last, high max, low min and sums volume", () => {
    const out = aggregateCandles([c(0, 10, 12, 9, 11, 1), c(1, 11, 15, 10, 14, 2), c(2, 14, 14, 8, 9, 3), c(3, 9, 10, 9, 10, 4), c(4, 10, 11, 10, 11, 5)], 5);
    expect(out).toEqual([{ openTimeMs: 0, open: 10, high: 15, low: 8, close: 11, volume: 15 }]);
  });

  test("splits at epoch-aligned boundaries for intervals that do not divide an hour", () => {
    const candles = Array.from({ length: 21 }, (_, i) => c(i, i + 1, i + 2, i + 0.5, i + 1.5, 1));
    const out = aggregateCandles(candles, 7);
    expect(out.map((b) => b.openTimeMs / M)).toEqual([0, 7, 14]);
    expect(out[1]).toEqual({ openTimeMs: 7 * M, open: 8, high: 15, low: 7.5, close: 14.5, volume: 7 });
  });

  test("skips zero-volume candles so omitted and zero-volume minutes give the same buckets", () => {
    const withZeros = [c(0, 5, 5, 5, 5, 0), c(1, 10, 12, 9, 11, 1), c(2, 11, 11, 11, 11, 0), c(3, 11, 13, 10, 12, 2)];
    const omitted = [c(1, 10, 12, 9, 11, 1), c(3, 11, 13, 10, 12, 2)];
    expect(aggregateCandles(withZeros, 5)).toEqual(aggregateCandles(omitted, 5));
    expect(aggregateCandles(withZeros, 5)[0]!.open).toBe(10);
  });

  test("a bucket with no traded candle is absent (to be fed forward later)", () => {
    expect(aggregateCandles([c(0, 1, 1, 1, 1, 0), c(1, 1, 1, 1, 1, 0)], 5)).toEqual([]);
    expect(aggregateCandles([c(0, 1, 2, 1, 2, 1), c(10, 3, 4, 3, 4, 1)], 5).map((b) => b.openTimeMs / M)).toEqual([0, 10]);
  });

  test("a candle out of order still starts its own bucket, as placing each candle by division does", () => {
    // The per-candle rule the boundary check replaces: a new bucket whenever a candle's bucket differs.
    const byDivision = (candles: RawCandle[], interval: number) => {
      const size = interval * M;
      const out: RawCandle[] = [];
      let open = Number.NaN;
      for (const x of candles) {
        if (!(x.volume > 0)) continue;
        const o = x.openTimeMs - (x.openTimeMs % size);
        if (o !== open) {
          out.push({ ...x, openTimeMs: o });
          open = o;
        } else {
          const b = out[out.length - 1]!;
          b.high = Math.max(b.high, x.high);
          b.low = Math.min(b.low, x.low);
          b.close = x.close;
          b.volume += x.volume;
        }
      }
      return out;
    };
    let seed = 3;
    const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let round = 0; round < 200; round++) {
      const candles = Array.from({ length: 40 }, () => c(Math.floor(next() * 30), 1 + next(), 3, 0.5, 2, next() < 0.2 ? 0 : next()));
      for (const interval of [1, 5, 7]) {
        // The same buckets; volumes to the last ulp or two (aggregateCandles compensates its sums).
        const got = aggregateCandles(candles, interval);
        const want = byDivision(candles, interval);
        expect(got.map((x) => ({ ...x, volume: 0 }))).toEqual(want.map((x) => ({ ...x, volume: 0 })));
        for (const [i, x] of got.entries()) expect(Math.abs(x.volume - want[i]!.volume)).toBeLessThan(1e-14);
      }
    }
  });

  test("sortUnique orders by open time and keeps one candle per open time when the copies are the same", () => {
    const out = sortUnique([c(2, 1, 1, 1, 1, 1), c(0, 1, 1, 1, 1, 1), c(2, 1, 1, 1, 1, 1), c(1, 1, 1, 1, 1, 1)]);
    expect(out.candles.map((x) => x.openTimeMs / M)).toEqual([0, 1, 2]);
    expect(out.conflicts).toEqual([]);
  });

  test("sortUnique returns an ascending page as it is (a copy), and still de-duplicates one with an equal repeat at the end", () => {
    const page = [c(0, 1, 1, 1, 1, 1), c(1, 1, 1, 1, 1, 1), c(2, 1, 1, 1, 1, 1)];
    const out = sortUnique(page);
    expect(out.candles).toEqual(page);
    expect(out.candles).not.toBe(page);
    const repeated = sortUnique([...page, c(2, 1, 1, 1, 1, 1)]);
    expect(repeated.candles.map((x) => x.openTimeMs / M)).toEqual([0, 1, 2]);
    expect(repeated.conflicts).toEqual([]);
  });

  test("sortUnique keeps neither of two different candles for one open time and returns both as a conflict", () => {
    const page = [c(0, 1, 1, 1, 1, 1), c(1, 1, 1, 1, 1, 1), c(2, 1, 2, 1, 1, 1), c(3, 1, 1, 1, 1, 1), c(2, 1, 3, 1, 1, 1), c(2, 1, 2, 1, 1, 1)];
    const out = sortUnique(page);
    expect(out.candles.map((x) => x.openTimeMs / M)).toEqual([0, 1, 3]);
    expect(out.conflicts.map((x) => [x.openTimeMs / M, x.high])).toEqual([
      [2, 2],
      [2, 3],
      [2, 2],
    ]);
    // The later copy no longer wins: a repeat that differs from the first one only in volume is a conflict too.
    const volume = sortUnique([c(0, 1, 1, 1, 1, 1), c(0, 1, 1, 1, 1, 2)]);
    expect(volume.candles).toEqual([]);
    expect(volume.conflicts).toHaveLength(2);
  });

  test("sortUnique on a large shuffled page with equal repeats gives the sorted page and no conflict", () => {
    const page = Array.from({ length: 5000 }, (_, i) => c(i, i, i + 1, i - 1, i, 1));
    const shuffled = [...page, ...page.slice(0, 100).map((x) => ({ ...x }))].reverse();
    const out = sortUnique(shuffled);
    expect(out.candles).toEqual(page);
    expect(out.conflicts).toEqual([]);
  });
});
