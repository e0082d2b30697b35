import { describe, expect, test } from "bun:test";
import type { Candle } from "../../src/domain/candle.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";
import { compareRows, fileOrder, formatNumber, renderRow, renderRowBytes } from "../../src/sinks/csv-format.ts";
import { createPrng } from "../../src/simulator/noise.ts";

const EXCHANGES = NATIVE_EXCHANGE_IDS;
const decoder = new TextDecoder();

/** The text `renderRow` gives, one line per candle: what renderRowBytes must write byte for byte. */
const reference = (candles: readonly Candle[]) => candles.map((c) => renderRow(c) + "\n").join("");

function rendered(candles: readonly Candle[], capacity?: number): string {
  return decoder.decode(renderRowBytes(candles, "", capacity));
}

/** Numbers of every kind a candle can hold: exchange decimals, sums with float noise, tiny, huge, negative. */
function numberSamples(random: () => number): number[] {
  const fixed = [
    0,
    -0,
    1,
    0.1,
    0.3,
    0.1 + 0.2,
    1e-6,
    1e-7,
    5e-9,
    1.5e-7,
    0.00000123,
    0.00000999,
    9_999_999.99999999,
    1_234_567.12345678,
    12_345_678.1234567,
    99_999_999.9,
    1e15,
    1e21,
    1e25,
    123e-20,
    2 ** 53,
    2 ** 53 + 2,
    4.717099999999999,
    3.2849000000000004,
    -42.5,
    -0.000001,
    Number.MIN_VALUE,
    Number.MAX_VALUE,
    67510.01,
    0.07,
  ];
  const out = [...fixed];
  for (let i = 0; i < 40_000; i++) {
    const places = Math.floor(random() * 11);
    const magnitude = 10 ** Math.floor(random() * 12 - 4);
    const decimal = Number((random() * magnitude).toFixed(places));
    switch (i % 5) {
      case 0:
        out.push(decimal);
        break; // as an exchange sends it
      case 1:
        out.push(decimal + Number((random() * magnitude).toFixed(places)));
        break; // a sum (volumes)
      case 2:
        out.push(random() * magnitude);
        break; // any double
      case 3:
        out.push(-decimal);
        break;
      default:
        out.push(decimal * 10 ** Math.floor(random() * 40 - 20)); // far from the fast path's range
    }
  }
  return out;
}

describe("CSV rows rendered into bytes", () => {
  test("every number is written as formatNumber writes it", () => {
    const random = createPrng(11);
    const values = numberSamples(random);
    const base: Candle = { exchange: "binance", coin: "BTC", intervalMinutes: 1, openTimeMs: Date.UTC(2024, 0, 1), open: 1, high: 1, low: 1, close: 1, volume: 1, filled: false };
    const candles = values.map(
      (v, i): Candle => ({ ...base, open: v, high: values[(i + 1) % values.length]!, low: values[(i + 7) % values.length]!, close: v, volume: Math.abs(v) }),
    );
    const lines = rendered(candles).split("\n");
    for (let i = 0; i < candles.length; i++) {
      const fields = lines[i]!.split(",");
      if (fields[3] !== formatNumber(candles[i]!.open)) expect(`${candles[i]!.open} → ${fields[3]}`).toBe(`${candles[i]!.open} → ${formatNumber(candles[i]!.open)}`);
    }
    expect(rendered(candles)).toBe(reference(candles));
  });

  test("rows equal renderRow's for any exchange, coin, interval and instant, across buffer growth", () => {
    const random = createPrng(5);
    const coins = ["BTC", "ETH", "1INCH", "ÆTH", "币安", "X".repeat(300)];
    const instants = [0, -60_000, Date.UTC(-1, 5, 1, 12), Date.UTC(9999, 11, 31, 23, 58), Date.UTC(10000, 0, 1), 8.64e15 - 60_000 * 10080, 1717200000123];
    const candles: Candle[] = [];
    for (let i = 0; i < 30_000; i++) {
      const intervalMinutes = [1, 5, 7, 60, 1440, 10080][i % 6]!;
      const openTimeMs =
        i < instants.length ? instants[i]! : Date.UTC(2020, 0, 1) + Math.floor(random() * 5 * 365 * 1440) * 60_000 + (i % 11 === 0 ? Math.floor(random() * 60_000) : 0);
      const price = Number((random() * 10 ** Math.floor(random() * 8)).toFixed(Math.floor(random() * 9)));
      candles.push({
        exchange: EXCHANGES[i % EXCHANGES.length]!,
        coin: coins[i % coins.length]!,
        intervalMinutes,
        openTimeMs,
        open: price,
        high: price * 1.01,
        low: price / 1.01,
        close: price + 0.1,
        volume: random() * 100,
        filled: i % 3 === 0,
      });
    }
    // A tiny first buffer grows many times; a large one never does.
    expect(rendered(candles, 16)).toBe(reference(candles));
    expect(rendered(candles, 1 << 23)).toBe(reference(candles));
  });

  test("an instant a Date cannot hold throws, as renderRow does", () => {
    const c: Candle = { exchange: "kraken", coin: "BTC", intervalMinutes: 1, openTimeMs: 8.64e15 + 1000, open: 1, high: 1, low: 1, close: 1, volume: 1, filled: false };
    expect(() => renderRow(c)).toThrow(RangeError);
    expect(() => rendered([c])).toThrow(RangeError);
  });
});

describe("file order of a file's rows", () => {
  type Row = { openTimeMs: number; coin: string; id: number };
  /** What fileOrder replaces: a stable sort by time then coin, the first of a repeated key kept. */
  const reference = (rows: readonly Row[]) => {
    const sorted = [...rows].sort(compareRows);
    return sorted.filter((r, i) => i === 0 || compareRows(r, sorted[i - 1]!) !== 0);
  };

  test("equals a stable sort with the first of each key kept, on grids, off them, sparse and with duplicates", () => {
    const random = createPrng(17);
    const coinPool = ["BTC", "ETH", "A", "AA", "B", "1INCH", "ÆTH", "币安", "ZZZ", "eth"];
    let tableCases = 0;
    for (let trial = 0; trial < 400; trial++) {
      const size = [60_000, 300_000, 420_000, 86_400_000][trial % 4]!;
      const base = (trial % 5 === 0 ? -1 : 1) * Math.floor(random() * 1e6) * size;
      const coins = coinPool.slice(0, 1 + Math.floor(random() * coinPool.length));
      const n = Math.floor(random() * 300);
      const rows: Row[] = [];
      for (let i = 0; i < n; i++) {
        let t = base + Math.floor(random() * 200) * size;
        if (trial % 7 === 3 && random() < 0.05) t += 1000; // off the grid
        if (trial % 11 === 5 && i === 0) t += 1e9 * size; // too sparse for a table
        const coin = coins[Math.floor(random() * coins.length)]!;
        rows.push({ openTimeMs: t, coin, id: i });
        if (random() < 0.1) rows.push({ openTimeMs: t, coin, id: n + i }); // a repeated key, later
      }
      // Mostly in runs of one coin, as a backfill sends them; sometimes shuffled.
      if (trial % 3 === 0) rows.sort(() => random() - 0.5);
      else rows.sort((a, b) => (a.coin < b.coin ? -1 : a.coin > b.coin ? 1 : 0) || a.openTimeMs - b.openTimeMs);
      expect(fileOrder(rows, size)).toEqual(reference(rows));
      if (trial % 7 !== 3 && trial % 11 !== 5) tableCases++;
    }
    expect(tableCases).toBeGreaterThan(250);
    expect(fileOrder([], 60_000)).toEqual([]);
  });
});
