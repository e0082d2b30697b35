/** `GET /metadata`: the current metadata row, or what was believed at `known_at` about `effective_at`. */
import { Hono } from "hono";
import type { MetadataRow } from "../domain/metadata.ts";
import { DatabaseError } from "../errors.ts";

export interface MetadataSource {
  queryMetadata(query: { effectiveAtMs?: number; knownAtMs?: number }): Promise<MetadataRow | undefined>;
}

/** The row as the API shows it: the table's column names, ISO 8601 UTC times, null for an open end. */
export function metadataJson(row: MetadataRow) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: row.id ?? null,
    effective_from: iso(row.effectiveFromMs),
    effective_to: iso(row.effectiveToMs),
    assertive_from: iso(row.assertiveFromMs),
    assertive_to: iso(row.assertiveToMs),
    rows_per_minute: row.rowsPerMinute,
    number_of_coins_tracked: row.coinsTracked,
    number_of_exchanges_tracked: row.exchangesTracked,
    bucket_interval: row.bucketIntervalMinutes,
  };
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A query timestamp: ISO 8601 (`2024-03-08T12:45:00Z`, an offset, or a date; no zone means UTC) or
 * epoch milliseconds (`1709901900000`). Returns the instant in ms, or an error text.
 */
export function parseTimestampParam(text: string): { ok: true; ms: number } | { ok: false; error: string } {
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  const fail = { ok: false as const, error: `${shown} is not a timestamp: use ISO 8601 (2024-03-08T12:45:00Z) or epoch milliseconds` };
  if (/^\d{1,15}$/.test(text)) return { ok: true, ms: Number(text) };
  const m = ISO.exec(text);
  if (!m) return fail;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone = "Z"] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(`0${frac || ".0"}`) * 1000));
  const check = new Date(ms);
  // Date.UTC rolls 2024-02-30 over into March: reject instead of guessing.
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return fail;
  const offset = /^z$/i.test(zone) ? 0 : (zone.startsWith("-") ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  if (Math.abs(offset) > 18 * 60) return fail;
  return { ok: true, ms: ms - offset * 60_000 };
}

/**
 * The sub-app the main app mounts at `/metadata`. `source` is the database sink, or undefined when
 * database mode is off (every request then gets 404 with a message).
 */
export function createMetadataRoutes(source: MetadataSource | undefined): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    if (source === undefined) return c.json({ error: "metadata is kept in database mode only (save_to_database: true)" }, 404);
    const query: { effectiveAtMs?: number; knownAtMs?: number } = {};
    for (const [param, key] of [
      ["effective_at", "effectiveAtMs"],
      ["known_at", "knownAtMs"],
    ] as const) {
      const value = c.req.query(param);
      if (value === undefined) continue;
      const parsed = parseTimestampParam(value.trim());
      if (!parsed.ok) return c.json({ error: `${param}: ${parsed.error}` }, 400);
      query[key] = parsed.ms;
    }
    let row: MetadataRow | undefined;
    try {
      row = await source.queryMetadata(query);
    } catch (error) {
      // The cause (host, driver message) goes to the log through the sink, not to the client.
      if (error instanceof DatabaseError) return c.json({ error: "database unavailable" }, 503);
      throw error;
    }
    if (row === undefined) {
      const pointQuery = query.effectiveAtMs !== undefined || query.knownAtMs !== undefined;
      return c.json({ error: pointQuery ? "no metadata row covers that time" : "no metadata recorded yet" }, 404);
    }
    return c.json(metadataJson(row));
  });
  app.all("/", (c) => c.json({ error: "method not allowed" }, 405));
  return app;
}
