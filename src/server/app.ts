/** The HTTP endpoint: /health, /metrics and /metadata. Tested in-process with `app.request()`. */
import { Hono } from "hono";
import type { HealthSnapshot } from "../collector/health.ts";
import { describeError } from "../errors.ts";
import { type StatusPage, statusPage } from "./page.ts";
import type { Logger } from "../telemetry/log.ts";

export interface AppDeps {
  health: () => HealthSnapshot;
  metrics: () => string;
  /** The /metadata sub-app (src/server/metadata.ts), mounted as is; it answers 404 outside database mode. */
  metadata: Hono;
  /** Where an unexpected error's message goes (never into the answer). */
  logger: Logger;
  /** The status page at `/` (default: src/server/page.ts, embedded or built once). */
  page?: () => Promise<StatusPage>;
  /** The read-only query API (src/server/api.ts), mounted at /api when given. */
  api?: Hono;
}

/** Nothing here takes a body; anything longer is refused (Bun.serve enforces it at the socket too). */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_REQUEST_BODY_BYTES) return c.json({ error: "request body too large" }, 413);
    if (c.req.url.length > 4096) return c.json({ error: "URL too long" }, 414);
    await next();
    c.header("x-content-type-options", "nosniff");
    c.header("cache-control", "no-store");
  });
  app.get("/health", (c) => {
    const snapshot = deps.health();
    return c.json(snapshot, snapshot.status === "down" ? 503 : 200);
  });
  app.get("/metrics", (c) => c.text(deps.metrics(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.route("/metadata", deps.metadata);
  if (deps.api) app.route("/api", deps.api);
  // The status page: exactly `/`, under a CSP that runs its own inline script and nothing else.
  app.get("/", async (c) => {
    const page = await (deps.page ?? statusPage)();
    return c.html(page.html, 200, { "content-security-policy": page.contentSecurityPolicy, "referrer-policy": "no-referrer" });
  });
  app.all("/health", (c) => c.json({ error: "method not allowed" }, 405));
  app.all("/metrics", (c) => c.json({ error: "method not allowed" }, 405));
  app.notFound((c) => c.json({ error: "not found", routes: ["/", "/health", "/metadata", "/metrics", "/api/series", "/api/candles", "/api/status"] }, 404));
  // Never leak internals: the message of an unexpected error goes to the log, not the answer.
  app.onError((error, c) => {
    deps.logger.error("HTTP request failed", { method: c.req.method, path: c.req.path, error: describeError(error) });
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
