import { describe, expect, test } from "bun:test";
import { createHealthTracker } from "../../src/collector/health.ts";
import { parseConfig } from "../../src/config/config.ts";
import { createCycleLog } from "../../src/query/last-cycles.ts";
import { configView, statusView } from "../../src/query/status.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import type { ExchangeCycleReport } from "../../src/pipeline/cycle.ts";

const PASSWORD = "s3cr3t:p@ss/word";
const KEY = "CG-abcdef123456";

describe("the effective config in /api/status", () => {
  test("shows every field but no secret: database passwords, query-string secrets, the API key", () => {
    const yaml = `bucketing_interval: 5m
exchanges: [Binance]
save_to_database: true
database_connection: "postgresql+psycopg2://ci:${encodeURIComponent(PASSWORD)}@db.example:5432/candles?sslpassword=${encodeURIComponent(PASSWORD)}"
coingecko_api_key: ${KEY}
api_base_urls:
  binance: http://user:${encodeURIComponent(PASSWORD)}@127.0.0.1:9700/binance
`;
    const config = parseConfig(yaml, "test.yml", {});
    const view = configView(config);
    const text = JSON.stringify(view);
    for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), KEY]) expect(text).not.toContain(secret);
    expect(view).toMatchObject({ bucketIntervalMinutes: 5, bucketingInterval: "5m", saveToDatabase: true, coingeckoApiKey: "***", settleSeconds: 5 });
    expect(String(view.databaseUrl)).toContain("db.example:5432");
    expect(String(view.databaseUrl)).toContain("***");
    expect(String((view.apiBaseUrls as Record<string, string>).binance)).toBe("http://user:***@127.0.0.1:9700/binance");
  });

  test("a config without secrets shows null for the key", () => {
    expect(configView(parseConfig(undefined, "defaults", {})).coingeckoApiKey).toBeNull();
  });
});

describe("exchanges in /api/status", () => {
  test("each has its last cycle as the health tracker was told it, and its 429 and 418 counts", () => {
    const config = parseConfig("exchanges: [Binance, Kraken]\nbucketing_interval: 1m\n", "test.yml", {});
    const cycles = createCycleLog();
    const health = cycles.observe(createHealthTracker(["binance", "kraken"], ["csv"], 0));
    const report: ExchangeCycleReport = {
      exchange: "binance",
      startedMs: 60_000,
      finishedMs: 61_000,
      targetOpenMs: 0,
      seriesTotal: 3,
      seriesOk: 2,
      seriesFailed: 1,
      banned: false,
      filled: 1,
      rejected: 0,
      sinks: { csv: { ok: true, written: 4 } },
      lagBuckets: 0,
    };
    health.record(report);
    health.cycleDone();
    const metrics = createMetrics();
    metrics.inc("cryptointellect_rate_limited_total", { exchange: "binance" }, 3);
    metrics.inc("cryptointellect_bans_total", { exchange: "kraken" });
    const view = statusView({ config, health: health.snapshot(70_000), lastCycles: cycles.last(), metrics });
    expect(view.status.cycles).toBe(1);
    expect(view.status.exchanges.binance!.lastError).toBe("1 of 3 series failed");
    expect(view.exchanges).toEqual({
      binance: {
        lastCycle: {
          startedAt: "1970-01-01T00:01:00.000Z",
          finishedAt: "1970-01-01T00:01:01.000Z",
          target: "1970-01-01T00:01:00.000Z",
          seriesTotal: 3,
          seriesOk: 2,
          seriesFailed: 1,
          banned: false,
          filled: 1,
          rejected: 0,
          lagBuckets: 0,
          sinks: { csv: { ok: true, written: 4, error: null } },
          error: null,
        },
        refusals: { "429": 3, "418": 0 },
        stream: null,
      },
      kraken: { lastCycle: null, refusals: { "429": 0, "418": 1 }, stream: null },
    });
  });
});
