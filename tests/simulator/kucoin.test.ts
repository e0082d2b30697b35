import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { KUCOIN_MAX_CANDLES } from "../../src/simulator/kucoin.ts";
import { simBucket, simInProgress, simMinute } from "../../src/simulator/market-data.ts";
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

const candles = (query: string) => get(`/kucoin/api/v1/market/candles?${query}`);
const seconds = (ms: number) => Math.floor(ms / 1000);
const asCandle = (row: string[]) => ({
  openTimeMs: Number(row[0]) * 1000,
  open: Number(row[1]),
  high: Number(row[3]),
  low: Number(row[4]),
  close: Number(row[2]),
  volume: Number(row[5]),
});

describe("kucoin", () => {
  test('answers code "200000" and rows [time, open, close, high, low, volume, turnover], all strings, newest first', async () => {
    const start = CURRENT - 30 * M;
    const { status, body } = await candles(`symbol=BTC-USDT&type=1min&startAt=${seconds(start)}&endAt=${seconds(CURRENT - M)}`);
    expect(status).toBe(200);
    expect(body.code).toBe("200000");
    const rows = body.data as string[][];
    expect(rows).toHaveLength(30);
    expect(rows[0]![0]).toBe(String(seconds(CURRENT - M)));
    expect(rows.at(-1)![0]).toBe(String(seconds(start)));
    for (const row of rows) {
      expect(row).toHaveLength(7);
      expect(row.every((v) => typeof v === "string")).toBe(true);
      expect(asCandle(row)).toEqual(simMinute("kucoin", "BTC", Number(row[0]) * 1000)!);
      expect(Number(row[6])).toBeGreaterThan(0);
    }
  });

  test("omits intervals without trades, unless told to send zero rows", async () => {
    const start = CURRENT - 300 * M;
    const query = `symbol=NEO-USDT&type=1min&startAt=${seconds(start)}&endAt=${seconds(CURRENT - M)}`;
    const traded = Array.from({ length: 300 }, (_, i) => start + i * M).filter((t) => simMinute("kucoin", "NEO", t) !== null);
    expect(traded.length).toBeLessThan(300);
    const rows = (await candles(query)).body.data as string[][];
    expect(rows.map((r) => Number(r[0]) * 1000).reverse()).toEqual(traded);
    sim.setFaults("kucoin", { omitEmpty: false });
    const all = (await candles(query)).body.data as string[][];
    expect(all).toHaveLength(300);
    const zero = all.find((r) => simMinute("kucoin", "NEO", Number(r[0]) * 1000) === null)!;
    expect(zero[5]).toBe("0");
    expect(zero[1]).toBe(zero[2]);
  });

  test("returns the newest 1500 candles when the window holds more", async () => {
    const start = CURRENT - 3000 * M;
    const end = CURRENT - M;
    const rows = (await candles(`symbol=ETH-USDT&type=1min&startAt=${seconds(start)}&endAt=${seconds(end)}`)).body.data as string[][];
    expect(rows).toHaveLength(KUCOIN_MAX_CANDLES);
    expect(rows[0]![0]).toBe(String(seconds(end)));
    expect(rows.at(-1)![0]).toBe(String(seconds(end - (KUCOIN_MAX_CANDLES - 1) * M)));
  });

  test("includes the candle in progress first when the window reaches now", async () => {
    const rows = (await candles(`symbol=BTC-USDT&type=1min&startAt=${seconds(CURRENT - 5 * M)}&endAt=${seconds(NOW) + 60}`)).body.data as string[][];
    expect(rows[0]![0]).toBe(String(seconds(CURRENT)));
    expect(asCandle(rows[0]!)).toEqual(simInProgress("kucoin", "BTC", 1, NOW)!);
    clock.set(CURRENT + 50_000);
    const later = (await candles(`symbol=BTC-USDT&type=1min&startAt=${seconds(CURRENT - 5 * M)}&endAt=${seconds(NOW) + 60}`)).body.data as string[][];
    expect(Number(later[0]![5])).toBeGreaterThan(Number(rows[0]![5]));
  });

  test("builds 1hour and 1day candles from the minutes, with times in seconds", async () => {
    const hour = 60 * M;
    const open = NOW - (NOW % hour) - 2 * hour;
    const rows = (await candles(`symbol=DOGE-USDT&type=1hour&startAt=${seconds(open)}&endAt=${seconds(open)}`)).body.data as string[][];
    expect(rows).toHaveLength(1);
    expect(asCandle(rows[0]!)).toEqual(simBucket("kucoin", "DOGE", 60, open)!);
    const day = Date.UTC(2024, 4, 30);
    const days = (await candles(`symbol=DOGE-USDT&type=1day&startAt=${seconds(day)}&endAt=${seconds(day)}`)).body.data as string[][];
    expect(asCandle(days[0]!)).toEqual(simBucket("kucoin", "DOGE", 1440, day)!);
  });

  test('answers an unknown pair with HTTP 400 and code "400100"', async () => {
    const r = await candles(`symbol=SFM-USDT&type=1min&startAt=${seconds(CURRENT - M)}&endAt=${seconds(CURRENT)}`);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: "400100", msg: "This pair is not provided at present" });
    const badType = await candles(`symbol=BTC-USDT&type=1m`);
    expect(badType.status).toBe(400);
    expect(badType.body.code).toBe("400100");
  });

  test('limits the public pool by weight per 30 s and refuses with 429, code "429000" and gw-ratelimit headers', async () => {
    sim.setFaults("kucoin", { rateLimitScale: 0.003 }); // 6 weight: two candle calls
    clock.set(Date.UTC(2024, 5, 1, 12, 30, 10));
    const query = `symbol=BTC-USDT&type=1min&startAt=${seconds(CURRENT - 2 * M)}&endAt=${seconds(CURRENT - M)}`;
    const ok = await candles(query);
    expect(ok.headers.get("gw-ratelimit-limit")).toBe("6");
    expect(ok.headers.get("gw-ratelimit-remaining")).toBe("3");
    expect(ok.headers.get("gw-ratelimit-reset")).toBe("20000");
    expect((await candles(query)).status).toBe(200);
    const refused = await candles(query);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: "429000", msg: "Too Many Requests" });
    expect(refused.headers.get("gw-ratelimit-remaining")).toBe("0");
    expect(refused.headers.get("gw-ratelimit-reset")).toBe("20000");
    clock.set(Date.UTC(2024, 5, 1, 12, 30, 30));
    expect((await candles(query)).status).toBe(200);
    expect(sim.stats().kucoin.rateLimited).toBe(1);
  });

  test("lists symbols with base and quote currencies and enableTrading", async () => {
    const { body } = await get("/kucoin/api/v2/symbols");
    expect(body.code).toBe("200000");
    expect(body.data.find((s: any) => s.symbol === "BTC-USDT")).toMatchObject({ name: "BTC-USDT", baseCurrency: "BTC", quoteCurrency: "USDT", enableTrading: true });
    expect(body.data.find((s: any) => s.symbol === "XMR-USDT").enableTrading).toBe(false);
    expect(body.data.some((s: any) => s.baseCurrency === "SFM")).toBe(false);
  });
});
