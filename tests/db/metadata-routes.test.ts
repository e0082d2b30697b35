import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeMetadataStats, selectMetadata, type MetadataRow } from "../../src/domain/metadata.ts";
import { DatabaseError } from "../../src/errors.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetadataRoutes, parseTimestampParam, type MetadataSource } from "../../src/server/metadata.ts";
import { createDatabaseSink } from "../../src/sinks/database.ts";

const T0 = Date.parse("2024-01-01T00:00:00Z");
const T = Date.parse("2024-01-02T06:00:00Z");
const NOW = Date.parse("2024-02-01T00:00:00Z");
const fifty = computeMetadataStats(200, 50, 4, 5);
const fiftyTwo = computeMetadataStats(208, 52, 4, 5);
const ROWS: MetadataRow[] = [
  { id: 1, ...fifty, effectiveFromMs: T0, effectiveToMs: null, assertiveFromMs: T0, assertiveToMs: T },
  { id: 2, ...fifty, effectiveFromMs: T0, effectiveToMs: T, assertiveFromMs: T, assertiveToMs: null },
  { id: 3, ...fiftyTwo, effectiveFromMs: T, effectiveToMs: null, assertiveFromMs: T, assertiveToMs: null },
];

/** A source over fixed rows that records the queries it was asked. */
function fakeSource(rows: MetadataRow[] = ROWS) {
  const queries: { effectiveAtMs?: number; knownAtMs?: number }[] = [];
  const source: MetadataSource = {
    async queryMetadata(q) {
      queries.push(q);
      if (q.effectiveAtMs === undefined && q.knownAtMs === undefined) return rows.find((r) => r.effectiveToMs === null && r.assertiveToMs === null);
      const known = q.knownAtMs ?? NOW;
      return selectMetadata(rows, q.effectiveAtMs ?? known, known);
    },
  };
  return { source, queries };
}

describe("parseTimestampParam", () => {
  test.each([
    ["2024-03-08T12:45:00Z", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08T12:45:00.250Z", Date.UTC(2024, 2, 8, 12, 45, 0, 250)],
    ["2024-03-08T12:45Z", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08T14:45:00+02:00", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08T07:45:00-0500", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08 12:45:00", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08", Date.UTC(2024, 2, 8)],
    ["1709901900000", 1709901900000],
    ["0", 0],
  ])("%s", (text, ms) => {
    expect(parseTimestampParam(text)).toEqual({ ok: true, ms });
  });

  test.each(["", "yesterday", "2024-02-30", "2024-13-01", "2024-03-08T25:00:00Z", "2024-03-08T12:61Z", "-5", "1.5", "1e12", "2024-03-08T12:45:00+25:00", "99999999999999999"])(
    "refuses %p",
    (text) => {
      expect(parseTimestampParam(text)).toMatchObject({ ok: false, error: expect.stringContaining("ISO 8601") });
    },
  );
});

describe("GET /metadata", () => {
  test("returns the current row with the table's column names and ISO times", async () => {
    const res = await createMetadataRoutes(fakeSource().source).request("/");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: 3,
      effective_from: "2024-01-02T06:00:00.000Z",
      effective_to: null,
      assertive_from: "2024-01-02T06:00:00.000Z",
      assertive_to: null,
      rows_per_minute: 41.6,
      number_of_coins_tracked: 52,
      number_of_exchanges_tracked: 4,
      bucket_interval: 5,
    });
  });

  test("answers what was believed at known_at about effective_at", async () => {
    const { source, queries } = fakeSource();
    const app = createMetadataRoutes(source);
    const ask = async (query: string) => {
      const res = await app.request(`/?${query}`);
      return { status: res.status, body: (await res.json()) as { id?: number; effective_to?: string | null; error?: string } };
    };
    expect((await ask("effective_at=2024-01-01T12:00:00Z&known_at=2024-01-02T00:00:00Z")).body).toMatchObject({ id: 1, effective_to: null });
    expect((await ask("effective_at=2024-01-01T12:00:00Z&known_at=2024-01-03T00:00:00Z")).body).toMatchObject({ id: 2, effective_to: "2024-01-02T06:00:00.000Z" });
    expect((await ask(`effective_at=${T}&known_at=${T}`)).body).toMatchObject({ id: 3 });
    expect(queries.at(-1)).toEqual({ effectiveAtMs: T, knownAtMs: T });
    expect(await ask("effective_at=2023-06-01&known_at=2024-01-03")).toEqual({ status: 404, body: { error: "no metadata row covers that time" } });
    // One parameter alone: the other is left to the source (known_at defaults to now there).
    await ask("effective_at=2024-01-01T12:00:00Z");
    expect(queries.at(-1)).toEqual({ effectiveAtMs: Date.parse("2024-01-01T12:00:00Z") });
  });

  test.each([
    ["effective_at=soon", "effective_at"],
    ["known_at=2024-02-30T00:00:00Z", "known_at"],
    ["effective_at=2024-01-01&known_at=", "known_at"],
  ])("?%s is a 400 that names the parameter", async (query, param) => {
    const { source, queries } = fakeSource();
    const res = await createMetadataRoutes(source).request(`/?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toStartWith(`${param}: `);
    expect(queries).toEqual([]);
  });

  test("is a 404 with a message when database mode is off", async () => {
    const res = await createMetadataRoutes(undefined).request("/");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toContain("database mode");
  });

  test("is a 404 before the first metadata is recorded", async () => {
    const res = await createMetadataRoutes(fakeSource([]).source).request("/");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no metadata recorded yet" });
  });

  test("is a 503 without details while the database is down", async () => {
    const down: MetadataSource = {
      queryMetadata: async () => {
        throw new DatabaseError("reading metadata failed on PostgreSQL at db:5432: connect ECONNREFUSED");
      },
    };
    const res = await createMetadataRoutes(down).request("/");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "database unavailable" });
  });

  test("refuses other methods", async () => {
    expect((await createMetadataRoutes(fakeSource().source).request("/", { method: "POST" })).status).toBe(405);
  });
});

describe("GET /metadata on a real database sink", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  test("serves what the metadata job recorded, current and point-in-time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cryptointellect-meta-"));
    dirs.push(dir);
    const sink = createDatabaseSink({ url: `sqlite:${join(dir, "m.db")}`, logger: silentLogger, now: () => NOW });
    await sink.open();
    try {
      await sink.recordMetadata(fifty, T0);
      await sink.recordMetadata(fiftyTwo, T);
      const app = createMetadataRoutes(sink);
      expect(await (await app.request("/")).json()).toMatchObject({ number_of_coins_tracked: 52, effective_from: "2024-01-02T06:00:00.000Z" });
      expect(await (await app.request("/?effective_at=2024-01-01T12:00:00Z&known_at=2024-01-02T00:00:00Z")).json()).toMatchObject({
        number_of_coins_tracked: 50,
        assertive_to: "2024-01-02T06:00:00.000Z",
      });
      // Only effective_at: today's belief about then.
      expect(await (await app.request("/?effective_at=2024-01-01T12:00:00Z")).json()).toMatchObject({ number_of_coins_tracked: 50, effective_to: "2024-01-02T06:00:00.000Z" });
      // Only known_at: what was believed then about then.
      expect(await (await app.request("/?known_at=2024-01-01T12:00:00Z")).json()).toMatchObject({ number_of_coins_tracked: 50, effective_to: null });
    } finally {
      await sink.close();
    }
  });
});
