import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bucketOpen, MINUTE_MS } from "../../src/domain/interval.ts";
import { kraken } from "../../src/exchanges/kraken.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { createExchangeClient } from "../../src/http/client.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { baseIntervalFor, createTradeCarry, fetchRange, fetchTradeCandles, planWindows, UnreachableRangeError } from "../../src/pipeline/fetch-range.ts";
import { simMinute } from "../../src/simulator/market-data.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { createAutoClock } from "../helpers/clocks.ts";

const NOW_MS = Date.UTC(2024, 5, 1, 12, 30, 25, 500);

describe("fetch-range", () => {
  test("uses the largest native interval that divides the bucket", () => {
    const adapter = { nativeIntervals: [1, 5, 15, 60, 1440] };
    expect(baseIntervalFor(adapter, 1)).toBe(1);
    expect(baseIntervalFor(adapter, 7)).toBe(1);
    expect(baseIntervalFor(adapter, 30)).toBe(15);
    expect(baseIntervalFor(adapter, 90)).toBe(15);
    expect(baseIntervalFor(adapter, 120)).toBe(60);
    expect(baseIntervalFor(adapter, 2880)).toBe(1440);
  });

  test("plans windows of whole buckets within one page, and marks what a recent-only endpoint no longer serves", () => {
    const adapter = { maxCandlesPerRequest: 1000, nativeIntervals: [1, 5], recentCandlesOnly: undefined as number | undefined };
    const from = 0;
    const to = 2999 * MINUTE_MS;
    const { windows } = planWindows(adapter, 7, from, to - (to % (7 * MINUTE_MS)), NOW_MS);
    for (const w of windows) expect((w.toOpenMs - w.fromOpenMs) / MINUTE_MS + 7).toBeLessThanOrEqual(1000);
    const recent = planWindows({ ...adapter, recentCandlesOnly: 720 }, 1, bucketOpen(NOW_MS, 1) - 1000 * MINUTE_MS, bucketOpen(NOW_MS, 1) - MINUTE_MS, NOW_MS);
    expect(recent.unreachable).toEqual({ fromOpenMs: bucketOpen(NOW_MS, 1) - 1000 * MINUTE_MS, toOpenMs: bucketOpen(NOW_MS, 1) - 720 * MINUTE_MS });
  });

  describe("Kraken, when its 720-candle window moved on between planning and fetching", () => {
    const clock = createAutoClock(NOW_MS);
    let sim: RunningSimulator;
    let btc: Market;
    const client = () => createExchangeClient({ adapter: kraken, baseUrl: sim.baseUrls.kraken, fetch, clock, logger: silentLogger, metrics: createMetrics() });
    beforeAll(async () => {
      sim = startSimulator({ clock });
      btc = (await client().request(kraken.marketsRequest(), (b) => kraken.parseMarkets(b, ["USD"]))).find((m) => m.coin === "BTC")!;
    });
    afterAll(() => sim.stop());

    // Planned at NOW_MS, fetched three minutes later: Kraken no longer serves the three oldest minutes.
    const plannedAt = NOW_MS;
    const range = { fromOpenMs: bucketOpen(NOW_MS, 1) - 719 * MINUTE_MS, toOpenMs: bucketOpen(NOW_MS, 1) - MINUTE_MS };

    test("with deep history, the unserved head comes from the trades: every minute exact, nothing failed", async () => {
      clock.set(NOW_MS + 3 * MINUTE_MS);
      const results = [];
      for await (const w of fetchRange({ client: client(), adapter: kraken, market: btc, intervalMinutes: 1, ...range, nowMs: plannedAt, now: () => clock.now(), deepHistory: true })) results.push(w);
      expect(results.every((w) => w.ok)).toBe(true);
      const candles = results.flatMap((w) => (w.ok ? w.candles : []));
      const minutes: number[] = [];
      for (let t = range.fromOpenMs; t <= range.toOpenMs; t += MINUTE_MS) if (simMinute("kraken", "BTC", t)) minutes.push(t);
      expect(candles.map((c) => c.openTimeMs).sort((a, b) => a - b)).toEqual(minutes);
      for (const c of candles) {
        const want = simMinute("kraken", "BTC", c.openTimeMs)!;
        expect({ ...c, volume: 0 }).toMatchObject({ ...want, volume: 0 });
        expect(c.volume).toBeCloseTo(want.volume, 9); // a sum of trade volumes: float noise only
      }
    });

    test("without it, the unserved head is a failed range, never quiet buckets", async () => {
      clock.set(NOW_MS + 3 * MINUTE_MS);
      const results = [];
      for await (const w of fetchRange({ client: client(), adapter: kraken, market: btc, intervalMinutes: 1, ...range, nowMs: plannedAt, now: () => clock.now() })) results.push(w);
      const failed = results.filter((w) => !w.ok);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ fromOpenMs: range.fromOpenMs, toOpenMs: range.fromOpenMs + 2 * MINUTE_MS });
      expect(!failed[0]!.ok && failed[0]!.error).toBeInstanceOf(UnreachableRangeError);
    });
  });

  describe("Kraken trades over consecutive windows (a backfill's slices), with the cursor carried", () => {
    const clock = createAutoClock(NOW_MS);
    let sim: RunningSimulator;
    let eth: Market;
    let calls = 0;
    // Trades pages served (a refusal of the simulator's rate limit, retried, is not a page).
    const counting: typeof fetch = Object.assign(async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      if (String(input instanceof Request ? input.url : input).includes("/Trades") && !(await response.clone().text()).includes("Too many requests")) calls++;
      return response;
    }, fetch);
    const client = () => createExchangeClient({ adapter: kraken, baseUrl: sim.baseUrls.kraken, fetch: counting, clock, logger: silentLogger, metrics: createMetrics() });
    beforeAll(async () => {
      sim = startSimulator({ clock });
      eth = (await client().request(kraken.marketsRequest(), (b) => kraken.parseMarkets(b, ["USD"]))).find((m) => m.coin === "ETH")!;
    });
    afterAll(() => sim.stop());

    // Four slices of 720 minutes, two days back: all of it from the trades.
    const start = bucketOpen(NOW_MS, 1) - 2 * 1440 * MINUTE_MS;
    const windows = [0, 1, 2, 3].map((i) => ({ fromOpenMs: start + i * 720 * MINUTE_MS, toOpenMs: start + (i * 720 + 719) * MINUTE_MS }));
    const options = (tradeCarry?: ReturnType<typeof createTradeCarry>) => ({ client: client(), adapter: kraken, market: eth, intervalMinutes: 1, fromOpenMs: start, toOpenMs: windows[3]!.toOpenMs, nowMs: NOW_MS, tradeCarry });

    async function fetchAll(list: typeof windows, tradeCarry?: ReturnType<typeof createTradeCarry>) {
      calls = 0;
      const o = options(tradeCarry);
      // All at once, as a backfill launches its slices; the carry makes them take turns.
      const candles = await Promise.all(list.map((w) => fetchTradeCandles(o, w)));
      return { candles, calls };
    }

    test("each window's candles are the same as when fetched alone, in the Trades calls of a single pass", async () => {
      const alone = await fetchAll(windows);
      const carried = await fetchAll(windows, createTradeCarry());
      expect(carried.candles).toEqual(alone.candles);
      for (const [i, w] of windows.entries()) {
        const minutes: number[] = [];
        for (let t = w.fromOpenMs; t <= w.toOpenMs; t += MINUTE_MS) if (simMinute("kraken", "ETH", t)) minutes.push(t);
        expect(carried.candles[i]!.map((c) => c.openTimeMs)).toEqual(minutes);
      }
      // The four slices cost what one pass over the whole range costs: no page is fetched twice.
      const whole = await fetchAll([{ fromOpenMs: windows[0]!.fromOpenMs, toOpenMs: windows[3]!.toOpenMs }]);
      expect(carried.candles.flat()).toEqual(whole.candles[0]!);
      expect(carried.calls).toBe(whole.calls);
      expect(carried.calls).toBeLessThan(alone.calls);
    });

    test("windows that do not follow each other, or come out of order, ignore the carry and stay exact", async () => {
      const gapped = [windows[0]!, windows[2]!, windows[1]!];
      const alone = await fetchAll(gapped);
      const carried = await fetchAll(gapped, createTradeCarry());
      expect(carried.candles).toEqual(alone.candles);
      expect(carried.calls).toBe(alone.calls);
    });
  });
});
