import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { BINANCE_BAN_MS, BINANCE_REFUSALS_BEFORE_BAN } from "../../src/simulator/binance.ts";
import { simBucket, simInProgress, simMinute, simPreviousClose } from "../../src/simulator/market-data.ts";
import { startHarness } from "./harness.ts";

const M = 60_000;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const { sim, clock, get } = startHarness(NOW);
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

const klines = (query: string) => get(`/binance/api/v3/klines?${query}`);
const asCandle = (row: any[]) => ({ openTimeMs: row[0], open: Number(row[1]), high: Number(row[2]), low: Number(row[3]), close: Number(row[4]), volume: Number(row[5]) });

describe("binance", () => {
  test("serves klines oldest first in the 12-field wire format, equal to the simulator's minutes", async () => {
    const start = NOW - 120 * M - (NOW % M);
    const { status, body } = await klines(`symbol=BTCUSDT&interval=1m&startTime=${start}&limit=5`);
    expect(status).toBe(200);
    expect(body).toHaveLength(5);
    for (const [i, row] of (body as any[][]).entries()) {
      expect(row).toHaveLength(12);
      expect(typeof row[0]).toBe("number");
      expect(row.slice(1, 6).every((v) => typeof v === "string")).toBe(true);
      expect(row[6]).toBe(row[0] + M - 1);
      expect(typeof row[7]).toBe("string");
      expect(Number.isInteger(row[8])).toBe(true);
      expect(row[11]).toBe("0");
      expect(row[1]).toMatch(/^\d+\.\d{8}$/);
      expect(row[0]).toBe(start + i * M);
      expect(asCandle(row)).toEqual(simMinute("binance", "BTC", row[0])!);
      expect(Number(row[9])).toBeLessThanOrEqual(Number(row[5]));
    }
  });

  test("returns the first limit klines from startTime: 500 by default, 1000 at most", async () => {
    const start = NOW - 5000 * M - (NOW % M);
    const byDefault = (await klines(`symbol=ETHUSDT&interval=1m&startTime=${start}`)).body as any[][];
    expect(byDefault).toHaveLength(500);
    expect(byDefault[0]![0]).toBe(start);
    expect(byDefault.at(-1)![0]).toBe(start + 499 * M);
    const most = (await klines(`symbol=ETHUSDT&interval=1m&startTime=${start}&endTime=${NOW}&limit=1000`)).body as any[][];
    expect(most).toHaveLength(1000);
    expect(most[0]![0]).toBe(start);
    const tooMany = await klines(`symbol=ETHUSDT&interval=1m&startTime=${start}&limit=1001`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual({ code: -1130, msg: "Data sent for parameter 'limit' is not valid." });
  });

  test("stops at endTime, including a kline that opens exactly on it", async () => {
    const start = NOW - 100 * M - (NOW % M);
    const rows = (await klines(`symbol=ETHUSDT&interval=1m&startTime=${start}&endTime=${start + 10 * M}`)).body as any[][];
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 11 }, (_, i) => start + i * M));
  });

  test("without startTime returns the most recent klines up to endTime, or up to now", async () => {
    const end = NOW - 50 * M;
    const rows = (await klines(`symbol=ETHUSDT&interval=1m&endTime=${end}&limit=10`)).body as any[][];
    expect(rows).toHaveLength(10);
    expect(rows.at(-1)![0]).toBe(end - (end % M));
    const latest = (await klines(`symbol=ETHUSDT&interval=1m&limit=3`)).body as any[][];
    expect(latest.at(-1)![0]).toBe(NOW - (NOW % M));
  });

  test("includes the kline in progress, with a close time in the future, and it changes within the minute", async () => {
    const open = NOW - (NOW % M);
    const first = ((await klines(`symbol=BTCUSDT&interval=1m&limit=2`)).body as any[][]).at(-1)!;
    expect(first[0]).toBe(open);
    expect(first[6]).toBeGreaterThan(NOW);
    expect(asCandle(first)).toEqual(simInProgress("binance", "BTC", 1, NOW)!);
    clock.set(open + 50_000);
    const later = ((await klines(`symbol=BTCUSDT&interval=1m&limit=2`)).body as any[][]).at(-1)!;
    expect(Number(later[5])).toBeGreaterThan(Number(first[5]));
    clock.set(open + M + 1000);
    const closed = ((await klines(`symbol=BTCUSDT&interval=1m&limit=2`)).body as any[][])[0]!;
    expect(asCandle(closed)).toEqual(simMinute("binance", "BTC", open)!);
  });

  test("sends a zero-volume kline priced at the previous close for a minute without trades", async () => {
    let open = NOW - 600 * M - (NOW % M);
    while (simMinute("binance", "NEO", open) !== null) open += M;
    const row = ((await klines(`symbol=NEOUSDT&interval=1m&startTime=${open}&limit=1`)).body as any[][])[0]!;
    const previous = simPreviousClose("binance", "NEO", open)!;
    expect(row[0]).toBe(open);
    expect([row[1], row[2], row[3], row[4]].map(Number)).toEqual([previous, previous, previous, previous]);
    expect(row[5]).toBe("0.00000000");
    expect(row[8]).toBe(0);
  });

  test("builds native intervals from the minutes: 5m, 1h and 1d", async () => {
    for (const [name, minutes] of [
      ["5m", 5],
      ["1h", 60],
      ["1d", 1440],
    ] as const) {
      const size = minutes * M;
      const start = Math.floor((NOW - 3 * size) / size) * size;
      const rows = (await klines(`symbol=DOGEUSDT&interval=${name}&startTime=${start}&limit=2`)).body as any[][];
      expect(rows.map((r) => r[0])).toEqual([start, start + size]);
      expect(rows[0]![6]).toBe(start + size - 1);
      expect(asCandle(rows[0]!)).toEqual(simBucket("binance", "DOGE", minutes, start)!);
    }
  });

  test("tells 1M (a month) from 1m (a minute), opens weeks on Monday and rejects unknown intervals", async () => {
    const months = (await klines(`symbol=BTCUSDT&interval=1M&limit=3`)).body as any[][];
    expect(months.map((r) => new Date(r[0]).toISOString())).toEqual(["2024-04-01T00:00:00.000Z", "2024-05-01T00:00:00.000Z", "2024-06-01T00:00:00.000Z"]);
    expect(months[1]![6]).toBe(Date.UTC(2024, 5, 1) - 1);
    const weeks = (await klines(`symbol=BTCUSDT&interval=1w&limit=2`)).body as any[][];
    expect(weeks.map((r) => new Date(r[0]).getUTCDay())).toEqual([1, 1]);
    const minute = (await klines(`symbol=BTCUSDT&interval=1m&limit=1`)).body as any[][];
    expect(minute[0]![6] - minute[0]![0]).toBe(M - 1);
    for (const bad of ["1x", "1S", "60", "1s"]) {
      const r = await klines(`symbol=BTCUSDT&interval=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ code: -1120, msg: "Invalid interval." });
    }
  });

  test("answers an unknown symbol with -1121 and bad or missing parameters with -1100/-1102", async () => {
    expect((await klines("symbol=SFMUSDT&interval=1m")).body).toEqual({ code: -1121, msg: "Invalid symbol." });
    expect((await klines("symbol=btcusdt&interval=1m")).status).toBe(400);
    const missing = await klines("interval=1m");
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe(-1102);
    expect((await klines("symbol=BTCUSDT")).body.code).toBe(-1102);
    expect((await klines("symbol=BTCUSDT&interval=1m&startTime=yesterday")).body.code).toBe(-1100);
    expect((await klines(`symbol=BTCUSDT&interval=1m&startTime=${NOW}&endTime=${NOW - M}`)).body.code).toBe(-1023);
  });

  test("reports the weight used this minute in X-MBX-USED-WEIGHT-1M: klines 2, exchangeInfo 20", async () => {
    clock.set(Date.UTC(2024, 5, 1, 13, 0, 0));
    expect((await klines("symbol=BTCUSDT&interval=1m&limit=1")).headers.get("x-mbx-used-weight-1m")).toBe("2");
    expect((await get("/binance/api/v3/exchangeInfo")).headers.get("x-mbx-used-weight-1m")).toBe("22");
    expect((await klines("symbol=NOPE&interval=1m")).headers.get("x-mbx-used-weight-1m")).toBe("24");
    clock.set(Date.UTC(2024, 5, 1, 13, 1, 0));
    expect((await klines("symbol=BTCUSDT&interval=1m&limit=1")).headers.get("x-mbx-used-weight-1m")).toBe("2");
  });

  test("refuses with 429 and Retry-After over the weight limit, then bans with 418 a client that keeps calling", async () => {
    sim.setFaults("binance", { rateLimitScale: 0.001 }); // 6 weight a minute: three klines calls
    clock.set(Date.UTC(2024, 5, 1, 13, 0, 15));
    for (let i = 0; i < 3; i++) expect((await klines("symbol=BTCUSDT&interval=1m&limit=1")).status).toBe(200);
    for (let i = 0; i < BINANCE_REFUSALS_BEFORE_BAN; i++) {
      const refused = await klines("symbol=BTCUSDT&interval=1m&limit=1");
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("45");
      expect(refused.body.code).toBe(-1003);
    }
    const banned = await klines("symbol=BTCUSDT&interval=1m&limit=1");
    expect(banned.status).toBe(418);
    expect(banned.headers.get("retry-after")).toBe(String(BINANCE_BAN_MS / 1000));
    clock.set(Date.UTC(2024, 5, 1, 13, 1, 30)); // a new weight window, but the ban lasts
    const still = await get("/binance/api/v3/exchangeInfo");
    expect(still.status).toBe(418);
    expect(still.headers.get("retry-after")).toBe("45");
    clock.set(Date.UTC(2024, 5, 1, 13, 2, 16));
    expect((await klines("symbol=BTCUSDT&interval=1m&limit=1")).status).toBe(200);
    expect(sim.stats().binance).toMatchObject({ rateLimited: BINANCE_REFUSALS_BEFORE_BAN, banned: 2 });
  });

  test("a client that waits as told after a 429 is served again without a ban", async () => {
    sim.setFaults("binance", { rateLimitScale: 0.001 });
    clock.set(Date.UTC(2024, 5, 1, 13, 0, 50));
    for (let i = 0; i < 3; i++) await klines("symbol=BTCUSDT&interval=1m&limit=1");
    const refused = await klines("symbol=BTCUSDT&interval=1m&limit=1");
    expect(refused.status).toBe(429);
    clock.set(clock.now() + Number(refused.headers.get("retry-after")) * 1000);
    expect((await klines("symbol=BTCUSDT&interval=1m&limit=1")).status).toBe(200);
  });

  test("lists symbols with status, base and quote assets and the request-weight limit in exchangeInfo", async () => {
    const info = (await get("/binance/api/v3/exchangeInfo")).body;
    expect(info.timezone).toBe("UTC");
    expect(info.serverTime).toBe(NOW);
    expect(info.rateLimits).toContainEqual({ rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: 6000 });
    expect(info.symbols.find((s: any) => s.symbol === "BTCUSDT")).toMatchObject({ status: "TRADING", baseAsset: "BTC", quoteAsset: "USDT" });
    expect(info.symbols.find((s: any) => s.symbol === "XMRUSDT").status).toBe("BREAK");
    const one = (await get(`/binance/api/v3/exchangeInfo?symbols=${encodeURIComponent('["ETHUSDT","NEOUSDT"]')}`)).body;
    expect(one.symbols.map((s: any) => s.symbol)).toEqual(["ETHUSDT", "NEOUSDT"]);
    expect((await get("/binance/api/v3/exchangeInfo?symbol=NOPEUSDT")).body.code).toBe(-1121);
    const trading = (await get("/binance/api/v3/exchangeInfo?symbolStatus=TRADING")).body;
    expect(trading.symbols.every((s: any) => s.status === "TRADING")).toBe(true);
  });
});
