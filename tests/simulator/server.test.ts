import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { createManualClock } from "../../src/clock.ts";
import { createSimulator, startSimulator } from "../../src/simulator/server.ts";
import { startHarness } from "./harness.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";

const M = 60_000;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const START = NOW - (NOW % M) - 10 * M;
const { sim, clock, get } = startHarness(NOW, { seed: 1 });
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

const klinesPath = `/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${START}&limit=5`;

describe("server", () => {
  test("mounts every service under its own prefix and answers unknown paths with 404", async () => {
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.baseUrls.binance).toBe(`${sim.url}/binance`);
    expect((await get(klinesPath)).status).toBe(200);
    expect((await get("/kraken/0/public/AssetPairs")).status).toBe(200);
    expect((await get("/kucoin/api/v2/symbols")).status).toBe(200);
    expect((await get("/poloniex/markets")).status).toBe(200);
    expect((await get("/coingecko/api/v3/ping")).status).toBe(200);
    expect((await get("/binance/api/v3/nothing")).status).toBe(404);
    expect((await get("/bitfinex/v2/candles")).status).toBe(404);
    expect((await get("/api/v3/klines")).status).toBe(404);
  });

  test("answers in process through fetch(request) with the shared clock", async () => {
    const manual = createManualClock(NOW);
    const inProcess = createSimulator({ clock: manual });
    const response = await inProcess.fetch(new Request(`http://sim.test${klinesPath}`));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual((await get(klinesPath)).body);
    const time = await (await inProcess.fetch(new Request("http://sim.test/binance/api/v3/time"))).json();
    expect(time).toEqual({ serverTime: NOW });
  });

  test("an outage answers every request with 503", async () => {
    sim.setFaults("kraken", { outage: true });
    expect((await get("/kraken/0/public/AssetPairs")).status).toBe(503);
    expect((await get(klinesPath)).status).toBe(200);
    expect(sim.stats().kraken.errors).toBe(1);
  });

  test("errorRate answers with 5xx, garbageRate with a 200 that is not JSON, truncateRate with cut-short JSON", async () => {
    sim.setFaults("binance", { errorRate: 1 });
    const error = await get(klinesPath);
    expect(error.status).toBeGreaterThanOrEqual(500);
    sim.setFaults("binance", { garbageRate: 1 });
    const garbage = await get(klinesPath);
    expect(garbage.status).toBe(200);
    expect(() => JSON.parse(garbage.text)).toThrow();
    sim.setFaults("binance", {});
    const full = (await get(klinesPath)).text;
    sim.setFaults("binance", { truncateRate: 1 });
    const cut = await get(klinesPath);
    expect(cut.status).toBe(200);
    expect(() => JSON.parse(cut.text)).toThrow();
    expect(full.startsWith(cut.text)).toBe(true);
    expect(sim.stats().binance.errors).toBe(3);
  });

  test("timeoutRate never answers until the client gives up", async () => {
    sim.setFaults("poloniex", { timeoutRate: 1 });
    const started = performance.now();
    await expect(fetch(`${sim.url}/poloniex/markets`, { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    sim.setFaults("poloniex", {});
    expect((await get("/poloniex/markets")).status).toBe(200);
  });

  test("stop() lets go of requests that are being held open", async () => {
    const other = startSimulator({ faults: { coingecko: { timeoutRate: 1 } } });
    const pending = fetch(`${other.url}/coingecko/api/v3/ping`).then(
      (r) => r.status,
      () => "closed",
    );
    await Bun.sleep(50);
    await other.stop();
    expect(["closed", 504]).toContain(await pending);
  });

  test("latencyMs delays each answer by real time within the range", async () => {
    sim.setFaults("kucoin", { latencyMs: [80, 100] });
    const started = performance.now();
    expect((await get("/kucoin/api/v1/timestamp")).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  test("delisted coins vanish from every listing and answer as unknown symbols", async () => {
    for (const exchange of NATIVE_EXCHANGE_IDS) sim.setFaults(exchange, { delisted: ["NEO"] });
    expect((await get("/binance/api/v3/klines?symbol=NEOUSDT&interval=1m")).body).toEqual({ code: -1121, msg: "Invalid symbol." });
    expect((await get("/binance/api/v3/exchangeInfo")).body.symbols.some((s: any) => s.baseAsset === "NEO")).toBe(false);
    expect((await get("/kraken/0/public/OHLC?pair=NEOUSD")).body.error).toEqual(["EQuery:Unknown asset pair"]);
    expect("NEOUSD" in (await get("/kraken/0/public/AssetPairs")).body.result).toBe(false);
    expect((await get("/kucoin/api/v1/market/candles?symbol=NEO-USDT&type=1min")).body.code).toBe("400100");
    expect((await get("/poloniex/markets/NEO_USDT/candles?interval=MINUTE_1")).status).toBe(400);
    expect((await get("/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1")).status).toBe(200);
  });

  test("omitEmpty makes Binance leave out minutes without trades", async () => {
    const query = `/binance/api/v3/klines?symbol=NEOUSDT&interval=1m&startTime=${START - 200 * M}&endTime=${START}&limit=1000`;
    const all = (await get(query)).body as any[][];
    sim.setFaults("binance", { omitEmpty: true });
    const traded = (await get(query)).body as any[][];
    expect(traded.length).toBeLessThan(all.length);
    expect(traded).toEqual(all.filter((row) => row[5] !== "0.00000000"));
  });

  test("draws faults from a seeded PRNG: the same seed gives the same sequence", async () => {
    const statuses = async (seed: number) => {
      const s = createSimulator({ seed, clock: createManualClock(NOW), faults: { binance: { errorRate: 0.5 } } });
      const out: number[] = [];
      for (let i = 0; i < 30; i++) out.push((await s.fetch(new Request("http://sim.test/binance/api/v3/ping"))).status);
      return out;
    };
    const a = await statuses(7);
    expect(await statuses(7)).toEqual(a);
    expect(a.filter((s) => s === 200).length).toBeGreaterThan(5);
    expect(a.filter((s) => s >= 500).length).toBeGreaterThan(5);
  });

  test("counts requests, refusals, bans and errors per service with totals, also at GET /_sim/stats", async () => {
    await get(klinesPath);
    await get("/binance/api/v3/klines?symbol=NOPE&interval=1m");
    await get("/kucoin/api/v2/symbols");
    const stats = sim.stats();
    expect(stats.binance).toEqual({ requests: 2, rateLimited: 0, banned: 0, errors: 1 });
    expect(stats.kucoin.requests).toBe(1);
    expect(stats.total).toEqual({ requests: 3, rateLimited: 0, banned: 0, errors: 1 });
    expect((await get("/_sim/stats")).body).toEqual(stats);
  });

  test("POST /_sim/faults sets a service's faults and rejects a malformed body", async () => {
    const post = (body: unknown) => fetch(`${sim.url}/_sim/faults`, { method: "POST", body: JSON.stringify(body) });
    expect((await post({ exchange: "kucoin", faults: { outage: true } })).status).toBe(200);
    expect((await get("/kucoin/api/v2/symbols")).status).toBe(503);
    expect((await post({ exchange: "kucoin", faults: {} })).status).toBe(200);
    expect((await get("/kucoin/api/v2/symbols")).status).toBe(200);
    expect((await post({ exchange: "bitfinex", faults: {} })).status).toBe(400);
    expect((await post({ exchange: "kucoin", faults: { errorRate: 2 } })).status).toBe(400);
    expect((await post({ exchange: "kucoin", faults: { nonsense: true } })).status).toBe(400);
  });

  test("reset() zeroes the counters and restores the faults given at start", async () => {
    const other = startSimulator({ clock, faults: { kraken: { outage: true } } });
    try {
      other.setFaults("kraken", {});
      expect((await fetch(`${other.url}/kraken/0/public/Time`)).status).toBe(200);
      other.reset();
      expect(other.stats().total.requests).toBe(0);
      expect((await fetch(`${other.url}/kraken/0/public/Time`)).status).toBe(503);
    } finally {
      await other.stop();
    }
  });
});
