import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import ccxt, { type Exchange } from "ccxt";
import { COINBASE_MAX_CANDLES } from "../../src/simulator/coinbase.ts";
import { simBucket, simInProgress, simMinute, simPreviousClose, type SimCandle } from "../../src/simulator/market-data.ts";
import { startHarness } from "./harness.ts";

const M = 60_000;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const CURRENT = NOW - (NOW % M);
const { sim, clock, get } = startHarness(NOW);
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

type Row = Record<string, string>;
const seconds = (ms: number) => Math.floor(ms / 1000);
const candles = (product: string, query: string) => get(`/coinbase/api/v3/brokerage/market/products/${product}/candles?${query}`);
const oneMinute = (startMs: number, endMs: number) => `granularity=ONE_MINUTE&start=${seconds(startMs)}&end=${seconds(endMs)}`;
const rowsOf = async (product: string, query: string) => (await candles(product, query)).body.candles as Row[];
const asCandle = (row: Row): SimCandle => ({
  openTimeMs: Number(row.start) * 1000,
  open: Number(row.open),
  high: Number(row.high),
  low: Number(row.low),
  close: Number(row.close),
  volume: Number(row.volume),
});
const tradedMinutes = (coin: string, fromMs: number, toMs: number) => {
  const out: number[] = [];
  for (let t = fromMs; t <= toMs; t += M) if (simMinute("coinbase", coin, t) !== null) out.push(t);
  return out;
};

/** ccxt's coinbase class with every API URL pointed at the simulator and its clock on the simulator's. */
function ccxtAgainstSimulator(): Exchange {
  const ex = new ccxt.coinbase({ enableRateLimit: true });
  const rewrite = (value: unknown): unknown =>
    typeof value === "string" ? value.replace(/^https?:\/\/[^/]+/, sim.baseUrls.coinbase) : Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, rewrite(v)]));
  ex.urls.api = rewrite(ex.urls.api) as typeof ex.urls.api;
  ex.milliseconds = () => clock.now();
  return ex;
}
let exchange: Exchange | undefined;
const ccxtCoinbase = () => (exchange ??= ccxtAgainstSimulator());

describe("coinbase", () => {
  test("serves closed minutes as objects of strings, newest first, equal to the simulator's minutes", async () => {
    const start = CURRENT - 30 * M;
    const { status, body } = await candles("BTC-USD", oneMinute(start, CURRENT - M));
    expect(status).toBe(200);
    const rows = body.candles as Row[];
    const traded = tradedMinutes("BTC", start, CURRENT - M);
    expect(rows.map((r) => Number(r.start) * 1000)).toEqual(traded.reverse());
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(["start", "low", "high", "open", "close", "volume"]);
      expect(Object.values(row).every((v) => typeof v === "string")).toBe(true);
      expect(asCandle(row)).toEqual(simMinute("coinbase", "BTC", Number(row.start) * 1000)!);
    }
  });

  test("puts the forming candle first, as it stands at the simulator's now", async () => {
    const query = oneMinute(CURRENT - 5 * M, NOW + M);
    const rows = await rowsOf("BTC-USD", query);
    expect(Number(rows[0]!.start) * 1000).toBe(CURRENT);
    expect(asCandle(rows[0]!)).toEqual(simInProgress("coinbase", "BTC", 1, NOW)!);
    expect(asCandle(rows[1]!)).toEqual(simMinute("coinbase", "BTC", CURRENT - M)!);
    clock.set(CURRENT + 55_000);
    const later = await rowsOf("BTC-USD", query);
    expect(asCandle(later[0]!)).toEqual(simInProgress("coinbase", "BTC", 1, CURRENT + 55_000)!);
  });

  test("includes candles opening on start and on end, returns the newest limit of them, and refuses more than 350", async () => {
    // ETH trades every minute here, so the counts are exact.
    const end = CURRENT - M;
    expect(tradedMinutes("ETH", end - 400 * M, end)).toHaveLength(401);
    const both = await rowsOf("ETH-USD", oneMinute(end - 10 * M, end));
    expect(both).toHaveLength(11);
    expect([both[0]!.start, both.at(-1)!.start]).toEqual([String(seconds(end)), String(seconds(end - 10 * M))]);
    const five = await rowsOf("ETH-USD", `${oneMinute(end - 10 * M, end)}&limit=5`);
    expect(five.map((r) => r.start)).toEqual(both.slice(0, 5).map((r) => r.start));
    // A span of 350 intervals passes (351 buckets on its bounds: the newest 350 come back).
    const widest = await rowsOf("ETH-USD", oneMinute(end - 350 * M, end));
    expect(widest).toHaveLength(COINBASE_MAX_CANDLES);
    expect(widest.at(-1)!.start).toBe(String(seconds(end - 349 * M)));
    const tooMany = await candles("ETH-USD", oneMinute(end - 351 * M, end));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual({
      error: "INVALID_ARGUMENT",
      error_details: "start and end argument is invalid - number of candles requested should be less than 350",
      message: "start and end argument is invalid - number of candles requested should be less than 350",
    });
    expect((await candles("ETH-USD", `${oneMinute(end - 10 * M, end)}&limit=351`)).status).toBe(400);
    expect((await candles("ETH-USD", oneMinute(end, end - M))).body.error).toBe("INVALID_ARGUMENT");
    expect((await candles("ETH-USD", `granularity=ONE_MINUTE&start=${seconds(end)}`)).status).toBe(400);
  });

  test("omits minutes without trades, unless the fault asks for zero-volume rows at the previous close", async () => {
    const start = CURRENT - 300 * M;
    const end = CURRENT - M;
    const traded = tradedMinutes("DOGE", start, end);
    expect(traded.length).toBeLessThan(300);
    const rows = await rowsOf("DOGE-USD", oneMinute(start, end));
    expect(rows.map((r) => Number(r.start) * 1000).reverse()).toEqual(traded);
    sim.setFaults("coinbase", { omitEmpty: false });
    const all = await rowsOf("DOGE-USD", oneMinute(start, end));
    expect(all).toHaveLength(300);
    const quiet = all.find((r) => simMinute("coinbase", "DOGE", Number(r.start) * 1000) === null)!;
    const previous = simPreviousClose("coinbase", "DOGE", Number(quiet.start) * 1000)!;
    expect(asCandle(quiet)).toEqual({ openTimeMs: Number(quiet.start) * 1000, open: previous, high: previous, low: previous, close: previous, volume: 0 });
  });

  test("builds FIVE_MINUTE and ONE_HOUR candles equal to the simulator's buckets, and ONE_DAY from 00:00 UTC", async () => {
    const five = CURRENT - (CURRENT % (5 * M)) - 20 * M;
    const fives = await rowsOf("SOL-USD", `granularity=FIVE_MINUTE&start=${seconds(five)}&end=${seconds(five + 15 * M)}`);
    expect(fives.map(asCandle)).toEqual([15, 10, 5, 0].map((k) => simBucket("coinbase", "SOL", 5, five + k * M)!));
    const hour = NOW - (NOW % (60 * M)) - 2 * 60 * M;
    const hours = await rowsOf("DOGE-USD", `granularity=ONE_HOUR&start=${seconds(hour)}&end=${seconds(hour)}`);
    expect(hours.map(asCandle)).toEqual([simBucket("coinbase", "DOGE", 60, hour)!]);
    const day = Date.UTC(2024, 4, 30);
    const days = await rowsOf("DOGE-USD", `granularity=ONE_DAY&start=${seconds(day - 12 * 60 * M)}&end=${seconds(day + 12 * 60 * M)}`);
    expect(days.map(asCandle)).toEqual([simBucket("coinbase", "DOGE", 1440, day)!]);
  });

  test("answers an unknown or delisted product with 404 NOT_FOUND and an unknown granularity with 400 INVALID_ARGUMENT", async () => {
    const query = oneMinute(CURRENT - 5 * M, CURRENT);
    const unknown = await candles("SFM-USD", query);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: "NOT_FOUND", error_details: "Product SFM-USD not supported", message: "Product SFM-USD not supported" });
    const fourHours = await candles("BTC-USD", `granularity=FOUR_HOUR&start=${seconds(CURRENT - 5 * M)}&end=${seconds(CURRENT)}`);
    expect(fourHours.status).toBe(400);
    expect(fourHours.body.error).toBe("INVALID_ARGUMENT");
    sim.setFaults("coinbase", { delisted: ["BTC"] });
    expect((await candles("BTC-USD", query)).status).toBe(404);
    expect((await candles("BTC-USDC", query)).status).toBe(404);
    expect((await candles("ETH-USD", query)).status).toBe(200);
  });

  test("allows 10 requests a second (scaled by rateLimitScale), then answers 429 until the next second", async () => {
    const query = oneMinute(CURRENT - 2 * M, CURRENT - M);
    for (let i = 0; i < 10; i++) expect((await candles("BTC-USD", query)).status).toBe(200);
    expect((await candles("BTC-USD", query)).status).toBe(429);
    sim.reset();
    sim.setFaults("coinbase", { rateLimitScale: 0.2 });
    expect((await candles("BTC-USD", query)).status).toBe(200);
    expect((await get("/coinbase/api/v3/brokerage/time")).status).toBe(200);
    const refused = await candles("BTC-USD", query);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ message: "Too Many Requests" });
    // The Coinbase App (v2) endpoints have their own hourly budget.
    expect((await get("/coinbase/v2/currencies")).status).toBe(200);
    expect(sim.stats().coinbase.rateLimited).toBe(1);
    clock.set(NOW + 1000);
    expect((await candles("BTC-USD", query)).status).toBe(200);
  });

  test("lists spot products with USDC books as aliases of the USD books, disabled ones not tradable, and no futures", async () => {
    const { body } = await get("/coinbase/api/v3/brokerage/market/products");
    const byId = new Map((body.products as any[]).map((p) => [p.product_id, p]));
    expect(body.num_products).toBe(byId.size);
    expect(byId.get("BTC-USD")).toMatchObject({
      base_currency_id: "BTC",
      quote_currency_id: "USD",
      status: "online",
      trading_disabled: false,
      product_type: "SPOT",
      alias_to: ["BTC-USDC"],
    });
    expect(byId.get("BTC-USDC")).toMatchObject({ quote_currency_id: "USDC", alias: "BTC-USD", alias_to: [] });
    expect(byId.get("XLM-USD")).toMatchObject({ status: "STATUS_DISABLED", trading_disabled: true });
    expect(Number(byId.get("BTC-USD").price)).toBe(simInProgress("coinbase", "BTC", 1, NOW)!.close);
    expect((await get("/coinbase/api/v3/brokerage/market/products?product_type=FUTURE&contract_expiry_type=PERPETUAL")).body.products).toEqual([]);
    expect((await get("/coinbase/api/v3/brokerage/market/products/ETH-USD")).body.product_id).toBe("ETH-USD");
    expect((await get("/coinbase/api/v3/brokerage/time")).body.epochMillis).toBe(String(NOW));
    sim.setFaults("coinbase", { delisted: ["ETH"] });
    const after = (await get("/coinbase/api/v3/brokerage/market/products")).body.products as any[];
    expect(after.some((p) => p.base_currency_id === "ETH")).toBe(false);
    expect((await get("/coinbase/api/v3/brokerage/market/products/ETH-USD")).status).toBe(404);
  });

  test("ccxt's coinbase loads its markets from the simulator and fetches exactly the simulator's candles", async () => {
    const ex = ccxtCoinbase();
    expect(ex.name).toBe("Coinbase Advanced");
    const markets = await ex.loadMarkets();
    expect(markets["BTC/USD"]).toMatchObject({ id: "BTC-USD", spot: true, active: true });
    expect(markets["XLM/USD"]!.active).toBe(false);
    expect(Object.values(markets).every((m) => m?.spot === true)).toBe(true);
    const since = CURRENT - 299 * M;
    const rows = await ex.fetchOHLCV("BTC/USD", "1m", since, 300);
    const closed = rows.filter((r) => r[0]! < CURRENT);
    const expected = tradedMinutes("BTC", since, CURRENT - M).map((t) => simMinute("coinbase", "BTC", t)!);
    expect(closed).toEqual(expected.map((c) => [c.openTimeMs, c.open, c.high, c.low, c.close, c.volume]));
    const forming = rows.filter((r) => r[0]! >= CURRENT);
    const now = simInProgress("coinbase", "BTC", 1, NOW)!;
    expect(forming).toEqual([[CURRENT, now.open, now.high, now.low, now.close, now.volume]]);
    // With `until`, ccxt sends it as `end`: an older window, closed candles only.
    const until = CURRENT - 400 * M;
    const older = await ex.fetchOHLCV("DOGE/USD", "1m", until - 299 * M, 300, { until });
    const quiet = tradedMinutes("DOGE", until - 299 * M, until).map((t) => simMinute("coinbase", "DOGE", t)!);
    expect(older).toEqual(quiet.map((c) => [c.openTimeMs, c.open, c.high, c.low, c.close, c.volume]));
  });

  test("ccxt raises BadSymbol for an unknown symbol, ExchangeError for a delisted product and RateLimitExceeded on a 429", async () => {
    const ex = ccxtCoinbase();
    await ex.loadMarkets();
    const since = CURRENT - 10 * M;
    // Not in the loaded markets: ccxt refuses before sending anything.
    await expect(ex.fetchOHLCV("SFM/USD", "1m", since, 10)).rejects.toBeInstanceOf(ccxt.BadSymbol);
    // ccxt maps no Advanced Trade error to BadSymbol: NOT_FOUND falls through to ExchangeError.
    sim.setFaults("coinbase", { delisted: ["ETH"] });
    const delisted = await ex.fetchOHLCV("ETH/USD", "1m", since, 10).catch((e: unknown) => e);
    expect(delisted).toBeInstanceOf(ccxt.ExchangeError);
    expect(delisted).not.toBeInstanceOf(ccxt.BadSymbol);
    sim.reset();
    sim.setFaults("coinbase", { rateLimitScale: 0.1 });
    expect(await ex.fetchOHLCV("BTC/USD", "1m", since, 10)).toHaveLength(10);
    await expect(ex.fetchOHLCV("BTC/USD", "1m", since, 10)).rejects.toBeInstanceOf(ccxt.RateLimitExceeded);
  });
});
