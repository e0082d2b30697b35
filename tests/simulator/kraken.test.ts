import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { KRAKEN_COUNTER_MAX, KRAKEN_OHLC_ENTRIES } from "../../src/simulator/kraken.ts";
import { SIM_LISTED_FROM_MS, simBucket, simInProgress, simMinute, simMinuteTrades } from "../../src/simulator/market-data.ts";
import { startHarness } from "./harness.ts";

const M = 60_000;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const CURRENT = NOW - (NOW % M);
// Throttling is relaxed except in the tests about it, which restore the real limits.
const { sim, clock, get } = startHarness(NOW, { faults: { kraken: { rateLimitScale: 1000 } } });
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

const call = (path: string) => get(`/kraken/0/public/${path}`);
const asCandle = (row: any[]) => ({ openTimeMs: row[0] * 1000, open: Number(row[1]), high: Number(row[2]), low: Number(row[3]), close: Number(row[4]), volume: Number(row[6]) });

describe("kraken", () => {
  test("keys the OHLC result by the canonical pair name even when asked by altname", async () => {
    for (const pair of ["XBTUSD", "XXBTZUSD"]) {
      const { status, body } = await call(`OHLC?pair=${pair}&since=${CURRENT / 1000 - 120}`);
      expect(status).toBe(200);
      expect(body.error).toEqual([]);
      expect(Object.keys(body.result).sort()).toEqual(["XXBTZUSD", "last"]);
    }
  });

  test("serves at most the 720 most recent entries, whatever since says, and always ends with the candle in progress", async () => {
    const body = (await call("OHLC?pair=XBTUSD&interval=1&since=0")).body;
    const rows = body.result.XXBTZUSD as any[][];
    expect(rows).toHaveLength(KRAKEN_OHLC_ENTRIES);
    expect(rows[0]![0]).toBe((CURRENT - 719 * M) / 1000);
    expect(rows.at(-1)![0]).toBe(CURRENT / 1000);
    const old = (await call(`OHLC?pair=XBTUSD&since=${(NOW - 5 * 86_400_000) / 1000}`)).body.result.XXBTZUSD as any[][];
    expect(old).toHaveLength(KRAKEN_OHLC_ENTRIES);
  });

  test("writes rows as [time(s), open, high, low, close, vwap, volume, count] equal to the simulator's minutes", async () => {
    const rows = (await call(`OHLC?pair=XDGUSD&interval=1&since=${(CURRENT - 30 * M) / 1000}`)).body.result.XDGUSD as any[][];
    for (const row of rows.slice(0, -1)) {
      expect(row).toHaveLength(8);
      expect(Number.isInteger(row[0])).toBe(true);
      expect(row.slice(1, 7).every((v) => typeof v === "string")).toBe(true);
      expect(Number.isInteger(row[7])).toBe(true);
      const minute = simMinute("kraken", "DOGE", row[0] * 1000);
      if (minute === null) {
        expect(row[5]).toBe("0.00000");
        expect(row[6]).toBe("0.00000000");
        expect(row[7]).toBe(0);
        expect(row[1]).toBe(row[4]);
        continue;
      }
      expect(asCandle(row)).toEqual(minute);
      expect(Number(row[5])).toBeGreaterThanOrEqual(minute.low);
      expect(Number(row[5])).toBeLessThanOrEqual(minute.high);
    }
  });

  test("returns entries strictly after since, plus the candle in progress, and last names the newest committed one", async () => {
    const since = (CURRENT - 10 * M) / 1000;
    const body = (await get(`/kraken/0/public/OHLC?pair=XBTUSD&since=${since}`)).body;
    const rows = body.result.XXBTZUSD as any[][];
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => since + 60 * (i + 1)));
    expect(body.result.last).toBe((CURRENT - M) / 1000);
    const future = (await call(`OHLC?pair=XBTUSD&since=${CURRENT / 1000 + 3600}`)).body.result.XXBTZUSD as any[][];
    expect(future).toHaveLength(1);
  });

  test("the last entry is the candle in progress and changes as the minute runs", async () => {
    const first = ((await get(`/kraken/0/public/OHLC?pair=XBTUSD&since=${CURRENT / 1000 - 60}`)).body.result.XXBTZUSD as any[][]).at(-1)!;
    expect(first[0]).toBe(CURRENT / 1000);
    expect(asCandle(first)).toEqual(simInProgress("kraken", "BTC", 1, NOW)!);
    clock.set(CURRENT + 55_000);
    const later = ((await get(`/kraken/0/public/OHLC?pair=XBTUSD&since=${CURRENT / 1000 - 60}`)).body.result.XXBTZUSD as any[][]).at(-1)!;
    expect(later[0]).toBe(CURRENT / 1000);
    expect(Number(later[6])).toBeGreaterThan(Number(first[6]));
  });

  test("serves the allowed intervals built from the minutes and rejects others with EGeneral:Invalid arguments", async () => {
    const hour = 60 * M;
    const rows = (await call(`OHLC?pair=ETHUSD&interval=60&since=${(NOW - 3 * hour) / 1000}`)).body.result.XETHZUSD as any[][];
    const open = rows[0]![0] * 1000;
    expect(open % hour).toBe(0);
    expect(asCandle(rows[0]!)).toEqual(simBucket("kraken", "ETH", 60, open)!);
    for (const interval of [2, 360, "abc"]) {
      const r = await call(`OHLC?pair=ETHUSD&interval=${interval}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ error: ["EGeneral:Invalid arguments"] });
    }
  });

  test("answers an unknown pair inside HTTP 200 with EQuery:Unknown asset pair", async () => {
    for (const path of ["OHLC?pair=BTCUSD", "OHLC?pair=SFMUSD", "Trades?pair=NOPE", "AssetPairs?pair=XBTUSD,NOPE"]) {
      const r = await call(path);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ error: ["EQuery:Unknown asset pair"] });
    }
  });

  test("serves trades as [price, volume, time, side, type, misc, id] that rebuild each minute exactly", async () => {
    const from = CURRENT - 20 * M;
    const body = (await call(`Trades?pair=XDGUSD&since=${BigInt(from) * 1_000_000n}&count=1000`)).body;
    const trades = body.result.XDGUSD as any[][];
    expect(typeof body.result.last).toBe("string");
    expect(body.result.last).toMatch(/^\d{19}$/);
    for (const t of trades) {
      expect(t).toHaveLength(7);
      expect(typeof t[0]).toBe("string");
      expect(typeof t[1]).toBe("string");
      expect(typeof t[2]).toBe("number");
      expect(["b", "s"]).toContain(t[3]);
      expect(["m", "l"]).toContain(t[4]);
      expect(t[5]).toBe("");
      expect(Number.isInteger(t[6])).toBe(true);
    }
    const byMinute = new Map<number, any[][]>();
    for (const t of trades) {
      const minute = Math.floor((t[2] * 1000) / M) * M;
      byMinute.set(minute, [...(byMinute.get(minute) ?? []), t]);
    }
    for (let minute = from; minute < CURRENT; minute += M) {
      const candle = simMinute("kraken", "DOGE", minute);
      const group = byMinute.get(minute);
      if (candle === null) {
        expect(group).toBeUndefined();
        continue;
      }
      const prices = group!.map((t) => Number(t[0]));
      expect(prices[0]).toBe(candle.open);
      expect(prices.at(-1)).toBe(candle.close);
      expect(Math.max(...prices)).toBe(candle.high);
      expect(Math.min(...prices)).toBe(candle.low);
      expect(group!.reduce((sum, t) => sum + Math.round(Number(t[1]) * 10_000), 0)).toBe(Math.round(candle.volume * 10_000));
    }
    // Trades of the current minute are included up to now, never later.
    const current = byMinute.get(CURRENT) ?? [];
    expect(current.length).toBe(simMinuteTrades("kraken", "DOGE", CURRENT, NOW).length);
    expect(current.every((t) => t[2] * 1000 <= NOW)).toBe(true);
  });

  test("pages trades with the nanosecond last cursor, oldest first, count at most 1000", async () => {
    const first = (await call("Trades?pair=XBTUSD&since=0&count=50")).body.result;
    expect(first.XXBTZUSD).toHaveLength(50);
    expect(first.XXBTZUSD[0][2] * 1000).toBeGreaterThanOrEqual(SIM_LISTED_FROM_MS);
    expect(first.XXBTZUSD[0][2] * 1000).toBeLessThan(SIM_LISTED_FROM_MS + M);
    const next = (await call(`Trades?pair=XBTUSD&since=${first.last}&count=50`)).body.result;
    expect(next.XXBTZUSD[0][6]).toBeGreaterThan(first.XXBTZUSD.at(-1)[6]);
    expect(BigInt(Math.round(next.XXBTZUSD[0][2] * 10_000)) * 100_000n).toBeGreaterThan(BigInt(first.last));
    const times = [...first.XXBTZUSD, ...next.XXBTZUSD].map((t: any[]) => t[2]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect((await call("Trades?pair=XBTUSD&since=0")).body.result.XXBTZUSD).toHaveLength(1000);
    expect((await call("Trades?pair=XBTUSD&count=1001")).body).toEqual({ error: ["EGeneral:Invalid arguments"] });
    // Whole seconds are read as seconds.
    const bySeconds = (await call(`Trades?pair=XBTUSD&since=${CURRENT / 1000 - 60}&count=1`)).body.result.XXBTZUSD;
    expect(Math.floor(bySeconds[0][2])).toBeGreaterThanOrEqual(CURRENT / 1000 - 60);
  });

  test("throttles OHLC and Trades per pair: a call that would take the decaying counter above 3 is refused", async () => {
    sim.setFaults("kraken", {});
    const path = `/kraken/0/public/OHLC?pair=XBTUSD&since=${CURRENT / 1000 - 60}`;
    for (let i = 0; i < KRAKEN_COUNTER_MAX; i++) expect((await get(path)).body.error).toEqual([]);
    const refused = await get(path);
    expect(refused.status).toBe(200);
    expect(refused.body).toEqual({ error: ["EGeneral:Too many requests"] });
    expect((await get("/kraken/0/public/Trades?pair=XBTUSD&count=1")).body.error).toEqual(["EGeneral:Too many requests"]);
    // Another pair has its own counter.
    expect((await get(`/kraken/0/public/OHLC?pair=ETHUSD&since=${CURRENT / 1000 - 60}`)).body.error).toEqual([]);
    clock.set(NOW + 6000);
    expect((await get(path)).body.error).toEqual([]);
    expect(sim.stats().kraken.rateLimited).toBe(2);
  });

  test("one call a second per pair is never refused", async () => {
    sim.setFaults("kraken", {});
    for (let i = 0; i < 10; i++) {
      clock.set(NOW + i * 1000);
      expect((await get(`/kraken/0/public/OHLC?pair=XBTUSD&since=${CURRENT / 1000 - 60}`)).body.error).toEqual([]);
    }
  });

  test("lists asset pairs keyed by canonical name with altname, wsname, base, quote and status", async () => {
    const result = (await call("AssetPairs")).body.result;
    expect(result.XXBTZUSD).toMatchObject({ altname: "XBTUSD", wsname: "XBT/USD", base: "XXBT", quote: "ZUSD", status: "online" });
    expect(result.XDGUSD).toMatchObject({ altname: "XDGUSD", base: "XXDG", quote: "ZUSD" });
    expect(result.SOLUSD).toMatchObject({ altname: "SOLUSD", base: "SOL", quote: "ZUSD" });
    expect(result.XBTUSDT).toMatchObject({ base: "XXBT", quote: "USDT" });
    expect(result.EOSUSD.status).not.toBe("online");
    expect(Object.keys((await call("AssetPairs?pair=XBTUSD,ETHUSD")).body.result)).toEqual(["XXBTZUSD", "XETHZUSD"]);
  });
});
