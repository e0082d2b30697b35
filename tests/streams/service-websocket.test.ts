import { afterEach, describe, expect, test } from "bun:test";
import type { ExchangeId } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import type { SimServiceId } from "../../src/simulator/server.ts";
import { duplicates, mismatches } from "../helpers/oracle.ts";
import { type LiveRun, missingBuckets, readCsvDir, startLiveRun } from "./live-driver.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const EXCHANGES: ExchangeId[] = ["binance", "kraken", "kucoin", "poloniex"];
const COINS = ["BTC", "DOGE", "ADA"];
const yaml = (interval: string) =>
  `bucketing_interval: ${interval}\nn_coins_to_poll: 0\nlist_coins_to_poll: [${COINS.join(", ")}]\nexchanges: [${EXCHANGES.join(", ")}]\ncatch_up_limit: 1h\n`;

const CANDLE_URL = /klines|OHLC|candles/i;
const candleRequests = (run: LiveRun, fromMs: number) => run.requests.filter((r) => r.atMs >= fromMs && CANDLE_URL.test(r.url)).length;

let run: LiveRun | undefined;
afterEach(async () => {
  await run?.close();
  run = undefined;
});

/** Every closed bucket from the first cycle's to the last, once, each equal to the simulator's. */
function expectExact(r: LiveRun, intervalMinutes: number, fromOpenMs: number, toOpenMs: number): void {
  const rows = readCsvDir(r.csvDir);
  expect(duplicates(rows)).toEqual([]);
  expect(mismatches(rows)).toEqual([]);
  expect(missingBuckets(rows, EXCHANGES, COINS, intervalMinutes, fromOpenMs, toOpenMs)).toEqual([]);
  // Never a bucket still in progress (or not yet settled).
  expect(rows.filter((row) => row.openTimeMs > toOpenMs)).toEqual([]);
}

describe("live_source websocket in the service", () => {
  test.each([
    ["1m", 1, 8],
    ["5m", 5, 4],
  ])(
    "at %s every closed bucket is written once, equal to the simulator, with few REST requests",
    async (interval, minutes, buckets) => {
      const size = minutes * MINUTE_MS;
      run = await startLiveRun({ startMs: T0 + 10_000, yaml: yaml(interval) });
      // The first cycle (REST reconcile) at the first boundary + settle.
      await run.stepTo(T0 + size + 20_000);
      const afterReconcile = run.clock.now();
      await run.stepTo(T0 + (buckets + 1) * size + 20_000);
      const last = T0 + buckets * size;
      expectExact(run, minutes, T0 + size - size - size, last);
      const rows = readCsvDir(run.csvDir);
      expect(rows.filter((r) => r.exchange === "binance").length).toBeGreaterThan(0);
      // Steady state: far fewer candle requests than one per series and bucket (REST mode's floor).
      const steady = candleRequests(run, afterReconcile);
      const restFloor = EXCHANGES.length * COINS.length * (buckets - 1);
      expect(steady).toBeLessThan(restFloor / 2);
      const health = (await (await run.runtime.app.request("/health")).json()) as { exchanges: Record<string, { stream: { connected: boolean } | null }> };
      for (const ex of EXCHANGES) expect(health.exchanges[ex]?.stream?.connected).toBe(true);
      const metrics = await (await run.runtime.app.request("/metrics")).text();
      expect(metrics).toContain('cryptointellect_stream_connections{exchange="binance"} 1');
      expect(metrics).toContain("cryptointellect_stream_messages_total");
    },
    120_000,
  );

  test("a quiet bucket is fed forward from the stream, with no REST request for it", async () => {
    run = await startLiveRun({ startMs: T0 + 10_000, yaml: yaml("1m") });
    await run.stepTo(T0 + 12 * MINUTE_MS + 20_000);
    const rows = readCsvDir(run.csvDir);
    expect(mismatches(rows)).toEqual([]);
    const filled = rows.filter((r) => r.line.endsWith(",0,1") && r.openTimeMs >= T0 + MINUTE_MS);
    const r = run;
    // Built from the stream: the exchange had no candle request in the cycle that saved it.
    const fromStream = filled.filter(
      (row) =>
        !r.requests.some((q) => q.atMs >= row.openTimeMs + MINUTE_MS && q.atMs < row.openTimeMs + 2 * MINUTE_MS && q.url.includes(`/${row.exchange}/`) && CANDLE_URL.test(q.url)),
    );
    expect(fromStream.length).toBeGreaterThan(0);
  }, 120_000);

  test("with stream faults (drops, stall, garbage) the end state is the same: REST fills what the stream missed", async () => {
    run = await startLiveRun({ startMs: T0 + 10_000, yaml: yaml("1m") });
    await run.stepTo(T0 + 2 * MINUTE_MS + 20_000);
    const faults = [{ streamCloseAfterMs: 0 }, { streamCloseAfterMs: 0, streamCloseAbrupt: true }, { streamStall: true }, { streamGarbageRate: 0.5 }];
    for (const f of faults) {
      for (const ex of EXCHANGES) run.sim.setFaults(ex as SimServiceId, f);
      await run.stepTo(run.clock.now() + 90_000);
      for (const ex of EXCHANGES) run.sim.setFaults(ex as SimServiceId, {});
      await run.stepTo(run.clock.now() + 90_000);
    }
    await run.stepTo(Math.ceil(run.clock.now() / MINUTE_MS) * MINUTE_MS + 3 * MINUTE_MS + 20_000);
    const last = Math.floor((run.clock.now() - 20_000) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
    expectExact(run, 1, T0, last);
    expect(
      run.runtime.metrics.get("cryptointellect_stream_fallbacks_total", { exchange: "binance" }) +
        run.runtime.metrics.get("cryptointellect_stream_fallbacks_total", { exchange: "kraken" }),
    ).toBeGreaterThan(0);
    run.runtime.live?.syncMetrics();
    for (const ex of EXCHANGES) expect(run.runtime.metrics.get("cryptointellect_stream_reconnects_total", { exchange: ex })).toBeGreaterThan(0);
    expect(run.runtime.metrics.get("cryptointellect_stream_disagreements_total", { exchange: "binance" })).toBe(0);
  }, 180_000);
});

describe("live_source websocket: stream and REST", () => {
  test("a bucket both give differently is logged and counted, and REST's is saved", async () => {
    const bucket = T0 + 2 * MINUTE_MS;
    let alteredClose: string | undefined;
    run = await startLiveRun({
      startMs: T0 + 10_000,
      yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC]\nexchanges: [binance]\ncatch_up_limit: 1h\n",
      intercept: async (url, response, nowMs) => {
        if (!url.includes("/api/v3/klines") || nowMs < bucket + MINUTE_MS) return response;
        const rows = (await response.json()) as (string | number)[][];
        for (const row of rows) {
          if (row[0] !== bucket) continue;
          // Another close inside the candle's range: a valid candle, just not the stream's.
          row[4] = row[4] === row[2] ? row[3]! : row[2]!;
          alteredClose = String(row[4]);
        }
        return new Response(JSON.stringify(rows), { status: response.status, headers: { "content-type": "application/json" } });
      },
    });
    await run.stepTo(bucket + 20_000);
    // A drop in the middle of the bucket: the next cycle reconciles over REST while the stream has the bucket too.
    run.sim.setFaults("binance", { streamCloseAfterMs: 0 });
    await run.stepTo(run.clock.now() + 2000);
    run.sim.setFaults("binance", {});
    await run.stepTo(bucket + MINUTE_MS + 20_000);
    expect(alteredClose).toBeDefined();
    expect(run.runtime.metrics.get("cryptointellect_stream_disagreements_total", { exchange: "binance" })).toBe(1);
    expect(run.lines.some((l) => l.includes("stream and REST disagree"))).toBe(true);
    const saved = readCsvDir(run.csvDir).find((r) => r.openTimeMs === bucket);
    expect(saved?.line.split(",")[6]).toBe(String(Number(alteredClose)));
  }, 60_000);

  test("/api/status shows the stream, and shutdown closes every connection", async () => {
    run = await startLiveRun({ startMs: T0 + 10_000, yaml: yaml("1m") });
    await run.stepTo(T0 + 2 * MINUTE_MS + 20_000);
    const status = (await (await run.runtime.app.request("/api/status")).json()) as {
      exchanges: Record<string, { stream: { connected: boolean; reconnects: number; lastMessage: string | null } | null }>;
    };
    for (const ex of EXCHANGES) expect(status.exchanges[ex]?.stream).toMatchObject({ connected: true, reconnects: 0, lastMessage: expect.any(String) });
    const closing = run;
    run = undefined;
    expect(Object.values(closing.sim.stats().streams).reduce((n, c) => n + c.open, 0)).toBe(EXCHANGES.length);
    await closing.close();
    expect(closing.openStreamsAfterClose).toEqual({ binance: 0, kraken: 0, kucoin: 0, poloniex: 0 });
  }, 60_000);

  test("REST mode reports no stream", async () => {
    run = await startLiveRun({ startMs: T0 + 10_000, yaml: yaml("1m"), liveSource: "rest" });
    await run.stepTo(T0 + MINUTE_MS + 20_000);
    const health = (await (await run.runtime.app.request("/health")).json()) as { exchanges: Record<string, { stream: unknown }> };
    for (const ex of EXCHANGES) expect(health.exchanges[ex]?.stream).toBeNull();
    expect(run.runtime.live).toBeUndefined();
  }, 60_000);

  test("a ccxt exchange stays on REST, saying so once", async () => {
    run = await startLiveRun({
      startMs: T0 + 10_000,
      yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC]\nexchanges: [binance, okx]\ncatch_up_limit: 1h\n",
      ccxtIds: ["okx"],
    });
    await run.stepTo(T0 + 4 * MINUTE_MS + 20_000);
    expect(run.lines.filter((l) => l.includes("no stream here") && l.includes("exchange=okx"))).toHaveLength(1);
    const rows = readCsvDir(run.csvDir);
    expect(mismatches(rows)).toEqual([]);
    expect(duplicates(rows)).toEqual([]);
    for (const ex of ["binance", "okx"]) {
      expect(rows.filter((r) => r.exchange === ex).map((r) => r.openTimeMs)).toEqual([0, 1, 2, 3, 4].map((m) => T0 + (m - 1) * MINUTE_MS));
    }
    const health = (await (await run.runtime.app.request("/health")).json()) as { exchanges: Record<string, { stream: unknown }> };
    expect(health.exchanges.okx?.stream).toBeNull();
    expect(health.exchanges.binance?.stream).not.toBeNull();
  }, 60_000);
});
