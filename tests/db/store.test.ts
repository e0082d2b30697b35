import { describe, expect, test } from "bun:test";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { describeDriverError, missingFromRuns, runsFromIslands, uniqueCandles } from "../../src/db/store.ts";
import type { Candle } from "../../src/domain/candle.ts";

const M5 = 5 * 60_000;
const at = (i: number) => 1_700_000_100_000 - (1_700_000_100_000 % M5) + i * M5;

describe("missingFromRuns", () => {
  test.each([
    ["no runs: the whole range", [], [[0, 9]]],
    [
      "one run inside",
      [[2, 4]],
      [
        [0, 1],
        [5, 9],
      ],
    ],
    [
      "runs at both edges",
      [
        [0, 3],
        [8, 9],
      ],
      [[4, 7]],
    ],
    [
      "runs beyond the range are clipped",
      [
        [-5, 1],
        [9, 20],
      ],
      [[2, 8]],
    ],
    [
      "unsorted, touching runs",
      [
        [5, 9],
        [0, 4],
      ],
      [],
    ],
    ["a run past the end only", [[12, 14]], [[0, 9]]],
  ])("%s", (_name, runs, expected) => {
    const result = missingFromRuns(
      runs.map(([a, b]) => ({ coin: "BTC", fromOpenMs: at(a!), toOpenMs: at(b!) })),
      ["BTC"],
      5,
      at(0),
      at(9),
    );
    expect(result.get("BTC")).toEqual(expected.map(([a, b]) => ({ fromOpenMs: at(a!), toOpenMs: at(b!) })));
  });

  test("covers every coin asked for, and only those", () => {
    const result = missingFromRuns(
      [
        { coin: "ETH", fromOpenMs: at(0), toOpenMs: at(1) },
        { coin: "XRP", fromOpenMs: at(0), toOpenMs: at(1) },
      ],
      ["BTC", "ETH"],
      5,
      at(0),
      at(1),
    );
    expect([...result.entries()]).toEqual([
      ["BTC", [{ fromOpenMs: at(0), toOpenMs: at(1) }]],
      ["ETH", []],
    ]);
  });
});

test("runsFromIslands turns stored bucket ends (text or numbers) into open times", () => {
  expect(runsFromIslands([{ coin: "BTC", first: String(at(1)), last: at(3) }], 5)).toEqual([{ coin: "BTC", fromOpenMs: at(0), toOpenMs: at(2) }]);
});

test("uniqueCandles keeps the last copy of a key, in first-seen order", () => {
  const c = (openTimeMs: number, close: number, coin = "BTC"): Candle => ({
    exchange: "binance",
    coin,
    intervalMinutes: 5,
    openTimeMs,
    open: 1,
    high: 9,
    low: 1,
    close,
    volume: 1,
    filled: false,
  });
  expect(uniqueCandles([c(at(0), 1), c(at(1), 2), c(at(0), 3), c(at(0), 4, "ETH")])).toEqual([c(at(0), 3), c(at(1), 2), c(at(0), 4, "ETH")]);
});

test.each([
  ["a series that comes back after another", ["BTC", 0, 1], ["ETH", 0, 2], ["BTC", 0, 3]],
  ["the same time twice in a row", ["BTC", 0, 1], ["BTC", 0, 2]],
  ["a time that goes back", ["BTC", 1, 1], ["BTC", 0, 2], ["BTC", 1, 3]],
] as [string, ...[string, number, number][]][])("uniqueCandles finds a repeated key in runs that are not ascending: %s", (_, ...rows) => {
  const c = ([coin, i, close]: [string, number, number]): Candle => ({
    exchange: "kraken",
    coin,
    intervalMinutes: 5,
    openTimeMs: at(i),
    open: 1,
    high: 9,
    low: 1,
    close,
    volume: 1,
    filled: false,
  });
  const out = uniqueCandles(rows.map(c));
  const keys = out.map((k) => `${k.coin}|${k.openTimeMs}`);
  expect(new Set(keys).size).toBe(keys.length);
  expect(out.length).toBe(rows.length - 1);
  // The later copy wins.
  expect(out.find((k) => k.coin === "BTC" && k.openTimeMs === at(rows.at(-1)![1]))!.close).toBe(rows.at(-1)![2]);
});

test("uniqueCandles keeps a batch of ascending series runs as it is", () => {
  const c = (coin: string, i: number, intervalMinutes = 5): Candle => ({
    exchange: "binance",
    coin,
    intervalMinutes,
    openTimeMs: at(i),
    open: 1,
    high: 9,
    low: 1,
    close: i,
    volume: 1,
    filled: false,
  });
  const batch = [c("BTC", 0), c("BTC", 1), c("BTC", 3), c("ETH", 0), c("ETH", 1), c("BTC", 0, 15), c("BTC", 3, 15)];
  expect(uniqueCandles(batch)).toEqual(batch);
});

describe("driver errors", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

  test("are described by the driver's message, never drizzle's query text", () => {
    const wrapped = new DrizzleQueryError('select "close_price" from "klines_data" where "coin" = $1', ["BTC"], refused);
    expect(describeDriverError(wrapped)).toBe("connect ECONNREFUSED 127.0.0.1:5432");
    expect(describeDriverError(Object.assign(new Error("database does not exist"), { code: "3D000" }))).toBe("database does not exist (3D000)");
  });
});
