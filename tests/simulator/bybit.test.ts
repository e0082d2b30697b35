import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import ccxt, { type OHLCV } from "ccxt";
import { BYBIT_BAN_MS, BYBIT_BANNED_BODY, BYBIT_DEFAULT_LIMIT, BYBIT_MAX_LIMIT, BYBIT_PARAM_ERROR, BYBIT_REQUESTS_PER_WINDOW, BYBIT_WINDOW_MS } from "../../src/simulator/bybit.ts";
import { simBucket, simInProgress, simMinute, simPreviousClose } from "../../src/simulator/market-data.ts";
import { startHarness } from "./harness.ts";

const M = 60_000;
const DAY = 1440 * M;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const CURRENT = NOW - (NOW % M);
const { sim, clock, get } = startHarness(NOW);
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

const kline = (query: string) => get(`/bybit/v5/market/kline?${query}`);
const spot = (symbol: string, query: string) => kline(`category=spot&symbol=${symbol}&${query}`);
const rowsOf = async (symbol: string, query: string) => (await spot(symbol, query)).body.result.list as string[][];
const asCandle = (row: string[]) => ({
  openTimeMs: Number(row[0]),
  open: Number(row[1]),
  high: Number(row[2]),
  low: Number(row[3]),
  close: Number(row[4]),
  volume: Number(row[5]),
});
const openTimes = (rows: string[][]) => rows.map((r) => Number(r[0]));

/** ccxt's bybit class with every API URL sent to the simulator and its clock read from ours. */
function ccxtBybit(): InstanceType<typeof ccxt.bybit> {
  const ex = new ccxt.bybit({ enableRateLimit: true, options: { fetchMarkets: { types: ["spot"] } } });
  const redirect = (urls: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(urls)) {
      if (typeof value === "string") urls[key] = value.replace(/^https?:\/\/[^/]+/, sim.baseUrls.bybit);
      else if (typeof value === "object" && value !== null) redirect(value as Record<string, unknown>);
    }
  };
  redirect(ex.urls.api as unknown as Record<string, unknown>);
  ex.milliseconds = () => clock.now();
  return ex;
}

describe("bybit", () => {
  test("answers retCode 0 with rows [startTime, open, high, low, close, volume, turnover] as strings, newest first, equal to the simulator's minutes", async () => {
    const start = CURRENT - 30 * M;
    const { status, body, headers } = await spot("BTCUSDT", `interval=1&start=${start}&end=${CURRENT - M}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ retCode: 0, retMsg: "OK", result: { category: "spot", symbol: "BTCUSDT" }, retExtInfo: {}, time: NOW });
    const rows = body.result.list as string[][];
    expect(openTimes(rows)).toEqual(Array.from({ length: 30 }, (_, i) => CURRENT - M - i * M));
    for (const row of rows) {
      expect(row).toHaveLength(7);
      expect(row.every((v) => typeof v === "string")).toBe(true);
      expect(asCandle(row)).toEqual(simMinute("bybit", "BTC", Number(row[0]))!);
      // volume is in the coin, turnover in the quote currency.
      expect(Number(row[6])).toBeGreaterThan(Number(row[5]) * 1000);
    }
    expect(headers.get("X-Bapi-Limit")).toBe(String(BYBIT_REQUESTS_PER_WINDOW));
    expect(headers.get("X-Bapi-Limit-Status")).toBe(String(BYBIT_REQUESTS_PER_WINDOW - 1));
    expect(headers.get("X-Bapi-Limit-Reset-Timestamp")).toBe(String(NOW));
  });

  test("puts the candle in progress first, as it stands at the simulator's now", async () => {
    const rows = await rowsOf("BTCUSDT", "interval=1&limit=3");
    expect(openTimes(rows)).toEqual([CURRENT, CURRENT - M, CURRENT - 2 * M]);
    expect(asCandle(rows[0]!)).toEqual(simInProgress("bybit", "BTC", 1, NOW)!);
    clock.set(CURRENT + 55_000);
    const later = await rowsOf("BTCUSDT", "interval=1&limit=1");
    expect(asCandle(later[0]!)).toEqual(simInProgress("bybit", "BTC", 1, CURRENT + 55_000)!);
    expect(Number(later[0]![5])).toBeGreaterThan(Number(rows[0]![5]));
  });

  test("starts at the bucket holding start, keeps buckets opening at or before end, and returns the oldest limit of a longer range", async () => {
    const mid = await rowsOf("ETHUSDT", `interval=1&start=${CURRENT - 10 * M + 30_000}&end=${CURRENT - 5 * M + 1}`);
    expect(openTimes(mid)).toEqual(Array.from({ length: 6 }, (_, i) => CURRENT - 5 * M - i * M));
    const start = CURRENT - 3000 * M;
    const byDefault = await rowsOf("ETHUSDT", `interval=1&start=${start}&end=${CURRENT}`);
    expect(byDefault).toHaveLength(BYBIT_DEFAULT_LIMIT);
    expect(Number(byDefault.at(-1)![0])).toBe(start);
    expect(Number(byDefault[0]![0])).toBe(start + (BYBIT_DEFAULT_LIMIT - 1) * M);
    const most = await rowsOf("ETHUSDT", `interval=1&start=${start}&limit=${BYBIT_MAX_LIMIT}`);
    expect(most).toHaveLength(BYBIT_MAX_LIMIT);
    expect(Number(most[0]![0])).toBe(start + (BYBIT_MAX_LIMIT - 1) * M);
    // Without start: the newest limit up to end.
    const upToEnd = await rowsOf("ETHUSDT", `interval=1&end=${CURRENT - M - 1}&limit=5`);
    expect(openTimes(upToEnd)).toEqual(Array.from({ length: 5 }, (_, i) => CURRENT - 2 * M - i * M));
    for (const limit of [BYBIT_MAX_LIMIT + 1, 0]) {
      const refused = await spot("ETHUSDT", `interval=1&start=${start}&limit=${limit}`);
      expect(refused.status).toBe(200);
      expect(refused.body.retCode).toBe(BYBIT_PARAM_ERROR);
    }
  });

  test("sends minutes without trades as zero-volume rows at the previous close, and leaves them out with omitEmpty", async () => {
    const start = CURRENT - 300 * M;
    const query = `interval=1&start=${start}&end=${CURRENT - M}&limit=300`;
    const traded = Array.from({ length: 300 }, (_, i) => start + i * M).filter((t) => simMinute("bybit", "DOGE", t) !== null);
    expect(traded.length).toBeLessThan(300);
    const all = await rowsOf("DOGEUSDT", query);
    expect(all).toHaveLength(300);
    const quiet = all.find((r) => simMinute("bybit", "DOGE", Number(r[0])) === null)!;
    const previous = String(simPreviousClose("bybit", "DOGE", Number(quiet[0]))!);
    expect(quiet.slice(1)).toEqual([previous, previous, previous, previous, "0", "0"]);
    sim.setFaults("bybit", { omitEmpty: true });
    const omitted = await rowsOf("DOGEUSDT", query);
    expect(openTimes(omitted).reverse()).toEqual(traded);
  });

  test("builds 5, 60, D, W and M candles from the minutes: days open 00:00 UTC, weeks on Monday, months on the 1st", async () => {
    const hourOpen = CURRENT - (CURRENT % (60 * M)) - 3 * 60 * M;
    const fives = await rowsOf("BTCUSDT", `interval=5&start=${hourOpen}&end=${hourOpen + 55 * M}`);
    expect(fives).toHaveLength(12);
    for (const row of fives) expect(asCandle(row)).toEqual(simBucket("bybit", "BTC", 5, Number(row[0]))!);
    const hours = await rowsOf("DOGEUSDT", `interval=60&start=${hourOpen + 10 * M}&end=${hourOpen + 60 * M}`);
    expect(openTimes(hours)).toEqual([hourOpen + 60 * M, hourOpen]);
    for (const row of hours) expect(asCandle(row)).toEqual(simBucket("bybit", "DOGE", 60, Number(row[0]))!);
    const day = Date.UTC(2024, 4, 30);
    const days = await rowsOf("BTCUSDT", `interval=D&start=${day + 7 * 60 * M}&end=${day}`);
    expect(openTimes(days)).toEqual([day]);
    expect(asCandle(days[0]!)).toEqual(simBucket("bybit", "BTC", 1440, day)!);
    const monday = Date.UTC(2024, 4, 20);
    const weeks = await rowsOf("BTCUSDT", `interval=W&start=${monday + 3 * DAY}&end=${monday + 3 * DAY}`);
    expect(openTimes(weeks)).toEqual([monday]);
    expect(new Date(monday).getUTCDay()).toBe(1);
    expect(asCandle(weeks[0]!)).toEqual(simBucket("bybit", "BTC", 7 * 1440, monday)!);
    const may = Date.UTC(2024, 4, 1);
    const months = await rowsOf("BTCUSDT", `interval=M&start=${Date.UTC(2024, 4, 15)}&end=${Date.UTC(2024, 4, 20)}`);
    expect(openTimes(months)).toEqual([may]);
    expect(asCandle(months[0]!)).toEqual(simBucket("bybit", "BTC", 31 * 1440, may)!);
  });

  test("answers an unknown or delisted symbol, a spot symbol without category=spot and bad parameters with HTTP 200 and retCode 10001", async () => {
    const unknown = await spot("SFMUSDT", "interval=1");
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ retCode: BYBIT_PARAM_ERROR, retMsg: "Not supported symbols", result: {}, retExtInfo: {}, time: NOW });
    // category defaults to linear, and the simulator lists no derivatives.
    expect((await kline("symbol=BTCUSDT&interval=1")).body.retMsg).toBe("Not supported symbols");
    sim.setFaults("bybit", { delisted: ["ETH"] });
    expect((await spot("ETHUSDT", "interval=1")).body.retMsg).toBe("Not supported symbols");
    for (const bad of ["interval=1m", "interval=d", "interval=1&start=-5", "interval=1&limit=abc"]) {
      const r = await spot("BTCUSDT", bad);
      expect(r.status).toBe(200);
      expect(r.body.retCode).toBe(BYBIT_PARAM_ERROR);
      expect(r.body.retMsg).not.toContain("Not supported symbols");
    }
    expect((await kline("category=option&symbol=BTCUSDT&interval=1")).body.retCode).toBe(BYBIT_PARAM_ERROR);
  });

  test("lists spot instruments with the fields ccxt reads, derivative categories empty, delisted coins left out", async () => {
    const { body } = await get("/bybit/v5/market/instruments-info?category=spot");
    expect(body).toMatchObject({ retCode: 0, retMsg: "OK", result: { category: "spot", nextPageCursor: "" }, retExtInfo: {}, time: NOW });
    const list = body.result.list as any[];
    expect(list.find((s) => s.symbol === "BTCUSDT")).toMatchObject({
      baseCoin: "BTC",
      quoteCoin: "USDT",
      status: "Trading",
      innovation: "0",
      marginTrading: "utaOnly",
      lotSizeFilter: { basePrecision: "0.0001", minOrderQty: "0.0001", minOrderAmt: "5" },
      priceFilter: { tickSize: "0.01" },
    });
    expect(list.find((s) => s.symbol === "NEOUSDT").status).toBe("Suspending");
    expect(list.some((s) => s.symbol === "BTCUSDC")).toBe(true);
    for (const category of ["linear", "inverse", "option"]) {
      expect((await get(`/bybit/v5/market/instruments-info?category=${category}`)).body.result).toEqual({ category, list: [], nextPageCursor: "" });
    }
    expect((await get("/bybit/v5/market/instruments-info")).body.retCode).toBe(BYBIT_PARAM_ERROR);
    sim.setFaults("bybit", { delisted: ["BTC"] });
    const without = (await get("/bybit/v5/market/instruments-info?category=spot")).body.result.list as any[];
    expect(without.some((s) => s.baseCoin === "BTC")).toBe(false);
  });

  test("tells the server time in seconds, nanoseconds and the envelope's milliseconds", async () => {
    const { body } = await get("/bybit/v5/market/time");
    expect(body).toEqual({ retCode: 0, retMsg: "OK", result: { timeSecond: String(Math.floor(NOW / 1000)), timeNano: `${NOW}000000` }, retExtInfo: {}, time: NOW });
  });

  test("refuses a request over the limit in any 5 s with 403 and keeps refusing for the ban, then lets the IP in again", async () => {
    sim.setFaults("bybit", { rateLimitScale: 0.01 }); // 6 requests in any 5 s
    const time = () => get("/bybit/v5/market/time");
    for (let i = 0; i < 3; i++) expect((await time()).status).toBe(200);
    clock.set(NOW + 4_000);
    for (let i = 0; i < 3; i++) expect((await time()).headers.get("X-Bapi-Limit-Status")).toBe(String(2 - i));
    // The window slides: the first three leave it 5 s after they came.
    clock.set(NOW + BYBIT_WINDOW_MS);
    for (let i = 0; i < 3; i++) expect((await time()).status).toBe(200);
    const refused = await time();
    expect(refused.status).toBe(403);
    expect(refused.text).toBe(BYBIT_BANNED_BODY);
    const banEnd = NOW + BYBIT_WINDOW_MS + BYBIT_BAN_MS;
    expect(refused.headers.get("X-Bapi-Limit-Reset-Timestamp")).toBe(String(banEnd));
    clock.set(NOW + 6 * BYBIT_WINDOW_MS);
    expect((await time()).status).toBe(403);
    expect((await spot("BTCUSDT", "interval=1&limit=1")).status).toBe(403);
    clock.set(banEnd - 1);
    expect((await time()).status).toBe(403);
    clock.set(banEnd);
    expect((await time()).status).toBe(200);
    expect(sim.stats().bybit).toMatchObject({ banned: 4, rateLimited: 0, errors: 0 });
  });

  test("forgets windows and lifts a ban on reset()", async () => {
    sim.setFaults("bybit", { rateLimitScale: 0.002 }); // 1 request in any 5 s
    expect((await get("/bybit/v5/market/time")).status).toBe(200);
    expect((await get("/bybit/v5/market/time")).status).toBe(403);
    sim.reset();
    sim.setFaults("bybit", { rateLimitScale: 0.002 });
    expect((await get("/bybit/v5/market/time")).status).toBe(200);
  });

  test("ccxt loads BTC/USDT as an active spot market and fetches exactly the simulator's candles", async () => {
    const ex = ccxtBybit();
    const markets = await ex.loadMarkets();
    expect(markets["BTC/USDT"]).toMatchObject({ id: "BTCUSDT", type: "spot", spot: true, active: true, precision: { amount: 0.0001, price: 0.01 } });
    expect(markets["NEO/USDT"]!.active).toBe(false);
    expect(Object.values(markets).every((m) => m!.spot)).toBe(true);
    const since = CURRENT - 2000 * M;
    const candles = await ex.fetchOHLCV("BTC/USDT", "1m", since, 1000);
    expect(candles).toHaveLength(1000);
    const expected = Array.from({ length: 1000 }, (_, i): OHLCV => {
      const c = simMinute("bybit", "BTC", since + i * M)!;
      return [c.openTimeMs, c.open, c.high, c.low, c.close, c.volume];
    });
    expect(candles).toEqual(expected);
    const latest = await ex.fetchOHLCV("BTC/USDT", "1m", undefined, 2);
    const forming = simInProgress("bybit", "BTC", 1, NOW)!;
    expect(latest.at(-1)).toEqual([CURRENT, forming.open, forming.high, forming.low, forming.close, forming.volume]);
  });

  test("ccxt raises BadSymbol for a symbol the exchange stopped serving and RateLimitExceeded for a 403 ban", async () => {
    const ex = ccxtBybit();
    await ex.loadMarkets();
    sim.setFaults("bybit", { delisted: ["ETH"] });
    await expect(ex.fetchOHLCV("ETH/USDT", "1m", CURRENT - 10 * M, 5)).rejects.toBeInstanceOf(ccxt.BadSymbol);
    await expect(ex.fetchOHLCV("BTC/USDT", "1m", CURRENT - 10 * M, BYBIT_MAX_LIMIT + 1)).rejects.toBeInstanceOf(ccxt.BadRequest);
    sim.setFaults("bybit", { rateLimitScale: 0.005 }); // 3 in any 5 s: three were made
    await expect(ex.fetchTime()).rejects.toBeInstanceOf(ccxt.RateLimitExceeded);
    clock.set(NOW + BYBIT_BAN_MS);
    expect(await ex.fetchTime()).toBe(NOW + BYBIT_BAN_MS);
  });
});
