/**
 * The read-only query API under /api: `GET /api/series`, `GET /api/candles`, `GET /api/status`.
 * Answers come from the store the service writes to (src/query/source.ts), the same from the
 * database and from the CSV files. Only GET and HEAD: nothing here can write.
 */
import { Hono } from "hono";
import type { HealthSnapshot } from "../collector/health.ts";
import type { Config } from "../config/config.ts";
import type { ExchangeId } from "../domain/candle.ts";
import { CryptoIntellectError, describeError } from "../errors.ts";
import type { Market } from "../exchanges/types.ts";
import type { ExchangeCycleReport } from "../pipeline/cycle.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { answerCandles } from "../query/answer.ts";
import { parseCandleQuery } from "../query/params.ts";
import { listSeries } from "../query/series-list.ts";
import type { CandleSource } from "../query/source.ts";
import { statusView } from "../query/status.ts";

export interface ApiDeps {
  config: Config;
  source: CandleSource;
  /** The markets being collected, per exchange (`service.tracked()`). */
  tracked: () => ReadonlyMap<ExchangeId, readonly Market[]>;
  health: () => HealthSnapshot;
  lastCycles: () => ReadonlyMap<ExchangeId, ExchangeCycleReport>;
  metrics: Pick<Metrics, "get">;
  logger: Logger;
}

export const API_ROUTES = ["/api/series", "/api/candles", "/api/status"] as const;

/** The API's routes, to mount at /api. */
export function createApiRoutes(deps: ApiDeps): Hono {
  const api = new Hono();
  const interval = deps.config.bucketIntervalMinutes;

  /** A store that cannot be read (database down, CSV folder unreadable): 503, the detail in the log only. */
  const unavailable = (error: unknown, what: string) => {
    if (!(error instanceof CryptoIntellectError) || (error.code !== "DATABASE" && error.code !== "SINK")) throw error;
    deps.logger.warn(`query API: ${what} failed`, { store: deps.source.kind, error: describeError(error) });
    return Response.json({ error: `the ${deps.source.kind === "database" ? "database" : "CSV files"} cannot be read right now` }, { status: 503 });
  };

  api.get("/series", async (c) => {
    try {
      const saved = await deps.source.series(interval);
      return c.json({ series: listSeries({ intervalMinutes: interval, tracked: deps.tracked(), saved, health: deps.health() }) });
    } catch (error) {
      return unavailable(error, "listing series");
    }
  });

  api.get("/candles", async (c) => {
    const values = new Map<string, string[]>();
    for (const [name, value] of new URL(c.req.url).searchParams) values.set(name, [...(values.get(name) ?? []), value]);
    const parsed = parseCandleQuery(values, { defaultIntervalMinutes: interval });
    if (!parsed.ok) return c.json({ error: `${parsed.parameter}: ${parsed.error}`, parameter: parsed.parameter }, 400);
    try {
      const answer = await answerCandles(deps.source, parsed.query, { logger: deps.logger });
      const headers: Record<string, string> = { "content-type": answer.contentType };
      if (answer.filename) headers["content-disposition"] = `attachment; filename="${answer.filename}"`;
      if (answer.next) headers["x-next-cursor"] = answer.next;
      return new Response(answer.body, { status: 200, headers });
    } catch (error) {
      return unavailable(error, "reading candles");
    }
  });

  api.get("/status", (c) => c.json(statusView({ config: deps.config, health: deps.health(), lastCycles: deps.lastCycles(), metrics: deps.metrics })));

  // Everything else: a method that could change something is refused, an unknown path is not found.
  api.all("*", (c) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return c.json({ error: "not found", routes: API_ROUTES }, 404);
    return c.json({ error: "method not allowed: the query API only reads (GET, HEAD)" }, 405, { allow: "GET, HEAD" });
  });
  return api;
}
