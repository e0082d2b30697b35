/** The status page's pure parts: freshness against the interval, exchange health, text, and reading the API. */
import { describe, expect, test } from "bun:test";
import { candlesUrl, parseSeries, parseStatus, toCandles } from "../../src/server/page/api.ts";
import { formatAge, formatInterval, fromInputValue, pricePrecision, toInputValue } from "../../src/server/page/format.ts";
import { exchangeLevel, type ExchangeFacts, freshness } from "../../src/server/page/freshness.ts";

const MIN = 60_000;
const END = Date.parse("2024-03-08T12:45:00Z");

describe("freshness", () => {
  // 5-minute buckets, 5 s settle: fresh up to 10 min 5 s, stale up to 25 min 5 s.
  test.each([
    [0, "fresh"],
    [10 * MIN + 5000, "fresh"],
    [10 * MIN + 5001, "stale"],
    [25 * MIN + 5000, "stale"],
    [25 * MIN + 5001, "very-stale"],
    [-30_000, "fresh"], // a server clock a little behind the bucket
  ] as const)("a bucket %d ms old is %s", (ageMs, level) => {
    expect(freshness(END, END + ageMs, 5, 5).level).toBe(level);
  });

  test("a series with nothing saved is empty, and its age is not a number to show", () => {
    expect(freshness(undefined, END, 1, 5)).toEqual({ level: "empty", ageMs: 0 });
  });

  test("scales with the interval: a day-bucket series an hour after its bucket is fresh", () => {
    expect(freshness(END, END + 60 * MIN, 1440, 5).level).toBe("fresh");
    expect(freshness(END, END + 60 * MIN, 1, 5).level).toBe("very-stale");
  });
});

describe("exchange health on the page", () => {
  const now = END + 30_000;
  const ok: ExchangeFacts = {
    lastSuccess: new Date(END + 5000).toISOString(),
    bannedUntil: null,
    lastCycle: { seriesOk: 3, seriesFailed: 0, banned: false, error: null },
    stale: false,
  };
  test.each<[string, string, Partial<ExchangeFacts>, boolean]>([
    ["its last cycle fetched everything", "healthy", {}, false],
    ["some series failed in its last cycle", "partial", { lastCycle: { seriesOk: 2, seriesFailed: 1, banned: false, error: null } }, false],
    ["every series failed in its last cycle", "failing", { lastCycle: { seriesOk: 0, seriesFailed: 3, banned: false, error: null } }, false],
    ["the service names it stale", "failing", { stale: true }, false],
    ["its last success is older than 3 intervals", "failing", { lastSuccess: new Date(now - 10 * MIN).toISOString() }, false],
    ["it is banned", "banned", { bannedUntil: new Date(now + MIN).toISOString() }, false],
    ["it has not succeeded yet, while the service starts", "starting", { lastSuccess: null, lastCycle: undefined }, true],
    ["it has not succeeded yet, after the start", "failing", { lastSuccess: null, lastCycle: undefined }, false],
  ])("%s: %s", (_, level, change, starting) => {
    expect(exchangeLevel({ ...ok, ...change }, now, 1, 5, starting)).toBe(level as never);
  });
});

describe("page text", () => {
  test.each([
    [0, "0 s"],
    [59_999, "59 s"],
    [60_000, "1 min"],
    [125 * MIN, "2 h 05 min"],
    [50 * 60 * MIN, "2 d 2 h"],
    [-5000, "0 s"],
  ])("an age of %d ms reads %s", (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  test.each([
    [1, "1m"],
    [90, "90m"],
    [120, "2h"],
    [1440, "1d"],
  ])("an interval of %d minutes reads %s", (minutes, text) => {
    expect(formatInterval(minutes)).toBe(text);
  });

  test("the range inputs are read and written as UTC, whatever the browser's zone", () => {
    expect(toInputValue(END)).toBe("2024-03-08T12:45");
    expect(fromInputValue("2024-03-08T12:45")).toBe(END);
    expect(fromInputValue("2024-03-08T12:45:30")).toBe(END + 30_000);
    expect(fromInputValue("")).toBeUndefined();
    expect(fromInputValue("not a date")).toBeUndefined();
  });

  test.each([
    [[67_500.1], 2],
    [[0.12345], 5],
    [[1.5], 4],
    [[0.00001234], 8],
    [[], 2],
  ])("prices %p are shown with %d decimals", (prices, precision) => {
    expect(pricePrecision(prices)).toBe(precision);
  });
});

describe("reading the API", () => {
  test("candles URLs carry the series, the range as TimeStamps and the format", () => {
    const q = { exchange: "binance", coin: "BTC", intervalMinutes: 5, fromMs: END - 60 * MIN, toMs: END };
    expect(candlesUrl(q, "csv")).toBe("/api/candles?exchange=binance&coin=BTC&interval=5m&from=2024-03-08T11%3A45%3A00Z&to=2024-03-08T12%3A45%3A00Z&format=csv");
    expect(candlesUrl({ ...q, fromMs: undefined, toMs: undefined }, "json", "abc")).toBe("/api/candles?exchange=binance&coin=BTC&interval=5m&cursor=abc&format=json");
  });

  test("candles are found by column name, not position", () => {
    const columns = ["Volume", "TimeStamp", "ClosePrice", "OpenPrice", "HighPrice", "LowPrice"];
    expect(toCandles(columns, [[1.5, "2024-03-08T12:45:00Z", 4, 1, 5, 0.5]])).toEqual([{ timeMs: END, open: 1, high: 5, low: 0.5, close: 4, volume: 1.5 }]);
    expect(() => toCandles(["TimeStamp"], [])).toThrow("OpenPrice");
  });

  test("/api/status and /health read alike; a new field is no outage", () => {
    const snapshot = {
      status: "degraded",
      reasons: ["kucoin: no successful fetch in the last 3 cycles"],
      cycles: 7,
      exchanges: { kucoin: { lastSuccess: null, lagBuckets: 2, errors: 9, bannedUntil: null, lastError: "3 of 3 series failed", extra: true } },
      sinks: {},
    };
    const fromApi = parseStatus({
      status: snapshot,
      exchanges: { kucoin: { lastCycle: { seriesTotal: 3, seriesOk: 0, seriesFailed: 3, banned: false, error: null } } },
      config: { settleSeconds: 7, bucketIntervalMinutes: 5 },
    });
    expect(fromApi.status).toBe("degraded");
    expect(fromApi.exchanges.kucoin).toEqual({ lastSuccess: null, lagBuckets: 2, errors: 9, bannedUntil: null, lastError: "3 of 3 series failed" });
    expect(fromApi.lastCycles.kucoin).toEqual({ seriesTotal: 3, seriesOk: 0, seriesFailed: 3, banned: false, error: null });
    expect(fromApi.settleSeconds).toBe(7);
    expect(fromApi.intervalMinutes).toBe(5);
    const fromHealth = parseStatus(snapshot);
    expect(fromHealth.exchanges).toEqual(fromApi.exchanges);
    expect(fromHealth.lastCycles).toEqual({});
    expect(fromHealth.settleSeconds).toBeUndefined();
  });

  test("series with missing fields are still listed", () => {
    const [s] = parseSeries({ series: [{ exchange: "okx", coin: "BTC", symbol: null, quote: null, last: "2024-03-08T12:45:00Z" }] });
    expect(s).toMatchObject({ exchange: "okx", exchangeName: "okx", coin: "BTC", symbol: "", quote: "", intervalMinutes: 1, first: null, last: "2024-03-08T12:45:00Z", rows: 0 });
    expect(parseSeries({})).toEqual([]);
  });
});
