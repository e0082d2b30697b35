import { describe, expect, test } from "bun:test";
import { ExchangeApiError, ExchangeSchemaError, RateLimitedError, UnknownSymbolError } from "../../src/errors.ts";
import { kucoin } from "../../src/exchanges/kucoin.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { fixture } from "./fixture.ts";

const BTC_USDT: Market = { coin: "BTC", symbol: "BTC-USDT", quote: "USDT" };
const parseBody = (body: unknown) => kucoin.parseCandles(body, { market: BTC_USDT, intervalMinutes: 1 });
const parse = (name: string) => parseBody(fixture("kucoin", name));
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe("kucoin candle rows", () => {
  test("reads [time, open, CLOSE, HIGH, LOW, volume, turnover]: close before high and low", () => {
    const oldest = parse("candles.json").find((c) => c.openTimeMs === 1717200000000);
    expect(oldest).toEqual({ openTimeMs: 1717200000000, open: 67510.0, close: 67520.0, high: 67555.0, low: 67490.1, volume: 3.1045512 });
  });

  test("reads timestamps sent as strings of seconds", () => {
    expect(parse("candles.json").map((c) => c.openTimeMs)).toEqual([1717200120000, 1717200060000, 1717200000000]);
  });

  test("keeps the newest-first order as sent (the engine sorts) and loses no row", () => {
    expect(parse("candles.json")).toHaveLength(3);
  });

  test("takes the base volume at index 5, not the quote turnover at 6", () => {
    expect(parse("candles.json").map((c) => c.volume)).toEqual([1.2, 0.84, 3.1045512]);
  });

  test("a numeric timestamp (the format changed) is a schema error", () => {
    expect(() => parse("candles-mangled.json")).toThrow(ExchangeSchemaError);
  });

  test("a body without data is a schema error", () => {
    expect(() => parseBody({ code: "200000" })).toThrow(ExchangeSchemaError);
  });
});

describe("kucoin string codes", () => {
  test("400100 'This pair is not provided' is an unknown symbol naming the pair", () => {
    const error = thrown(() => parse("unknown-pair.json"));
    expect(error).toBeInstanceOf(UnknownSymbolError);
    expect((error as Error).message).toContain("BTC-USDT");
  });

  test("429000 is a rate limit, inside a 200 or as the body of a 429", () => {
    expect(thrown(() => parse("rate-limited.json"))).toBeInstanceOf(RateLimitedError);
    expect(kucoin.parseErrorBody?.(429, fixture("kucoin", "rate-limited.json"), "w")).toBeInstanceOf(RateLimitedError);
  });

  test("a non-2xx 400100 body is an unknown symbol", () => {
    expect(kucoin.parseErrorBody?.(400, fixture("kucoin", "unknown-pair.json"), "w")).toBeInstanceOf(UnknownSymbolError);
  });

  test("400100 about another parameter is a plain, final API error", () => {
    const error = thrown(() => parseBody({ code: "400100", msg: "type invalid" }));
    expect(error).toBeInstanceOf(ExchangeApiError);
    expect((error as ExchangeApiError).retryable).toBe(false);
  });

  test.each([
    ["500000", true],
    ["400001", false],
    ["200001", false],
  ])("code %s is an API error, retryable: %p", (code, retryable) => {
    const error = thrown(() => parseBody({ code, msg: "x" }));
    expect(error).toBeInstanceOf(ExchangeApiError);
    expect((error as ExchangeApiError).retryable).toBe(retryable);
  });

  test("a numeric code (not KuCoin's format) is a schema error, not success", () => {
    expect(() => parseBody({ code: 200000, data: [] })).toThrow(ExchangeSchemaError);
  });

  test("a success body or a foreign body gives no specific error", () => {
    expect(kucoin.parseErrorBody?.(500, { code: "200000", data: [] }, "w")).toBeUndefined();
    expect(kucoin.parseErrorBody?.(502, "<html>", "w")).toBeUndefined();
  });
});

describe("kucoin request", () => {
  test("always sends both startAt and endAt, in seconds, ending a second before the next window", () => {
    const spec = kucoin.candlesRequest(BTC_USDT, 1, 1717200000000, 1717290000000);
    expect(spec.path).toBe("/api/v1/market/candles");
    expect(spec.query).toEqual({ symbol: "BTC-USDT", type: "1min", startAt: 1717200000, endAt: 1717289999 });
  });

  test.each([
    [1, "1min"],
    [5, "5min"],
    [60, "1hour"],
    [240, "4hour"],
    [1440, "1day"],
  ])("%i minutes is type %s", (minutes, type) => {
    expect(kucoin.candlesRequest(BTC_USDT, minutes, 0, minutes * 60_000).query?.type).toBe(type);
  });

  test("weighs 3 for candles and 4 for the symbol list, in a 2000-per-30s pool", () => {
    expect(kucoin.candlesRequest(BTC_USDT, 1, 0, 60_000).weight).toBe(3);
    expect(kucoin.marketsRequest().weight).toBe(4);
    // At most 2000 in any span of 30 s (plus slack): whatever the server's window, never over.
    expect(kucoin.budget).toMatchObject({ windowMs: 30_000 });
    expect("unitsPerWindow" in kucoin.budget && kucoin.budget.unitsPerWindow).toBeLessThanOrEqual(2000);
    expect(kucoin.budget.resetHeader).toEqual({ name: "gw-ratelimit-reset", unit: "ms" });
  });

  test("pages hold at most 1500 candles", () => {
    expect(kucoin.maxCandlesPerRequest).toBe(1500);
  });
});

describe("kucoin markets", () => {
  const markets = (pref: string[]) => kucoin.parseMarkets(fixture("kucoin", "symbols.json"), pref);

  test("prefers the first quote of the preference list", () => {
    expect(markets(["USDT", "USD"])).toContainEqual({ coin: "BTC", symbol: "BTC-USDT", quote: "USDT" });
    expect(markets(["USDC", "USDT"])).toContainEqual({ coin: "BTC", symbol: "BTC-USDC", quote: "USDC" });
  });

  test("skips markets with trading disabled, falling back to the next quote", () => {
    const result = markets(["USDT", "USD"]);
    expect(result).toContainEqual({ coin: "NEO", symbol: "NEO-USD", quote: "USD" });
    expect(result.map((m) => m.coin)).not.toContain("OP");
  });

  test("one market per coin, sorted", () => {
    expect(markets(["USDT", "USD"]).map((m) => m.symbol)).toEqual(["BTC-USDT", "ETH-USDT", "NEO-USD"]);
  });

  test("a non-success code in the listing is reported", () => {
    expect(() => kucoin.parseMarkets({ code: "500000", msg: "busy" }, ["USDT"])).toThrow(ExchangeApiError);
  });
});
