import { describe, expect, test } from "bun:test";
import { BannedError, ExchangeHttpError, ExchangeSchemaError, RateLimitedError } from "../../src/errors.ts";
import type { RateBudget } from "../../src/exchanges/types.ts";
import { createExchangeClient, type FetchFn } from "../../src/http/client.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { createAutoClock } from "../helpers/clocks.ts";

type Reply = { status?: number; body?: string; headers?: Record<string, string> } | "network" | "hang";

function setup(replies: Reply[], budget: RateBudget = { refillPerSecond: 1000, burst: 1000 }) {
  const clock = createAutoClock(Date.parse("2024-06-01T00:00:00Z"));
  const metrics = createMetrics();
  const calls: { url: string; atMs: number }[] = [];
  const fetch: FetchFn = async (input, init) => {
    calls.push({ url: String(input), atMs: clock.now() });
    const reply = replies.shift() ?? { body: "[]" };
    if (reply === "network") throw new TypeError("connection refused");
    if (reply === "hang") {
      return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    }
    return new Response(reply.body ?? "[]", { status: reply.status ?? 200, headers: reply.headers });
  };
  const client = createExchangeClient({
    adapter: { id: "binance", budget },
    baseUrl: "http://sim/binance/",
    fetch,
    clock,
    logger: silentLogger,
    metrics,
    random: () => 0.5,
    timeoutMs: 50,
  });
  const spec = { path: "/api/v3/klines", query: { symbol: "BTCUSDT" }, weight: 2, label: "BTCUSDT" };
  const parse = (body: unknown) => {
    if (!Array.isArray(body)) throw new ExchangeSchemaError("test", "not an array");
    return body;
  };
  return { clock, metrics, calls, client, spec, parse };
}

describe("http client", () => {
  test("builds the URL under the base URL's path prefix", async () => {
    const { client, calls, spec, parse } = setup([{ body: "[1]" }]);
    expect(await client.request(spec, parse)).toEqual([1]);
    expect(calls[0]!.url).toBe("http://sim/binance/api/v3/klines?symbol=BTCUSDT");
  });

  test("retries server errors, network errors and timeouts with growing backoff, then succeeds", async () => {
    const { client, calls, clock, metrics, spec, parse } = setup([{ status: 500 }, "network", "hang", { status: 503 }, { body: "[2]" }]);
    expect(await client.request(spec, parse)).toEqual([2]);
    expect(calls).toHaveLength(5);
    expect(clock.sleeps.length).toBe(4);
    expect(clock.sleeps[3]!).toBeGreaterThan(clock.sleeps[0]!);
    expect(metrics.get("cryptointellect_retries_total", { exchange: "binance", reason: "http-500" })).toBe(1);
    expect(metrics.get("cryptointellect_retries_total", { exchange: "binance", reason: "timeout" })).toBe(1);
  });

  test("retries garbage and truncated bodies", async () => {
    const { client, calls, spec, parse } = setup([{ body: "<html>oops" }, { body: '[[1,"2"' }, { body: "[3]" }]);
    expect(await client.request(spec, parse)).toEqual([3]);
    expect(calls).toHaveLength(3);
  });

  test("gives up after the last attempt with the final error", async () => {
    const { client, calls, spec, parse } = setup(Array(10).fill({ status: 502 }));
    await expect(client.request(spec, parse)).rejects.toBeInstanceOf(ExchangeHttpError);
    expect(calls).toHaveLength(5);
    expect(client.status().consecutiveFailures).toBe(1);
  });

  test("never retries other 4xx or a schema mismatch", async () => {
    const a = setup([{ status: 400, body: '{"code":-1100,"msg":"bad"}' }]);
    await expect(a.client.request(a.spec, a.parse)).rejects.toThrow("HTTP 400");
    expect(a.calls).toHaveLength(1);
    const b = setup([{ body: '{"not":"an array"}' }]);
    await expect(b.client.request(b.spec, b.parse)).rejects.toBeInstanceOf(ExchangeSchemaError);
    expect(b.calls).toHaveLength(1);
  });

  test("honours Retry-After on 429 and counts the refusal", async () => {
    const { client, calls, metrics, spec, parse } = setup([{ status: 429, headers: { "retry-after": "7" } }, { body: "[1]" }]);
    await client.request(spec, parse);
    expect(calls[1]!.atMs - calls[0]!.atMs).toBeGreaterThanOrEqual(7000);
    expect(metrics.get("cryptointellect_rate_limited_total", { exchange: "binance" })).toBe(1);
  });

  test("stops calling a banning exchange (418) until the ban ends", async () => {
    const { client, calls, clock, metrics, spec, parse } = setup([{ status: 418, headers: { "retry-after": "120" } }, { body: "[5]" }]);
    await expect(client.request(spec, parse)).rejects.toBeInstanceOf(BannedError);
    await expect(client.request(spec, parse)).rejects.toBeInstanceOf(BannedError);
    expect(calls).toHaveLength(1);
    expect(metrics.get("cryptointellect_banned", { exchange: "binance" })).toBe(1);
    clock.set(clock.now() + 121_000);
    expect(await client.request(spec, parse)).toEqual([5]);
    expect(calls).toHaveLength(2);
    expect(metrics.get("cryptointellect_banned", { exchange: "binance" })).toBe(0);
  });

  test("counts one ban once, however many requests in flight saw its 418; a later ban counts again", async () => {
    const clock = createAutoClock(Date.parse("2024-06-01T00:00:00Z"));
    const metrics = createMetrics();
    const inFlight = 5;
    let arrived = 0;
    let release!: () => void;
    const allIn = new Promise<void>((resolve) => (release = resolve));
    const fetch: FetchFn = async () => {
      if (++arrived === inFlight) release();
      await allIn;
      return new Response("", { status: 418, headers: { "retry-after": "60" } });
    };
    const client = createExchangeClient({
      adapter: { id: "binance", budget: { refillPerSecond: 1000, burst: 1000 } },
      baseUrl: "http://sim",
      fetch,
      clock,
      logger: silentLogger,
      metrics,
    });
    const spec = { path: "/api/v3/klines", weight: 1, label: "BTCUSDT" };
    const results = await Promise.allSettled(Array.from({ length: inFlight }, () => client.request(spec, (b) => b)));
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof BannedError)).toBe(true);
    expect(arrived).toBe(inFlight);
    expect(metrics.get("cryptointellect_bans_total", { exchange: "binance" })).toBe(1);
    clock.set(clock.now() + 61_000);
    await expect(client.request(spec, (b) => b)).rejects.toBeInstanceOf(BannedError);
    expect(metrics.get("cryptointellect_bans_total", { exchange: "binance" })).toBe(2);
  });

  test("pauses until the weight window turns when the used-weight header nears the limit", async () => {
    const budget: RateBudget = { refillPerSecond: 1000, burst: 1000, usedWeightHeader: { name: "x-mbx-used-weight-1m", limit: 6000, windowMs: 60_000 } };
    const { client, calls, spec, parse } = setup([{ body: "[1]", headers: { "x-mbx-used-weight-1m": "5990" } }, { body: "[2]" }], budget);
    await client.request(spec, parse);
    await client.request(spec, parse);
    const window = Math.floor(calls[0]!.atMs / 60_000);
    expect(Math.floor(calls[1]!.atMs / 60_000)).toBeGreaterThan(window);
  });

  test("spends no more than burst + rate × time in any window", async () => {
    const budget: RateBudget = { refillPerSecond: 10, burst: 20 };
    const { client, calls, spec, parse } = setup(Array(200).fill({ body: "[]" }), budget);
    for (let i = 0; i < 100; i++) await client.request({ ...spec, weight: 2 }, parse);
    const start = calls[0]!.atMs;
    for (const windowMs of [1000, 5000, 10_000]) {
      for (let from = start; from < calls.at(-1)!.atMs; from += 500) {
        const spent = calls.filter((c) => c.atMs >= from && c.atMs < from + windowMs).length * 2;
        expect(spent).toBeLessThanOrEqual(20 + (10 * windowMs) / 1000 + 2);
      }
    }
  });

  test("refuses a body larger than the limit without parsing it", async () => {
    const clock = createAutoClock(0);
    const big = "[" + "1,".repeat(600_000) + "1]";
    const client = createExchangeClient({
      adapter: { id: "kraken", budget: { refillPerSecond: 100, burst: 100 } },
      baseUrl: "http://sim",
      fetch: async () => new Response(big),
      clock,
      logger: silentLogger,
      metrics: createMetrics(),
      maxBodyBytes: 1_000_000,
    });
    await expect(client.request({ path: "/x", weight: 1, label: "x" }, (b) => b)).rejects.toThrow("larger than");
  });

  test("a rate-limit error found in a 200 body is retried after a pause", async () => {
    const { client, calls, spec } = setup([{ body: '{"error":["EGeneral:Too many requests"]}' }, { body: "[9]" }]);
    const parse = (body: unknown) => {
      if (!Array.isArray(body)) throw new RateLimitedError("kraken", 3000);
      return body;
    };
    expect(await client.request(spec, parse)).toEqual([9]);
    expect(calls[1]!.atMs - calls[0]!.atMs).toBeGreaterThanOrEqual(3000);
  });
});
