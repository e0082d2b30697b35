import { describe, expect, test } from "bun:test";
import { ExchangeApiError, ExchangeSchemaError, RateLimitedError, UnknownSymbolError } from "../../src/errors.ts";
import { kraken, krakenCommonTicker } from "../../src/exchanges/kraken.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { createExchangeClient } from "../../src/http/client.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { fetchRange } from "../../src/pipeline/fetch-range.ts";
import { createAutoClock } from "../helpers/clocks.ts";
import { fixture } from "./fixture.ts";
import { systemClock } from "../../src/clock.ts";
import { createCcxtAdapter } from "../../src/exchanges/ccxt.ts";
import { createCcxtClient, openCcxtExchange } from "../../src/http/ccxt-client.ts";
import { TOKENIZED_STOCKS } from "../../src/simulator/kraken.ts";
import { startSimulator } from "../../src/simulator/server.ts";

const BTC_USD: Market = { coin: "BTC", symbol: "XXBTZUSD", quote: "USD" };
const parse = (name: string, market: Market = BTC_USD) => kraken.parseCandles(fixture("kraken", name), { market, intervalMinutes: 1 });
const trades = kraken.trades!;

describe("kraken OHLC rows", () => {
  test("reads [time s, open, high, low, close, vwap, volume, count] with time in seconds", () => {
    expect(parse("candles.json")[0]).toEqual({ openTimeMs: 1717200000000, open: 67510.0, high: 67555.0, low: 67490.1, close: 67540.5, volume: 3.1045512 });
  });

  test("takes the base volume at index 6, not the VWAP at index 5", () => {
    const volumes = parse("candles.json").map((c) => c.volume);
    expect(volumes).toEqual([3.1045512, 0, 1.2]);
    expect(volumes).not.toContain(67522.3);
  });

  test("keeps a zero-trade row with volume 0 (aggregation skips it, feed-forward fills it)", () => {
    expect(parse("candles.json")[1]).toMatchObject({ openTimeMs: 1717200060000, volume: 0, open: 67540.5, close: 67540.5 });
  });

  test("finds the rows under the canonical key when the market was asked by altname", () => {
    const candles = parse("candles.json", { coin: "BTC", symbol: "XBTUSD", quote: "USD" });
    expect(candles).toHaveLength(3);
  });

  test("a row with a null price is a schema error", () => {
    expect(() => parse("candles-mangled.json")).toThrow(ExchangeSchemaError);
  });

  test("a result with two pair keys besides last is a schema error, not a guess", () => {
    const body = { error: [], result: { XXBTZUSD: [], XETHZUSD: [], last: 1 } };
    expect(() => kraken.parseCandles(body, { market: BTC_USD, intervalMinutes: 1 })).toThrow(/one pair key/);
  });

  test("a body with neither error nor result is a schema error", () => {
    expect(() => kraken.parseCandles({ error: [] }, { market: BTC_USD, intervalMinutes: 1 })).toThrow(ExchangeSchemaError);
    expect(() => kraken.parseCandles({ result: {} }, { market: BTC_USD, intervalMinutes: 1 })).toThrow(ExchangeSchemaError);
  });
});

describe("kraken errors inside HTTP 200", () => {
  test("EQuery:Unknown asset pair is an unknown symbol naming the pair", () => {
    expect(() => parse("ohlc-unknown-pair.json")).toThrow(UnknownSymbolError);
    expect(() => parse("ohlc-unknown-pair.json")).toThrow(/XXBTZUSD/);
  });

  test("EGeneral:Too many requests is a rate limit with a few seconds to wait", () => {
    let error: unknown;
    try {
      parse("ohlc-too-many-requests.json");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  test.each([
    ["EService:Busy", true],
    ["EService:Unavailable", true],
    ["EService:Throttled: 1717200100", true],
    ["EGeneral:Invalid arguments", false],
    ["EGeneral:Internal error", false],
  ])("%s is an API error, retryable: %p", (message, retryable) => {
    let error: unknown;
    try {
      kraken.parseCandles({ error: [message] }, { market: BTC_USD, intervalMinutes: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExchangeApiError);
    expect((error as ExchangeApiError).retryable).toBe(retryable);
    expect((error as Error).message).toContain(message.split(":")[0]!);
  });

  test("the error array is checked before the result, even when a result is present", () => {
    expect(() => kraken.parseCandles({ error: ["EService:Unavailable"], result: { XXBTZUSD: [], last: 0 } }, { market: BTC_USD, intervalMinutes: 1 })).toThrow(ExchangeApiError);
  });

  test("a non-2xx body with a Kraken error array gets the same mapping", () => {
    expect(kraken.parseErrorBody?.(400, fixture("kraken", "ohlc-unknown-pair.json"), "w")).toBeInstanceOf(UnknownSymbolError);
    expect(kraken.parseErrorBody?.(503, fixture("kraken", "ohlc-busy.json"), "w")).toBeInstanceOf(ExchangeApiError);
    expect(kraken.parseErrorBody?.(500, { error: [] }, "w")).toBeUndefined();
    expect(kraken.parseErrorBody?.(502, "<html>", "w")).toBeUndefined();
  });
});

describe("kraken OHLC request", () => {
  test("asks by the canonical pair key, interval in minutes, since in seconds one interval before the window", () => {
    const spec = kraken.candlesRequest(BTC_USD, 5, 1717200000000, 1717203600000);
    expect(spec.path).toBe("/0/public/OHLC");
    expect(spec.query).toEqual({ pair: "XXBTZUSD", interval: 5, since: 1717200000 - 300 });
  });

  test("draws from the per-pair budget as well as the global one", () => {
    const spec = kraken.candlesRequest(BTC_USD, 1, 1717200000000, 1717203600000);
    expect(spec.limitKey).toBe("XXBTZUSD");
    expect(spec.weight).toBe(1);
    expect(kraken.budget.perKey).toBeDefined();
  });

  test("declares the 720-most-recent limit so older windows are never asked for", () => {
    expect(kraken.recentCandlesOnly).toBe(720);
    expect(kraken.maxCandlesPerRequest).toBe(720);
  });

  test("refuses an interval Kraken does not serve", () => {
    expect(() => kraken.candlesRequest(BTC_USD, 3, 0, 180_000)).toThrow(/3m/);
  });
});

describe("kraken markets", () => {
  const markets = (pref: string[]) => kraken.parseMarkets(fixture("kraken", "asset-pairs.json"), pref);

  test("maps XXBT to BTC, XXDG to DOGE, XETH to ETH and ZUSD to USD", () => {
    const bySymbol = new Map(markets(["USD"]).map((m) => [m.symbol, m]));
    expect(bySymbol.get("XXBTZUSD")).toEqual({ coin: "BTC", symbol: "XXBTZUSD", quote: "USD" });
    expect(bySymbol.get("XDGUSD")).toEqual({ coin: "DOGE", symbol: "XDGUSD", quote: "USD" });
    expect(bySymbol.get("XETHZUSD")).toEqual({ coin: "ETH", symbol: "XETHZUSD", quote: "USD" });
  });

  test("never lets XBT, XDG or an X/Z-prefixed key through as a coin", () => {
    const coins = markets(["USDT", "USD", "EUR", "BTC"]).map((m) => m.coin);
    for (const bad of ["XBT", "XXBT", "XDG", "XXDG", "XETH", "ZUSD", "XNMC"]) expect(coins).not.toContain(bad);
  });

  test("prefers the first quote of the preference list the coin trades in", () => {
    const result = markets(["USDT", "USD"]);
    expect(result.find((m) => m.coin === "BTC")).toEqual({ coin: "BTC", symbol: "XBTUSDT", quote: "USDT" });
    expect(result.find((m) => m.coin === "ETH")).toEqual({ coin: "ETH", symbol: "XETHZUSD", quote: "USD" });
    expect(markets(["EUR"]).map((m) => m.symbol)).toEqual(["XXBTZEUR"]);
  });

  test("skips pairs that are not online and dark-pool pairs", () => {
    const symbols = markets(["USD"]).map((m) => m.symbol);
    expect(symbols).not.toContain("XXMRZUSD"); // delisted
    expect(symbols).not.toContain("XXLMZUSD"); // cancel_only
    expect(symbols).not.toContain("XXBTZUSD.d");
  });

  test("names legacy assets missing from the alias table by their display name", () => {
    expect(markets(["USD"]).find((m) => m.symbol === "XNMCZUSD")?.coin).toBe("NMC");
    expect(markets(["USD"]).find((m) => m.symbol === "LUNA2USD")?.coin).toBe("LUNA");
  });

  test("one market per coin, sorted by coin", () => {
    expect(markets(["USDT", "USD"]).map((m) => m.coin)).toEqual(["BTC", "DOGE", "ETH", "LUNA", "NMC", "SOL"]);
  });

  test("AssetPairs draws from a per-IP budget of its own, apart from any pair", () => {
    const spec = kraken.marketsRequest();
    expect(spec.path).toBe("/0/public/AssetPairs");
    expect(spec.limitKey).toBeDefined();
    expect(spec.limitKey).not.toMatch(/^[A-Z0-9]+$/);
  });

  test("a pair without a status (older answers) counts as online", () => {
    const body = { error: [], result: { XXBTZUSD: { altname: "XBTUSD", base: "XXBT", quote: "ZUSD" } } };
    expect(kraken.parseMarkets(body, ["USD"])).toEqual([{ coin: "BTC", symbol: "XXBTZUSD", quote: "USD" }]);
  });

  test("an error in the listing body is reported, not read as no markets", () => {
    expect(() => kraken.parseMarkets({ error: ["EService:Unavailable"] }, ["USD"])).toThrow(ExchangeApiError);
  });

  test.each([
    ["XXBT", "", "BTC"],
    ["XBT", "", "BTC"],
    ["XXDG", "XDG", "DOGE"],
    ["XDG", "", "DOGE"],
    ["XETH", "ETH", "ETH"],
    ["ZUSD", "USD", "USD"],
    ["ZEUR", "", "EUR"],
    ["USDT", "USDT", "USDT"],
    ["SOL", "SOL", "SOL"],
    ["ZETA", "ZETA", "ZETA"],
    ["XNMC", "NMC", "NMC"],
    ["LUNA", "LUNA", "LUNC"],
    ["LUNA2", "LUNA2", "LUNA"],
    ["UST", "UST", "USTC"],
  ])('asset %s (display "%s") is %s', (key, display, common) => {
    expect(krakenCommonTicker(key, display)).toBe(common);
  });
});

describe("kraken trades", () => {
  test("asks /0/public/Trades by pair with the nanosecond cursor passed through as a string", () => {
    const spec = trades.request(BTC_USD, "1717200003987600000");
    expect(spec.path).toBe("/0/public/Trades");
    expect(spec.query?.since).toBe("1717200003987600000");
    expect(spec.query?.pair).toBe("XXBTZUSD");
    expect(spec.limitKey).toBe("XXBTZUSD");
  });

  test("reads [price, volume, float seconds, side, type, misc, id?] with or without the trade id", () => {
    const { trades: rows } = trades.parse(fixture("kraken", "trades.json"), BTC_USD);
    expect(rows).toEqual([
      { timeMs: 1717200000123, price: 67510, volume: 0.015 },
      { timeMs: 1717200003987, price: 67512.4, volume: 0.2 },
      { timeMs: 1717200059999, price: 67490.1, volume: 0.05 },
      { timeMs: 1717200120000, price: 67530, volume: 1 },
    ]);
  });

  test("keeps the last cursor as the exact string (19 digits do not survive a double)", () => {
    expect(trades.parse(fixture("kraken", "trades.json"), BTC_USD).lastNs).toBe("1717200120000100000");
  });

  test("a numeric cursor is refused rather than silently rounded", () => {
    const body = { error: [], result: { XXBTZUSD: [], last: 1717200120000100000 } };
    expect(() => trades.parse(body, BTC_USD)).toThrow(ExchangeSchemaError);
  });

  test("a trade time sent as a string is a schema error", () => {
    expect(() => trades.parse(fixture("kraken", "trades-mangled.json"), BTC_USD)).toThrow(ExchangeSchemaError);
  });

  test("errors inside HTTP 200 are mapped as for OHLC", () => {
    expect(() => trades.parse(fixture("kraken", "ohlc-unknown-pair.json"), BTC_USD)).toThrow(UnknownSymbolError);
    expect(() => trades.parse(fixture("kraken", "ohlc-too-many-requests.json"), BTC_USD)).toThrow(RateLimitedError);
  });
});

describe("kraken serving fewer than 720 rows", () => {
  // ccxt #5682 observed 707–711 rows where 720 were expected. The buckets Kraken did not serve must
  // come back as a failed range, not as buckets without trades that feed-forward would fabricate.
  // Kraken sends zero rows for quiet minutes, so a missing row here is never "no trades".
  test("never reports a bucket as fetched when Kraken did not serve it", async () => {
    const nowMs = Date.UTC(2024, 5, 1, 12, 30, 25);
    const openNow = Math.floor(nowMs / 60_000) * 60_000;
    const served = 710;
    const rows = Array.from({ length: served }, (_, i) => [openNow / 1000 - (served - 1 - i) * 60, "1.0", "1.0", "1.0", "1.0", "1.0", "0.5", 3]);
    const body = JSON.stringify({ error: [], result: { XXBTZUSD: rows, last: openNow / 1000 - 60 } });
    const clock = createAutoClock(nowMs);
    const client = createExchangeClient({
      adapter: kraken,
      baseUrl: "http://kraken.invalid",
      fetch: async () => new Response(body, { status: 200 }),
      clock,
      logger: silentLogger,
      metrics: createMetrics(),
    });
    const oldestServed = openNow - (served - 1) * 60_000;
    const toOpenMs = openNow - 60_000;
    for await (const w of fetchRange({ client, adapter: kraken, market: BTC_USD, intervalMinutes: 1, fromOpenMs: toOpenMs - 718 * 60_000, toOpenMs, nowMs })) {
      if (w.ok) expect(w.fromOpenMs).toBeGreaterThanOrEqual(oldestServed);
    }
  });
});

describe("kraken listing: what is a coin", () => {
  test("tokenized stocks (aclass_base tokenized_asset) are not coins, natively or through ccxt", async () => {
    const sim = startSimulator({ port: 0 });
    try {
      const body = (await (await fetch(`${sim.baseUrls.kraken}/0/public/AssetPairs`)).json()) as { result: Record<string, unknown> };
      expect(Object.keys(body.result)).toContain("AAPLxUSD");
      const native = kraken.parseMarkets(body, ["USD", "USDT"]);
      const opened = openCcxtExchange({ id: "kraken", baseUrl: sim.baseUrls.kraken, fetch, clock: systemClock, metrics: createMetrics() })!;
      const adapter = createCcxtAdapter({ id: "kraken", name: "Kraken", exchange: opened.exchange });
      const client = createCcxtClient({ id: "kraken", ...opened, clock: systemClock, logger: silentLogger, metrics: createMetrics() });
      const viaCcxt = await client.request(adapter.marketsRequest(), (b) => adapter.parseMarkets(b, ["USD", "USDT"]));
      for (const markets of [native, viaCcxt]) {
        const coins = markets.map((m) => m.coin);
        expect(coins).toContain("BTC");
        expect(coins).toContain("NEO");
        for (const stock of TOKENIZED_STOCKS) expect(coins.some((c) => c.toUpperCase() === stock.toUpperCase())).toBe(false);
      }
      // USD first by default: the deep books.
      expect(native.find((m) => m.coin === "BTC")!.quote).toBe("USD");
    } finally {
      await sim.stop();
    }
  });
});
