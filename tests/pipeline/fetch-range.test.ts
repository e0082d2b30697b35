import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { baseIntervalFor, bucketOpen, MINUTE_MS } from "../../src/domain/interval.ts";
import type { RawCandle } from "../../src/domain/candle.ts";
import { binance } from "../../src/exchanges/binance.ts";
import { kraken } from "../../src/exchanges/kraken.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { createExchangeClient } from "../../src/http/client.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import {
  type CandleConflict,
  CONFLICT_RETRIES,
  createTradeCarry,
  fetchRange,
  fetchTradeCandles,
  planWindows,
  UnreachableRangeError,
  type WindowResult,
} from "../../src/pipeline/fetch-range.ts";
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
      for await (const w of fetchRange({
        client: client(),
        adapter: kraken,
        market: btc,
        intervalMinutes: 1,
        ...range,
        nowMs: plannedAt,
        now: () => clock.now(),
        deepHistory: true,
      }))
        results.push(w);
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
      // The auto clock moves time by every sleep at once, so windows fetched side by side wake
      // together and can meet Kraken's throttle over and over: it is not what these tests are about.
      sim.setFaults("kraken", { rateLimitScale: 100 });
      eth = (await client().request(kraken.marketsRequest(), (b) => kraken.parseMarkets(b, ["USD"]))).find((m) => m.coin === "ETH")!;
    });
    afterAll(() => sim.stop());

    // Four slices of 720 minutes, two days back: all of it from the trades.
    const start = bucketOpen(NOW_MS, 1) - 2 * 1440 * MINUTE_MS;
    const windows = [0, 1, 2, 3].map((i) => ({ fromOpenMs: start + i * 720 * MINUTE_MS, toOpenMs: start + (i * 720 + 719) * MINUTE_MS }));
    const options = (tradeCarry?: ReturnType<typeof createTradeCarry>) => ({
      client: client(),
      adapter: kraken,
      market: eth,
      intervalMinutes: 1,
      fromOpenMs: start,
      toOpenMs: windows[3]!.toOpenMs,
      nowMs: NOW_MS,
      tradeCarry,
    });

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

  describe("Kraken omitting quiet minutes (the simulator's omitEmpty fault)", () => {
    const clock = createAutoClock(NOW_MS);
    let sim: RunningSimulator;
    let market: Market;
    const coin = "TIA";
    const client = () => createExchangeClient({ adapter: kraken, baseUrl: sim.baseUrls.kraken, fetch, clock, logger: silentLogger, metrics: createMetrics() });
    beforeAll(async () => {
      sim = startSimulator({ clock });
      sim.setFaults("kraken", { omitEmpty: true });
      market = (await client().request(kraken.marketsRequest(), (b) => kraken.parseMarkets(b, ["USD"]))).find((m) => m.coin === coin)!;
    });
    afterAll(() => sim.stop());

    /** The newest minutes, closed at NOW_MS, that had no trades (Kraken sends no row for them). */
    function quietMinutes(count: number): number[] {
      const out: number[] = [];
      for (let t = bucketOpen(NOW_MS, 1) - MINUTE_MS; out.length < count; t -= MINUTE_MS) if (simMinute("kraken", coin, t) === null) out.push(t);
      return out;
    }

    async function run(fromOpenMs: number, toOpenMs: number, answeredAfterMs = 0): Promise<WindowResult[]> {
      clock.set(NOW_MS + answeredAfterMs);
      const results: WindowResult[] = [];
      for await (const w of fetchRange({ client: client(), adapter: kraken, market, intervalMinutes: 1, fromOpenMs, toOpenMs, nowMs: NOW_MS, now: () => clock.now() }))
        results.push(w);
      return results;
    }

    test.each([1, 5, 30])("a window starting with a quiet minute (%i minute(s) long) is served whole: the minute is quiet, not older than Kraken serves", async (length) => {
      for (const quiet of quietMinutes(3)) {
        const to = Math.min(quiet + (length - 1) * MINUTE_MS, bucketOpen(NOW_MS, 1) - MINUTE_MS);
        const results = await run(quiet, to);
        expect(results).toHaveLength(1);
        const [w] = results;
        expect(w).toMatchObject({ ok: true, fromOpenMs: quiet, toOpenMs: to });
        const minutes: number[] = [];
        for (let t = quiet; t <= to; t += MINUTE_MS) if (simMinute("kraken", coin, t)) minutes.push(t);
        expect(w!.ok && w!.candles.map((c) => c.openTimeMs)).toEqual(minutes);
      }
    });

    /** What a window [from, to] must come back as when Kraken's rows are trusted from `servedFrom` on. */
    const split = (from: number, to: number, servedFrom: number) =>
      [servedFrom > from ? [false, from, Math.min(to, servedFrom - MINUTE_MS)] : undefined, servedFrom <= to ? [true, Math.max(from, servedFrom), to] : undefined].filter(
        (x) => x !== undefined,
      );
    /** The first minute from `fromMs` on with trades: the oldest row Kraken sends there. */
    const firstTraded = (fromMs: number) => {
      let t = fromMs;
      while (simMinute("kraken", coin, t) === null) t += MINUTE_MS;
      return t;
    };

    test("minutes Kraken no longer serves stay unreachable: beyond 720 candles when planned, or when the window moved on before the answer", async () => {
      const oldest = bucketOpen(NOW_MS, 1) - 719 * MINUTE_MS;
      const planned = await run(oldest - 10 * MINUTE_MS, oldest + 10 * MINUTE_MS);
      // At the depth's very edge only a row shows what Kraken still served (it was seen serving a few
      // rows short of 720): a missing oldest row there is left for backfill, never read as quiet.
      expect(planned.map((w) => [w.ok, w.fromOpenMs, w.toOpenMs])).toEqual([
        [false, oldest - 10 * MINUTE_MS, oldest - MINUTE_MS],
        ...split(oldest, oldest + 10 * MINUTE_MS, firstTraded(oldest)),
      ]);
      expect(!planned[0]!.ok && planned[0]!.error).toBeInstanceOf(UnreachableRangeError);
      // Planned at NOW_MS, answered three minutes later: its three oldest minutes are gone.
      const moved = await run(oldest, oldest + 10 * MINUTE_MS, 3 * MINUTE_MS);
      expect(moved.map((w) => [w.ok, w.fromOpenMs, w.toOpenMs])).toEqual(split(oldest, oldest + 10 * MINUTE_MS, firstTraded(oldest + 3 * MINUTE_MS)));
      expect(!moved[0]!.ok && moved[0]!.error).toBeInstanceOf(UnreachableRangeError);
    });

    test("past the depth's edge, a missing row is a quiet minute even when it starts the window", async () => {
      const edgePassed = bucketOpen(NOW_MS, 1) - 600 * MINUTE_MS;
      const quiet = quietMinutes(1000)
        .filter((t) => t >= edgePassed)
        .at(-1)!;
      const results = await run(quiet, quiet + 30 * MINUTE_MS);
      expect(results.map((w) => [w.ok, w.fromOpenMs, w.toOpenMs])).toEqual([[true, quiet, quiet + 30 * MINUTE_MS]]);
    });
  });

  describe("an answer with two candles for one open time (Binance klines, rewritten on the way)", () => {
    const clock = createAutoClock(NOW_MS);
    let sim: RunningSimulator;
    let btc: Market;
    const range = { fromOpenMs: bucketOpen(NOW_MS, 1) - 60 * MINUTE_MS, toOpenMs: bucketOpen(NOW_MS, 1) - MINUTE_MS };
    const disputed = range.fromOpenMs + 20 * MINUTE_MS;
    let requests = 0;
    /** Repeats the row of the disputed minute at the end of the answer, changed by `change` (same row when it changes nothing). */
    const repeating = (change: (row: unknown[]) => unknown[], answers: number): typeof fetch =>
      Object.assign(async (input: string | URL | Request, init?: RequestInit) => {
        const response = await fetch(input, init);
        if (!String(input).includes("/klines")) return response;
        requests++;
        if (requests > answers) return response;
        const rows = (await response.json()) as unknown[][];
        const row = rows.find((r) => r[0] === disputed)!;
        return Response.json([...rows, change(row)]);
      }, fetch);
    const client = (f: typeof fetch) => createExchangeClient({ adapter: binance, baseUrl: sim.baseUrls.binance, fetch: f, clock, logger: silentLogger, metrics: createMetrics() });
    beforeAll(async () => {
      sim = startSimulator({ clock });
      btc = (await client(fetch).request(binance.marketsRequest(), (b) => binance.parseMarkets(b, ["USDT"]))).find((m) => m.coin === "BTC")!;
    });
    afterAll(() => sim.stop());

    async function run(f: typeof fetch): Promise<{ results: WindowResult[]; conflicts: CandleConflict[] }> {
      requests = 0;
      clock.set(NOW_MS);
      const conflicts: CandleConflict[] = [];
      const results: WindowResult[] = [];
      for await (const w of fetchRange({
        client: client(f),
        adapter: binance,
        market: btc,
        intervalMinutes: 1,
        ...range,
        nowMs: NOW_MS,
        now: () => clock.now(),
        onConflict: (c) => conflicts.push(c),
      }))
        results.push(w);
      return { results, conflicts };
    }

    const truth = () => {
      const out: RawCandle[] = [];
      for (let t = range.fromOpenMs; t <= range.toOpenMs; t += MINUTE_MS) {
        const m = simMinute("binance", "BTC", t);
        if (m) out.push(m);
      }
      return out;
    };
    const otherClose = (row: unknown[]) => row.map((v, i) => (i === 4 ? String(Number(v) + 1) : v));

    test("a repeat equal to the first copy is dropped silently: one request, every minute exact", async () => {
      const { results, conflicts } = await run(repeating((row) => row, Infinity));
      expect(requests).toBe(1);
      expect(conflicts).toEqual([]);
      expect(results).toHaveLength(1);
      expect(results[0]!.ok && results[0]!.candles).toEqual(truth());
      expect(results[0]!.ok && results[0]!.conflicts).toBeUndefined();
    });

    test("a conflict in one answer is reported and the window fetched again; the retry's answer is used", async () => {
      const { results, conflicts } = await run(repeating(otherClose, 1));
      expect(requests).toBe(2);
      expect(conflicts.map((c) => [c.attempt, c.final, c.copies.map((k) => k.openTimeMs)])).toEqual([[1, false, [disputed, disputed]]]);
      expect(results).toHaveLength(1);
      expect(results[0]!.ok && results[0]!.candles).toEqual(truth());
      expect(results[0]!.ok && results[0]!.conflicts).toBeUndefined();
    });

    test("a conflict in every answer: neither copy is kept, both come back as the window's conflicts, never a pick", async () => {
      const { results, conflicts } = await run(repeating(otherClose, Infinity));
      expect(requests).toBe(1 + CONFLICT_RETRIES);
      expect(conflicts.map((c) => [c.attempt, c.final])).toEqual(Array.from({ length: 1 + CONFLICT_RETRIES }, (_, i) => [i + 1, i === CONFLICT_RETRIES]));
      expect(results).toHaveLength(1);
      const w = results[0]!;
      if (!w.ok) throw w.error;
      expect(w.candles).toEqual(truth().filter((c) => c.openTimeMs !== disputed));
      expect(w.conflicts!.map((c) => c.openTimeMs)).toEqual([disputed, disputed]);
      expect(new Set(w.conflicts!.map((c) => c.close)).size).toBe(2);
    });
  });
});
