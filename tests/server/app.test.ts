import { describe, expect, test } from "bun:test";
import { createHealthTracker } from "../../src/collector/health.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import type { ExchangeCycleReport } from "../../src/pipeline/cycle.ts";
import { createApp } from "../../src/server/app.ts";
import { createMetadataRoutes } from "../../src/server/metadata.ts";
import { createMemoryLogger } from "../../src/telemetry/log.ts";

const report = (exchange: ExchangeCycleReport["exchange"], ok: boolean, sinkOk = true): ExchangeCycleReport => ({
  exchange,
  startedMs: 0,
  finishedMs: 1000,
  targetOpenMs: 0,
  seriesTotal: 2,
  seriesOk: ok ? 2 : 0,
  seriesFailed: ok ? 0 : 2,
  banned: false,
  filled: 0,
  rejected: 0,
  sinks: { csv: { ok: sinkOk, written: 2 } },
  lagBuckets: 0,
});

function cycles(health: ReturnType<typeof createHealthTracker>, n: number, okBinance: boolean, okKraken: boolean, sinkOk = true) {
  for (let i = 0; i < n; i++) {
    health.record(report("binance", okBinance, sinkOk));
    health.record(report("kraken", okKraken, sinkOk));
    health.cycleDone();
  }
}

describe("health", () => {
  test("is starting until three cycles have run, then ok", () => {
    const h = createHealthTracker(["binance", "kraken"], ["csv"], 0);
    expect(h.snapshot(0).status).toBe("starting");
    cycles(h, 2, true, true);
    expect(h.snapshot(0).status).toBe("starting");
    cycles(h, 1, true, true);
    expect(h.snapshot(0).status).toBe("ok");
  });

  test("is degraded when one exchange has not succeeded in three cycles, down when none has", () => {
    const h = createHealthTracker(["binance", "kraken"], ["csv"], 0);
    cycles(h, 3, true, false);
    const s = h.snapshot(0);
    expect(s.status).toBe("degraded");
    expect(s.reasons.join()).toContain("kraken");
    cycles(h, 3, false, false);
    expect(h.snapshot(0).status).toBe("down");
  });

  test("counts a sink failing in a cycle once, whatever the number of exchanges writing to it: degraded, down after three cycles in a row", () => {
    const exchanges = ["binance", "kraken", "kucoin", "poloniex"] as const;
    const h = createHealthTracker(exchanges, ["csv"], 0);
    const tick = (sinkOk: boolean) => {
      for (const e of exchanges) h.record(report(e, true, sinkOk));
      h.cycleDone();
    };
    for (let i = 0; i < 3; i++) tick(true);
    expect(h.snapshot(0).status).toBe("ok");
    for (let failed = 1; failed <= 3; failed++) {
      tick(false);
      const s = h.snapshot(0);
      expect(s.sinks.csv).toMatchObject({ consecutiveFailures: failed, errors: failed });
      expect(s.reasons).toContain(`csv sink: ${failed} failed cycle(s)`);
      expect(s.status).toBe(failed < 3 ? "degraded" : "down");
    }
    tick(true);
    expect(h.snapshot(0).status).toBe("ok");
    expect(h.snapshot(0).sinks.csv).toMatchObject({ consecutiveFailures: 0, errors: 3, lastSuccess: new Date(1000).toISOString() });
  });

  test("a sink failing for only some exchanges in a cycle has failed that cycle", () => {
    const h = createHealthTracker(["binance", "kraken"], ["csv"], 0);
    cycles(h, 3, true, true);
    h.record(report("binance", true, true));
    h.record(report("kraken", true, false));
    h.cycleDone();
    expect(h.snapshot(0).sinks.csv?.consecutiveFailures).toBe(1);
    expect(h.snapshot(0).status).toBe("degraded");
  });

  test("an exchange whose cycle could not run (its listing failed) has every series failed, with the reason", () => {
    const h = createHealthTracker(["binance", "kraken"], ["csv"], 0);
    for (let i = 0; i < 3; i++) {
      h.record(report("binance", true));
      h.record({ ...report("kraken", false), sinks: {}, error: "market listing failed: kraken GET /0/public/AssetPairs: fetch failed" });
      h.cycleDone();
    }
    const s = h.snapshot(0);
    expect(s.status).toBe("degraded");
    expect(s.exchanges.kraken).toMatchObject({ errors: 6, lastSuccess: null });
    expect(s.exchanges.kraken!.lastError).toBe("2 of 2 series failed: market listing failed: kraken GET /0/public/AssetPairs: fetch failed");
    // Even with no series known (no listing ever loaded, no coins), the cycle counts as failed.
    const none = createHealthTracker(["kraken"], ["csv"], 0);
    for (let i = 0; i < 3; i++) {
      none.record({ ...report("kraken", false), seriesTotal: 0, seriesFailed: 0, sinks: {}, error: "market listing failed" });
      none.cycleDone();
    }
    expect(none.snapshot(0).status).toBe("down");
    expect(none.snapshot(0).exchanges.kraken?.errors).toBe(3);
  });

  test("is down when a sink has failed for three cycles", () => {
    const h = createHealthTracker(["binance"], ["csv"], 0);
    for (let i = 0; i < 3; i++) {
      h.record(report("binance", true, false));
      h.cycleDone();
    }
    expect(h.snapshot(0).status).toBe("down");
  });
});

describe("app", () => {
  const make = (status: "ok" | "down") => {
    const h = createHealthTracker(["binance"], ["csv"], 0);
    for (let i = 0; i < 3; i++) {
      h.record(report("binance", status === "ok"));
      h.cycleDone();
    }
    const metrics = createMetrics();
    metrics.inc("cryptointellect_rows_written_total", { sink: "csv", exchange: "binance" }, 5);
    return createApp({ health: () => h.snapshot(5000), metrics: () => metrics.render(), metadata: createMetadataRoutes(undefined), logger: createMemoryLogger() });
  };

  test("an unexpected error answers 500 without its message, and the message goes to the log", async () => {
    const logger = createMemoryLogger();
    const app = createApp({
      health: () => {
        throw new Error("secret internals: /var/lib/thing");
      },
      metrics: () => "",
      metadata: createMetadataRoutes(undefined),
      logger,
    });
    const res = await app.request("/health");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("secret internals");
    expect(logger.lines.some((l) => l.includes("HTTP request failed") && l.includes("secret internals") && l.includes("/health"))).toBe(true);
  });

  test("/metadata outside database mode is the metadata routes' own 404", async () => {
    const res = await make("ok").request("/metadata");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("database mode only");
  });

  test("GET /health answers 200 with per-exchange and per-sink detail when ok", async () => {
    const res = await make("ok").request("/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; exchanges: Record<string, unknown>; sinks: Record<string, unknown>; uptimeSeconds: number };
    expect(body.status).toBe("ok");
    expect(body.exchanges.binance).toMatchObject({ lagBuckets: 0, errors: 0 });
    expect(body.sinks.csv).toBeDefined();
    expect(body.uptimeSeconds).toBe(5);
  });

  test("GET /health answers 503 when down", async () => {
    expect((await make("down").request("/health")).status).toBe(503);
  });

  test("GET /metrics is Prometheus text with HELP and TYPE lines", async () => {
    const res = await make("ok").request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain("# TYPE cryptointellect_rows_written_total counter");
    expect(text).toContain('cryptointellect_rows_written_total{exchange="binance",sink="csv"} 5');
  });

  test("exposes nothing but the documented routes and refuses oversized requests", async () => {
    const app = make("ok");
    // `/` is the status page (tests/browser); nothing else at the top is served.
    expect((await app.request("/index.html")).status).toBe(404);
    expect((await app.request("/../../etc/passwd")).status).toBe(404);
    expect((await app.request("/health", { method: "POST", body: "x" })).status).toBe(405);
    expect((await app.request("/health", { headers: { "content-length": String(10 * 1024 * 1024) } })).status).toBe(413);
    expect((await app.request("/metadata")).status).toBe(404);
  });
});
