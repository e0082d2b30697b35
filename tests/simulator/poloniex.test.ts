import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { simBucket, simInProgress, simMinute, simPreviousClose } from "../../src/simulator/market-data.ts";
import { POLONIEX_UNKNOWN_SYMBOL_CODE } from "../../src/simulator/poloniex.ts";
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

const candles = (symbol: string, query: string) => get(`/poloniex/markets/${symbol}/candles?${query}`);
const asCandle = (row: any[]) => ({ openTimeMs: row[12], open: Number(row[2]), high: Number(row[1]), low: Number(row[0]), close: Number(row[3]), volume: Number(row[5]) });

describe("poloniex", () => {
  test("serves 14-field rows [low, high, open, close, amount, quantity, …, startTime, closeTime], oldest first", async () => {
    const start = CURRENT - 10 * M;
    const { status, body } = await candles("BTC_USDT", `interval=MINUTE_1&startTime=${start}&endTime=${CURRENT - 1}`);
    expect(status).toBe(200);
    expect(body).toHaveLength(10);
    for (const [i, row] of (body as any[][]).entries()) {
      expect(row).toHaveLength(14);
      expect(row.slice(0, 8).every((v) => typeof v === "string")).toBe(true);
      expect(Number.isInteger(row[8])).toBe(true);
      expect(Number.isInteger(row[9])).toBe(true);
      expect(row[11]).toBe("MINUTE_1");
      expect(row[12]).toBe(start + i * M);
      expect(row[13]).toBe(row[12] + M - 1);
      expect(row[9]).toBeGreaterThan(row[13]);
      expect(row[9]).toBeLessThanOrEqual(NOW);
      expect(asCandle(row)).toEqual(simMinute("poloniex", "BTC", row[12])!);
      // amount is in the quote currency, quantity in the coin.
      expect(Number(row[4])).toBeGreaterThan(Number(row[5]) * 1000);
    }
  });

  test("returns the most recent limit candles of a longer range: 100 by default, 500 at most", async () => {
    const start = CURRENT - 2000 * M;
    const end = CURRENT - 1;
    const byDefault = (await candles("ETH_USDT", `interval=MINUTE_1&startTime=${start}&endTime=${end}`)).body as any[][];
    expect(byDefault).toHaveLength(100);
    expect(byDefault.at(-1)![12]).toBe(CURRENT - M);
    expect(byDefault[0]![12]).toBe(CURRENT - 100 * M);
    const most = (await candles("ETH_USDT", `interval=MINUTE_1&startTime=${start}&endTime=${end}&limit=500`)).body as any[][];
    expect(most).toHaveLength(500);
    expect(most[0]![12]).toBe(CURRENT - 500 * M);
    const tooMany = await candles("ETH_USDT", `interval=MINUTE_1&startTime=${start}&limit=501`);
    expect(tooMany.status).toBe(400);
    expect(typeof tooMany.body.code).toBe("number");
  });

  test("includes the candle in progress last when the range reaches now", async () => {
    const rows = (await candles("BTC_USDT", `interval=MINUTE_1&limit=3`)).body as any[][];
    expect(rows.at(-1)![12]).toBe(CURRENT);
    expect(rows.at(-1)![9]).toBe(NOW);
    expect(asCandle(rows.at(-1)!)).toEqual(simInProgress("poloniex", "BTC", 1, NOW)!);
  });

  test("sends zero-volume rows at the previous close for minutes without trades", async () => {
    let open = CURRENT - 300 * M;
    while (simMinute("poloniex", "NEO", open) !== null) open += M;
    const row = ((await candles("NEO_USDT", `interval=MINUTE_1&startTime=${open}&endTime=${open}`)).body as any[][])[0]!;
    const previous = simPreviousClose("poloniex", "NEO", open)!;
    expect(row.slice(0, 4).map(Number)).toEqual([previous, previous, previous, previous]);
    expect(row[5]).toBe("0");
    expect(row[8]).toBe(0);
  });

  test("builds HOUR_1 and DAY_1 from the minutes", async () => {
    const hour = 60 * M;
    const open = NOW - (NOW % hour) - hour;
    const rows = (await candles("DOGE_USDT", `interval=HOUR_1&startTime=${open}&endTime=${open}`)).body as any[][];
    expect(rows).toHaveLength(1);
    expect(rows[0]![11]).toBe("HOUR_1");
    expect(asCandle(rows[0]!)).toEqual(simBucket("poloniex", "DOGE", 60, open)!);
  });

  test("answers errors as {code, message}: unknown symbol, missing or bad interval", async () => {
    const unknown = await candles("SFM_USDT", "interval=MINUTE_1");
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ code: POLONIEX_UNKNOWN_SYMBOL_CODE, message: expect.any(String) });
    const missing = await candles("BTC_USDT", "");
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe(602);
    expect((await candles("BTC_USDT", "interval=1m")).body.code).toBe(601);
  });

  test("allows 200 requests a second and refuses more with 429", async () => {
    sim.setFaults("poloniex", { rateLimitScale: 0.01 }); // 2 a second
    clock.set(Date.UTC(2024, 5, 1, 12, 30, 25, 100));
    expect((await candles("BTC_USDT", "interval=MINUTE_1&limit=1")).status).toBe(200);
    expect((await get("/poloniex/markets")).status).toBe(200);
    const refused = await candles("BTC_USDT", "interval=MINUTE_1&limit=1");
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: expect.any(Number), message: expect.stringMatching(/too many requests/i) });
    clock.set(Date.UTC(2024, 5, 1, 12, 30, 26));
    expect((await candles("BTC_USDT", "interval=MINUTE_1&limit=1")).status).toBe(200);
    expect(sim.stats().poloniex.rateLimited).toBe(1);
  });

  test("lists markets with symbol, base and quote names and state", async () => {
    const all = (await get("/poloniex/markets")).body as any[];
    expect(all.find((m) => m.symbol === "BTC_USDT")).toMatchObject({ baseCurrencyName: "BTC", quoteCurrencyName: "USDT", state: "NORMAL", displayName: "BTC/USDT" });
    expect(all.some((m) => m.state !== "NORMAL")).toBe(true);
    expect((await get("/poloniex/markets/NEO_USDT")).body).toEqual([all.find((m) => m.symbol === "NEO_USDT")]);
    expect((await get("/poloniex/markets/NOPE_USDT")).status).toBe(400);
  });
});
