import { describe, expect, test } from "bun:test";
import { csvFileName, isoTimestamp } from "../../src/sinks/csv-format.ts";

/** What the fast formatting replaces: the Date's own ISO text, `.000` dropped. */
const reference = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

describe("CSV timestamps and file names", () => {
  test("isoTimestamp is toISOString without .000, for times in any order across days, years and odd instants", () => {
    const samples: number[] = [
      0,
      -1000,
      -86_400_000,
      1_000,
      59_999,
      60_000,
      86_399_000,
      86_400_000,
      Date.UTC(2024, 1, 29, 23, 59, 59),
      Date.UTC(2024, 2, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59),
      Date.UTC(10000, 0, 1, 0, 0, 1),
      Date.UTC(-1, 5, 1, 12),
      8.64e15,
      -8.64e15,
      1717200000123,
    ];
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const base = Date.UTC(2020, 0, 1) + (seed % (3 * 365 * 1440)) * 60_000;
      samples.push(i % 7 === 0 ? base + (seed % 1000) : base);
    }
    for (const ms of samples) expect(isoTimestamp(ms)).toBe(reference(ms));
  });

  test("an instant a Date cannot hold still throws, as toISOString does", () => {
    expect(() => isoTimestamp(8.64e15 + 1000)).toThrow(RangeError);
    expect(() => isoTimestamp(Number.NaN)).toThrow(RangeError);
  });

  test("file names follow the UTC day of the open time, whichever day was formatted before", () => {
    const t = Date.UTC(2024, 2, 8, 23, 59);
    expect(csvFileName("binance", 5, t)).toBe("2024-03-08_binance_5m.csv");
    expect(isoTimestamp(Date.UTC(2031, 0, 1))).toBe("2031-01-01T00:00:00Z");
    expect(csvFileName("kraken", 60, t + 60_000)).toBe("2024-03-09_kraken_1h.csv");
    expect(csvFileName("kucoin", 1440, Date.UTC(1969, 11, 31, 12))).toBe("1969-12-31_kucoin_1d.csv");
  });
});
