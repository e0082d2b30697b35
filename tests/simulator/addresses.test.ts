import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { createManualClock } from "../../src/clock.ts";
import { SIM_SERVICES, startSimulator, type SimServiceId } from "../../src/simulator/server.ts";

const M = 60_000;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const START = NOW - (NOW % M) - 10 * M;
const A = "127.0.0.11";
const B = "127.0.0.12";
const clock = createManualClock(NOW);
// A hundredth of every limit, so a few dozen requests exhaust one (Kraken's counter of 3 is small already).
const scaled = Object.fromEntries(SIM_SERVICES.map((id) => [id, { rateLimitScale: id === "kraken" ? 1 : 0.01 }]));
const sim = startSimulator({ hostnames: [A, B], clock, faults: scaled });
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

/** A request each service counts against its rate limit (a candle request for the exchanges). */
const PATHS: Record<SimServiceId, string> = {
  binance: `/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${START}&limit=5`,
  kraken: "/kraken/0/public/OHLC?pair=XBTUSD&interval=1",
  kucoin: "/kucoin/api/v1/market/candles?symbol=BTC-USDT&type=1min",
  poloniex: "/poloniex/markets/BTC_USDT/candles?interval=MINUTE_1",
  okx: "/okx/api/v5/market/candles?instId=BTC-USDT&bar=1m",
  coinbase: `/coinbase/api/v3/brokerage/market/products/BTC-USD/candles?granularity=ONE_MINUTE&start=${START / 1000}&end=${NOW / 1000}`,
  bybit: "/bybit/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1",
  coingecko: "/coingecko/api/v3/coins/markets?vs_currency=usd",
};

const urlOf = (address: string) => sim.urls.find((url) => url.startsWith(`http://${address}:`))!;
const refusals = (address: string, id: SimServiceId) => sim.stats().byAddress[address]![id].rateLimited + sim.stats().byAddress[address]![id].banned;

describe("per-address rate limits", () => {
  test("listens on every address on one port; url and baseUrls are the first address's", async () => {
    expect(sim.urls).toEqual([`http://${A}:${sim.port}`, `http://${B}:${sim.port}`]);
    expect(sim.url).toBe(sim.urls[0]!);
    expect(sim.baseUrls.binance).toBe(`http://${A}:${sim.port}/binance`);
    for (const url of sim.urls) expect((await fetch(`${url}/binance/api/v3/ping`)).status).toBe(200);
  });

  test("serves the same market data on every address", async () => {
    const bodies = await Promise.all(sim.urls.map(async (url) => (await fetch(url + PATHS.binance)).text()));
    expect(bodies[1]).toBe(bodies[0]!);
    expect(JSON.parse(bodies[0]!)).toHaveLength(5);
  });

  test.each(SIM_SERVICES.map((id) => [id]))("%s: exhausting the limit on one address leaves the other's untouched", async (id) => {
    let requests = 0;
    while (refusals(A, id) === 0 && requests < 200) {
      await fetch(urlOf(A) + PATHS[id]);
      requests++;
    }
    expect(refusals(A, id)).toBeGreaterThan(0);
    const other = await fetch(urlOf(B) + PATHS[id]);
    expect(other.status).toBe(200);
    expect(JSON.stringify(await other.json())).not.toContain("Too many requests");
    const stats = sim.stats();
    expect(stats.byAddress[B]![id]).toEqual({ requests: 1, rateLimited: 0, banned: 0, errors: 0 });
    expect(stats.byAddress[A]![id].requests).toBe(requests);
    expect(stats[id].requests).toBe(requests + 1);
  });

  test("Binance: a ban (418) on one address is not a ban on the other", async () => {
    let status = 0;
    for (let i = 0; i < 60 && status !== 418; i++) status = (await fetch(urlOf(A) + PATHS.binance)).status;
    expect(status).toBe(418);
    expect((await fetch(urlOf(A) + PATHS.binance)).status).toBe(418);
    expect((await fetch(urlOf(B) + PATHS.binance)).status).toBe(200);
    expect(sim.stats().byAddress[A]!.total.banned).toBeGreaterThan(0);
    expect(sim.stats().byAddress[B]!.total).toEqual({ requests: 1, rateLimited: 0, banned: 0, errors: 0 });
  });

  test("stats list every address from the start, and the totals sum them", async () => {
    const idle = sim.stats();
    expect(Object.keys(idle.byAddress).sort()).toEqual([A, B]);
    expect(idle.byAddress[B]!.total).toEqual({ requests: 0, rateLimited: 0, banned: 0, errors: 0 });
    await fetch(urlOf(A) + PATHS.kucoin);
    await fetch(urlOf(B) + PATHS.kucoin);
    await fetch(urlOf(B) + PATHS.okx);
    const stats = sim.stats();
    expect(stats.byAddress[A]!.total.requests).toBe(1);
    expect(stats.byAddress[B]!.total.requests).toBe(2);
    expect(stats.kucoin.requests).toBe(2);
    expect(stats.total.requests).toBe(3);
    expect(((await (await fetch(`${sim.urls[1]}/_sim/stats`)).json()) as any).byAddress).toEqual(stats.byAddress);
  });

  test("reset forgets every address's rate-limit state", async () => {
    for (let i = 0; i < 100 && refusals(A, "kucoin") === 0; i++) await fetch(urlOf(A) + PATHS.kucoin);
    expect(refusals(A, "kucoin")).toBeGreaterThan(0);
    sim.reset();
    expect((await fetch(urlOf(A) + PATHS.kucoin)).status).toBe(200);
    expect(sim.stats().byAddress[A]!.total).toEqual({ requests: 1, rateLimited: 0, banned: 0, errors: 0 });
  });

  test("refuses a repeated address", () => {
    expect(() => startSimulator({ hostnames: [A, A] })).toThrow(/distinct/);
  });
});
