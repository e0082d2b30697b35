import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import ccxt from "ccxt";
import { simBucket, simInProgress, simMinute, simPreviousClose, SIM_LISTED_FROM_MS } from "../../src/simulator/market-data.ts";
import { OKX_DEFAULT_LIMIT, OKX_HISTORY_MAX_LIMIT, OKX_MAX_LIMIT, OKX_RECENT_BARS } from "../../src/simulator/okx.ts";
import { startHarness } from "./harness.ts";

const M = 60_000;
const H = 60 * M;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const CURRENT = NOW - (NOW % M);
const { sim, clock, get } = startHarness(NOW);
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

const candles = (query: string) => get(`/okx/api/v5/market/candles?${query}`);
const history = (query: string) => get(`/okx/api/v5/market/history-candles?${query}`);
const rowsOf = (r: { body: any }) => r.body.data as string[][];
const times = (rows: string[][]) => rows.map((r) => Number(r[0]));
const asCandle = (row: string[]) => ({
  openTimeMs: Number(row[0]),
  open: Number(row[1]),
  high: Number(row[2]),
  low: Number(row[3]),
  close: Number(row[4]),
  volume: Number(row[5]),
});

/** ccxt's own okx class, pointed at the simulator and reading the simulator's clock. */
function simulatedOkx() {
  const ex = new ccxt.okx({ enableRateLimit: true, options: { fetchMarkets: { types: ["spot"] } } });
  const rewrite = (urls: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(urls)) {
      if (typeof value === "string") urls[key] = value.replace(/^https?:\/\/[^/]+/, sim.baseUrls.okx);
      else if (typeof value === "object" && value !== null) rewrite(value as Record<string, unknown>);
    }
  };
  rewrite(ex.urls.api as Record<string, unknown>);
  ex.milliseconds = () => clock.now();
  return ex;
}

describe("okx", () => {
  test('serves rows of nine strings newest first: the forming bar with confirm "0", then the closed minutes with confirm "1"', async () => {
    const r = await candles("instId=BTC-USDT&limit=30");
    expect(r.status).toBe(200);
    expect(r.body.code).toBe("0");
    expect(r.body.msg).toBe("");
    const rows = rowsOf(r);
    expect(rows).toHaveLength(30);
    expect(times(rows)).toEqual(Array.from({ length: 30 }, (_, i) => CURRENT - i * M));
    for (const row of rows) {
      expect(row).toHaveLength(9);
      expect(row.every((v) => typeof v === "string")).toBe(true);
      // volCcy and volCcyQuote are the quote volume for spot.
      expect(row[6]).toBe(row[7]!);
      expect(Number(row[6])).toBeGreaterThan(Number(row[5]) * 1000);
    }
    expect(rows[0]![8]).toBe("0");
    expect(asCandle(rows[0]!)).toEqual(simInProgress("okx", "BTC", 1, NOW)!);
    for (const row of rows.slice(1)) {
      expect(row[8]).toBe("1");
      expect(asCandle(row)).toEqual(simMinute("okx", "BTC", Number(row[0]))!);
    }
  });

  test("returns the newest limit rows before after, the latest rows with before alone, and the window between both", async () => {
    const older = rowsOf(await candles(`instId=ETH-USDT&after=${CURRENT - 50 * M}&limit=10`));
    expect(times(older)).toEqual(Array.from({ length: 10 }, (_, i) => CURRENT - (51 + i) * M));
    const latest = rowsOf(await candles(`instId=ETH-USDT&before=${CURRENT - 10 * M}&limit=3`));
    expect(times(latest)).toEqual([CURRENT, CURRENT - M, CURRENT - 2 * M]);
    const newer = rowsOf(await candles(`instId=ETH-USDT&before=${CURRENT - 5 * M}`));
    expect(times(newer)).toEqual([CURRENT, CURRENT - M, CURRENT - 2 * M, CURRENT - 3 * M, CURRENT - 4 * M]);
    // What ccxt sends: before = since - 1, after = since + limit bars.
    const since = CURRENT - 200 * M;
    const page = rowsOf(await candles(`instId=ETH-USDT&before=${since - 1}&after=${since + 20 * M}&limit=20`));
    expect(times(page)).toEqual(Array.from({ length: 20 }, (_, i) => since + (19 - i) * M));
    for (const row of page) expect(asCandle(row)).toEqual(simMinute("okx", "ETH", Number(row[0]))!);
  });

  test("answers 100 rows by default and at most 300 on both endpoints, refusing a malformed limit", async () => {
    expect(rowsOf(await candles("instId=BTC-USDT"))).toHaveLength(OKX_DEFAULT_LIMIT);
    expect(rowsOf(await candles("instId=BTC-USDT&limit=500"))).toHaveLength(OKX_MAX_LIMIT);
    expect(rowsOf(await history(`instId=BTC-USDT&after=${CURRENT - 5000 * M}&limit=500`))).toHaveLength(OKX_HISTORY_MAX_LIMIT);
    for (const limit of ["abc", "0", "-5"]) {
      const r = await candles(`instId=BTC-USDT&limit=${limit}`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ code: "51000", msg: "Parameter limit error", data: [] });
    }
  });

  test("serves only the latest 1440 bars from candles and anything since the listing from history-candles", async () => {
    const oldest = CURRENT - (OKX_RECENT_BARS - 1) * M;
    const recent = rowsOf(await candles(`instId=BTC-USDT&after=${CURRENT - 1400 * M}&limit=300`));
    expect(recent).toHaveLength(39);
    expect(Number(recent.at(-1)![0])).toBe(oldest);
    expect(rowsOf(await candles(`instId=BTC-USDT&after=${oldest}`))).toEqual([]);
    const old = rowsOf(await history(`instId=BTC-USDT&after=${CURRENT - 1400 * M}&limit=300`));
    expect(old).toHaveLength(300);
    expect(Number(old.at(-1)![0])).toBe(CURRENT - 1700 * M);
    for (const row of old.slice(0, 50)) {
      expect(row[8]).toBe("1");
      expect(asCandle(row)).toEqual(simMinute("okx", "BTC", Number(row[0]))!);
    }
    const first = rowsOf(await history(`instId=BTC-USDT&after=${SIM_LISTED_FROM_MS + 5 * M}`));
    expect(times(first)).toEqual([4, 3, 2, 1, 0].map((i) => SIM_LISTED_FROM_MS + i * M));
    expect(rowsOf(await history(`instId=BTC-USDT&after=${SIM_LISTED_FROM_MS}`))).toEqual([]);
  });

  test("carries the previous close with zero volume through minutes without trades, unless omitEmpty is set", async () => {
    const start = CURRENT - 300 * M;
    const query = `instId=DOGE-USDT&before=${start - 1}&after=${start + 300 * M}&limit=300`;
    const all = rowsOf(await candles(query));
    expect(times(all)).toEqual(Array.from({ length: 300 }, (_, i) => start + (299 - i) * M));
    const empty = all.filter((r) => simMinute("okx", "DOGE", Number(r[0])) === null);
    expect(empty.length).toBeGreaterThan(0);
    for (const row of empty) {
      const close = simPreviousClose("okx", "DOGE", Number(row[0]))!;
      expect(row.slice(1, 5).map(Number)).toEqual([close, close, close, close]);
      expect(row.slice(5)).toEqual(["0", "0", "0", "1"]);
    }
    sim.setFaults("okx", { omitEmpty: true });
    const traded = rowsOf(await candles(query));
    expect(traded).toHaveLength(300 - empty.length);
    for (const row of traded) expect(asCandle(row)).toEqual(simMinute("okx", "DOGE", Number(row[0]))!);
  });

  test("builds 5m and 1H bars from the minutes", async () => {
    const five = CURRENT - (CURRENT % (5 * M)) - 20 * M;
    const fives = rowsOf(await candles(`instId=SOL-USDT&bar=5m&before=${five - 1}&after=${five + 15 * M}`));
    expect(times(fives)).toEqual([five + 10 * M, five + 5 * M, five]);
    for (const row of fives) expect(asCandle(row)).toEqual(simBucket("okx", "SOL", 5, Number(row[0]))!);
    const hour = NOW - (NOW % H) - 3 * H;
    const hours = rowsOf(await candles(`instId=SOL-USDT&bar=1H&before=${hour - 1}&after=${hour + 2 * H}`));
    expect(times(hours)).toEqual([hour + H, hour]);
    for (const row of hours) expect(asCandle(row)).toEqual(simBucket("okx", "SOL", 60, Number(row[0]))!);
  });

  test("opens 1D, 1W and 1M bars at 00:00 UTC+8 and their utc forms at 00:00 UTC", async () => {
    const day = rowsOf(await candles(`instId=BTC-USDT&bar=1D&after=${Date.UTC(2024, 4, 30, 12)}&limit=1`))[0]!;
    expect(Number(day[0])).toBe(Date.UTC(2024, 4, 29, 16));
    expect(asCandle(day)).toEqual(simBucket("okx", "BTC", 1440, Date.UTC(2024, 4, 29, 16))!);
    const utcDay = rowsOf(await candles(`instId=BTC-USDT&bar=1Dutc&after=${Date.UTC(2024, 4, 30, 12)}&limit=1`))[0]!;
    expect(Number(utcDay[0])).toBe(Date.UTC(2024, 4, 30));
    expect(asCandle(utcDay)).toEqual(simBucket("okx", "BTC", 1440, Date.UTC(2024, 4, 30))!);
    // 2024-05-27 was a Monday.
    const week = rowsOf(await candles(`instId=BTC-USDT&bar=1W&limit=1`))[0]!;
    expect(Number(week[0])).toBe(Date.UTC(2024, 4, 26, 16));
    expect(week[8]).toBe("0");
    expect(Number(rowsOf(await candles(`instId=BTC-USDT&bar=1Wutc&limit=1`))[0]![0])).toBe(Date.UTC(2024, 4, 27));
    const may = rowsOf(await history(`instId=BTC-USDT&bar=1M&after=${Date.UTC(2024, 4, 1)}&limit=1`))[0]!;
    expect(Number(may[0])).toBe(Date.UTC(2024, 3, 30, 16));
    expect(asCandle(may)).toEqual(simBucket("okx", "BTC", 31 * 1440, Date.UTC(2024, 3, 30, 16))!);
    expect(Number(rowsOf(await history(`instId=BTC-USDT&bar=1Mutc&after=${Date.UTC(2024, 4, 1)}&limit=1`))[0]![0])).toBe(Date.UTC(2024, 3, 1));
  });

  test("answers an unknown instrument with code 51001 in a 200 and bad parameters with a 400", async () => {
    const unknown = await candles("instId=SFM-USDT");
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ code: "51001", msg: "Instrument ID does not exist", data: [] });
    const badBar = await candles("instId=BTC-USDT&bar=1h");
    expect(badBar.status).toBe(400);
    expect(badBar.body).toEqual({ code: "51000", msg: "Parameter bar error", data: [] });
    const noInstId = await history("bar=1m");
    expect(noInstId.status).toBe(400);
    expect(noInstId.body.code).toBe("50014");
    expect((await candles("instId=BTC-USDT&after=yesterday")).body.code).toBe("51000");
    sim.setFaults("okx", { delisted: ["DOGE"] });
    expect((await candles("instId=DOGE-USDT")).body.code).toBe("51001");
    expect(sim.stats().okx.errors).toBe(5);
  });

  test("limits each endpoint in fixed 2 s windows and refuses with 429 and code 50011", async () => {
    sim.setFaults("okx", { rateLimitScale: 0.05 }); // candles 2, history-candles 1, instruments 1 a window
    clock.set(Date.UTC(2024, 5, 1, 12, 30, 24, 500));
    expect((await candles("instId=BTC-USDT&limit=1")).status).toBe(200);
    expect((await candles("instId=BTC-USDT&limit=1")).status).toBe(200);
    const refused = await candles("instId=BTC-USDT&limit=1");
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: "50011", msg: "Too Many Requests", data: [] });
    expect((await history("instId=BTC-USDT&limit=1")).status).toBe(200);
    expect((await history("instId=BTC-USDT&limit=1")).status).toBe(429);
    clock.set(Date.UTC(2024, 5, 1, 12, 30, 26));
    expect((await candles("instId=BTC-USDT&limit=1")).status).toBe(200);
    expect(sim.stats().okx.rateLimited).toBe(2);
  });

  test("lists spot instruments with the fields ccxt reads, nothing for other types, and the server time", async () => {
    const { body } = await get("/okx/api/v5/public/instruments?instType=SPOT");
    expect(body.code).toBe("0");
    expect(body.data.find((i: any) => i.instId === "BTC-USDT")).toMatchObject({
      instType: "SPOT",
      baseCcy: "BTC",
      quoteCcy: "USDT",
      state: "live",
      tickSz: "0.01",
      lotSz: "0.0001",
      minSz: "0.0001",
      listTime: String(SIM_LISTED_FROM_MS),
    });
    expect(body.data.find((i: any) => i.instId === "NEO-USDT").state).toBe("suspend");
    expect(body.data.some((i: any) => i.baseCcy === "SFM")).toBe(false);
    sim.setFaults("okx", { delisted: ["SOL"] });
    const without = (await get("/okx/api/v5/public/instruments?instType=SPOT")).body.data as any[];
    expect(without.some((i) => i.baseCcy === "SOL")).toBe(false);
    expect(without).toHaveLength(body.data.length - 2);
    expect((await get("/okx/api/v5/public/instruments?instType=SWAP")).body).toEqual({ code: "0", msg: "", data: [] });
    expect((await get("/okx/api/v5/public/instruments")).body.code).toBe("50014");
    expect((await get("/okx/api/v5/public/time")).body).toEqual({ code: "0", msg: "", data: [{ ts: String(NOW) }] });
  });

  test("lets ccxt load spot markets and fetch the simulator's exact candles from both endpoints", async () => {
    const ex = simulatedOkx();
    await ex.loadMarkets();
    expect(ex.market("BTC/USDT")).toMatchObject({ id: "BTC-USDT", spot: true, type: "spot", active: true });
    expect(ex.market("NEO/USDT").active).toBe(false);
    const since = CURRENT - 200 * M;
    const recent = await ex.fetchOHLCV("BTC/USDT", "1m", since, 100);
    expect(recent.map((r) => r[0])).toEqual(Array.from({ length: 100 }, (_, i) => since + i * M));
    for (const [t, o, h, l, c, v] of recent) expect({ openTimeMs: t, open: o, high: h, low: l, close: c, volume: v }).toEqual(simMinute("okx", "BTC", t!)!);
    const old = CURRENT - 3000 * M;
    const earlier = await ex.fetchOHLCV("ETH/USDT", "1m", old, 100);
    expect(earlier.map((r) => r[0])).toEqual(Array.from({ length: 100 }, (_, i) => old + i * M));
    for (const [t, o, h, l, c, v] of earlier) expect({ openTimeMs: t, open: o, high: h, low: l, close: c, volume: v }).toEqual(simMinute("okx", "ETH", t!)!);
    expect(sim.stats().okx.requests).toBe(3);
  });

  test("lets ccxt map an unknown instrument to BadSymbol and a 429 to RateLimitExceeded", async () => {
    const ex = simulatedOkx();
    await ex.loadMarkets();
    await expect(ex.fetchOHLCV("NOPE/USDT", "1m")).rejects.toBeInstanceOf(ccxt.BadSymbol);
    sim.setFaults("okx", { delisted: ["DOGE"] });
    await expect(ex.fetchOHLCV("DOGE/USDT", "1m")).rejects.toBeInstanceOf(ccxt.BadSymbol);
    sim.setFaults("okx", { rateLimitScale: 0.01 }); // one candles request a window
    clock.set(NOW + 2000);
    await ex.fetchOHLCV("BTC/USDT", "1m");
    await expect(ex.fetchOHLCV("BTC/USDT", "1m")).rejects.toBeInstanceOf(ccxt.RateLimitExceeded);
  });
});
