import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bucketOpen, MINUTE_MS } from "../../src/domain/interval.ts";
import { kraken } from "../../src/exchanges/kraken.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { createExchangeClient } from "../../src/http/client.ts";
import { silentLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { baseIntervalFor, fetchRange, planWindows, UnreachableRangeError } from "../../src/pipeline/fetch-range.ts";
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
});
