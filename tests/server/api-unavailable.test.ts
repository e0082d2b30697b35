/** The query API over a database that cannot be reached: 503 with a plain reason, no address or password in the answer. */
import { describe, expect, test } from "bun:test";
import { createHealthTracker } from "../../src/collector/health.ts";
import { parseConfig } from "../../src/config/config.ts";
import { createDatabaseSource } from "../../src/query/database-source.ts";
import { createApiRoutes } from "../../src/server/api.ts";
import { createApp } from "../../src/server/app.ts";
import { Hono } from "hono";
import { createMemoryLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { unusedPort } from "../db/servers.ts";

const PASSWORD = "Db#Pa55-unreachable";

describe("the query API over a database that is down", () => {
  test("answers 503 for candles and series, logs the reason without the password, and recovers nothing it should not", async () => {
    const port = await unusedPort();
    const url = `postgres://ci:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/candles`;
    const config = parseConfig(`save_to_database: true\ndatabase_connection: "${url}"\n`, "test.yml", {});
    const logger = createMemoryLogger(); // no masking here: nothing may reach it
    const source = createDatabaseSource({ url, logger });
    const health = createHealthTracker(config.exchanges, ["database"], 0);
    const api = createApiRoutes({ config, source, tracked: () => new Map(), health: () => health.snapshot(0), lastCycles: () => new Map(), metrics: createMetrics(), logger });
    const app = createApp({ health: () => health.snapshot(0), metrics: () => "", metadata: new Hono(), logger, api });
    try {
      for (const path of [
        "/api/candles?exchange=binance&coin=BTC",
        "/api/candles?exchange=binance&coin=BTC&format=csv",
        "/api/candles?exchange=binance&coin=BTC&format=parquet",
        "/api/series",
      ]) {
        const response = await app.request(path);
        expect(response.status).toBe(503);
        const text = await response.text();
        expect(JSON.parse(text)).toEqual({ error: "the database cannot be read right now" });
        expect(text).not.toContain(String(port));
      }
      const status = await app.request("/api/status");
      expect(status.status).toBe(200);
      const text = await status.text();
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD)]) expect(text).not.toContain(secret);
      expect(logger.lines.join("\n")).toContain("cannot connect");
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD)]) expect(logger.lines.join("\n")).not.toContain(secret);
    } finally {
      await source.close();
    }
  });
});
