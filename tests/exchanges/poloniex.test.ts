import { describe, expect, test } from "bun:test";
import { ExchangeApiError, ExchangeSchemaError, RateLimitedError, UnknownSymbolError } from "../../src/errors.ts";
import { poloniex } from "../../src/exchanges/poloniex.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { fixture } from "./fixture.ts";

const BTC_USDT: Market = { coin: "BTC", symbol: "BTC_USDT", quote: "USDT" };
const parseBody = (body: unknown) => poloniex.parseCandles(body, { market: BTC_USDT, intervalMinutes: 1 });
const parse = (name: string) => parseBody(fixture("poloniex", name));

describe("poloniex candle rows", () => {
  test("reads [LOW, HIGH, open, close, …]: low and high come first", () => {
    const [first] = parse("candles.json");
    expect(first).toMatchObject({ low: 67490.12, high: 67555.0, open: 67510.01, close: 67540.55 });
  });

  test("takes the open time from index 12 (startTime), not the push time at 9", () => {
    expect(parse("candles.json").map((c) => c.openTimeMs)).toEqual([1717200000000, 1717200060000]);
  });

  test("takes the base quantity at index 5, not the quote amount at 4", () => {
    expect(parse("candles.json").map((c) => c.volume)).toEqual([12.4821, 8.0012]);
  });

  test("a start time sent as a string is a schema error", () => {
    expect(() => parse("candles-mangled.json")).toThrow(ExchangeSchemaError);
  });

  test("a row of 13 fields is a schema error", () => {
    const [row] = fixture("poloniex", "candles.json") as unknown[][];
    expect(() => parseBody([row!.slice(0, 13)])).toThrow(ExchangeSchemaError);
  });
});

describe("poloniex {code, message} errors", () => {
  test("code 10040 (invalid symbol) in a 200 is an unknown symbol naming the market", () => {
    expect(() => parse("invalid-symbol.json")).toThrow(UnknownSymbolError);
    expect(() => parse("invalid-symbol.json")).toThrow(/BTC_USDT/);
  });

  test("the same body with a 4xx is an unknown symbol", () => {
    expect(poloniex.parseErrorBody?.(400, fixture("poloniex", "invalid-symbol.json"), "w")).toBeInstanceOf(UnknownSymbolError);
  });

  test("a message about too many requests is a rate limit", () => {
    expect(poloniex.parseErrorBody?.(429, { code: 1, message: "Too many requests" }, "w")).toBeInstanceOf(RateLimitedError);
  });

  test.each([
    [24201, true],
    [500, true],
    [601, false],
  ])("code %i is an API error, retryable: %p", (code, retryable) => {
    const error = poloniex.parseErrorBody?.(400, { code, message: "x" }, "w");
    expect(error).toBeInstanceOf(ExchangeApiError);
    expect((error as ExchangeApiError).retryable).toBe(retryable);
  });

  test("a foreign body gives no specific error", () => {
    expect(poloniex.parseErrorBody?.(502, "<html>", "w")).toBeUndefined();
    expect(poloniex.parseErrorBody?.(502, { error: "x" }, "w")).toBeUndefined();
  });
});

describe("poloniex request", () => {
  test("bounds every request with startTime, endTime (ms, 1 ms before the next window) and limit 500", () => {
    const spec = poloniex.candlesRequest(BTC_USDT, 1, 1717200000000, 1717230000000);
    expect(spec.path).toBe("/markets/BTC_USDT/candles");
    expect(spec.query).toEqual({ interval: "MINUTE_1", startTime: 1717200000000, endTime: 1717229999999, limit: 500 });
    expect(poloniex.maxCandlesPerRequest).toBe(500);
  });

  test.each([
    [1, "MINUTE_1"],
    [10, "MINUTE_10"],
    [60, "HOUR_1"],
    [720, "HOUR_12"],
    [1440, "DAY_1"],
  ])("%i minutes is %s", (minutes, interval) => {
    expect(poloniex.candlesRequest(BTC_USDT, minutes, 0, minutes * 60_000).query?.interval).toBe(interval);
  });

  test("escapes the symbol in the path", () => {
    expect(poloniex.candlesRequest({ coin: "A", symbol: "A/B_C", quote: "C" }, 1, 0, 60_000).path).toBe("/markets/A%2FB_C/candles");
  });

  test("the market list weighs more than a candle request", () => {
    expect(poloniex.marketsRequest().weight).toBeGreaterThan(poloniex.candlesRequest(BTC_USDT, 1, 0, 60_000).weight);
  });
});

describe("poloniex markets", () => {
  const markets = (pref: string[]) => poloniex.parseMarkets(fixture("poloniex", "markets.json"), pref);

  test("reads BASE_QUOTE markets with the base as the coin", () => {
    expect(markets(["USDT"])).toContainEqual({ coin: "BTC", symbol: "BTC_USDT", quote: "USDT" });
  });

  test("skips markets whose state is not NORMAL", () => {
    const coins = markets(["USDT"]).map((m) => m.coin);
    expect(coins).not.toContain("NEO");
    expect(coins).not.toContain("OP");
  });

  test("keeps only quotes in the preference list, the first one that trades", () => {
    expect(markets(["USDT", "USD"]).map((m) => m.symbol)).toEqual(["BTC_USDT", "ETH_USDT"]);
    expect(markets(["BTC", "USDT"]).find((m) => m.coin === "ETH")?.symbol).toBe("ETH_BTC");
  });

  test("an error body instead of the list is reported", () => {
    expect(() => poloniex.parseMarkets({ code: 500, message: "Internal error" }, ["USDT"])).toThrow(ExchangeApiError);
  });
});
