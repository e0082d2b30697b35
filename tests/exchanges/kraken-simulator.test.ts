import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { bucketOpen, MINUTE_MS } from "../../src/domain/interval.ts";
import { type Trade, tradesToMinuteCandles } from "../../src/domain/trades-to-candles.ts";
import { kraken } from "../../src/exchanges/kraken.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { createExchangeClient } from "../../src/http/client.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { simMinute } from "../../src/simulator/market-data.ts";
import { startSimulator, type RunningSimulator } from "../../src/simulator/server.ts";
import { createAutoClock } from "../helpers/clocks.ts";

const NOW_MS = Date.UTC(2024, 5, 1, 12, 30, 25, 500);
const trades = kraken.trades!;

describe("kraken over the engine and the simulator", () => {
  const clock = createAutoClock(NOW_MS);
  let sim: RunningSimulator;
  let btc: Market;
  const client = () => createExchangeClient({ adapter: kraken, baseUrl: sim.baseUrls.kraken, fetch, clock, logger: silentLogger, metrics: createMetrics() });

  beforeAll(async () => {
    sim = startSimulator({ clock, port: 0 });
    const markets = await client().request(kraken.marketsRequest(), (body) => kraken.parseMarkets(body, ["USD"]));
    btc = markets.find((m) => m.coin === "BTC")!;
  });
  afterAll(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    clock.set(NOW_MS);
    sim.reset();
  });

  test("a throttle reported inside HTTP 200 makes the engine wait and retry, then succeed", async () => {
    // A budget far faster than Kraken allows, so the second call on the pair is refused.
    const eager = { ...kraken, budget: { ...kraken.budget, perKey: { refillPerSecond: 50, burst: 50 } } };
    const c = createExchangeClient({ adapter: eager, baseUrl: sim.baseUrls.kraken, fetch, clock, logger: silentLogger, metrics: createMetrics() });
    const openNow = bucketOpen(clock.now(), 1);
    const spec = kraken.candlesRequest(btc, 1, openNow - 5 * MINUTE_MS, openNow);
    const start = clock.now();
    for (let i = 0; i < 5; i++) await c.request(spec, (body) => kraken.parseCandles(body, { market: btc, intervalMinutes: 1 }));
    expect(sim.stats().kraken.rateLimited).toBeGreaterThan(0);
    expect(clock.now() - start).toBeGreaterThanOrEqual(3000);
  });

  test("paging with the nanosecond cursor rebuilds every closed minute exactly, far beyond OHLC's 720", async () => {
    // Two days back: OHLC could not serve any of this at 1 minute.
    const fromMs = bucketOpen(NOW_MS, 1) - 2 * 1440 * MINUTE_MS;
    const toMs = fromMs + 180 * MINUTE_MS;
    const c = client();
    const all: Trade[] = [];
    let since = `${fromMs}000000`;
    let pages = 0;
    while (pages < 100) {
      const page = await c.request(trades.request(btc, since), (body) => trades.parse(body, btc));
      pages++;
      all.push(...page.trades);
      if (page.trades.length === 0 || page.trades.at(-1)!.timeMs >= toMs) break;
      expect(BigInt(page.lastNs)).toBeGreaterThan(BigInt(since));
      since = page.lastNs;
    }
    expect(pages).toBeGreaterThan(1);
    expect(sim.stats().kraken.rateLimited).toBe(0);
    const candles = tradesToMinuteCandles(all).filter((k) => k.openTimeMs < toMs);
    const byOpen = new Map(candles.map((k) => [k.openTimeMs, k]));
    let traded = 0;
    for (let t = fromMs; t < toMs; t += MINUTE_MS) {
      const truth = simMinute("kraken", "BTC", t);
      const got = byOpen.get(t);
      if (truth === null) {
        expect(got).toBeUndefined();
        continue;
      }
      traded++;
      expect(got).toBeDefined();
      expect({ ...got!, volume: 0 }).toEqual({ ...truth, volume: 0 });
      expect(got!.volume).toBeCloseTo(truth.volume, 8);
    }
    expect(traded).toBeGreaterThan(90);
  }, 30_000);

  test("the cursor stays exact past 2^53 nanoseconds", async () => {
    const since = `${bucketOpen(NOW_MS, 1) - 10 * MINUTE_MS}000000`;
    const page = await client().request(trades.request(btc, since), (body) => trades.parse(body, btc));
    expect(page.lastNs).toMatch(/^\d{19}$/);
    const lastTrade = page.trades.at(-1)!;
    // The cursor is the last trade's time in nanoseconds; the trade time is floored to the millisecond.
    expect(BigInt(page.lastNs) / 1_000_000n).toBe(BigInt(lastTrade.timeMs));
  });
});
