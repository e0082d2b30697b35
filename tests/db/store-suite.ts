/**
 * One suite for every dialect, as drizzle runs its common pg suite against every driver: each test
 * gets its own database on the real server (or its own SQLite file) and drops it afterwards.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { EMBEDDED_MIGRATIONS } from "../../src/db/migrations.ts";
import { DEFAULT_DATABASE_NAME, type Dialect } from "../../src/db/url.ts";
import type { Candle } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { computeMetadataStats, selectMetadata } from "../../src/domain/metadata.ts";
import { DatabaseError } from "../../src/errors.ts";
import { createMemoryLogger } from "../../src/telemetry/log.ts";
import { createDatabaseSink, type DatabaseSink } from "../../src/sinks/database.ts";
import { databaseExists, DIALECT_LABELS, dropDatabase, queryRows, SERVER_URLS, serverUrl, startProxy, testDatabase, unusedPort, type TestDatabase } from "./servers.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const NOW = Date.UTC(2024, 2, 9, 0, 0);
const M5 = 5 * MINUTE_MS;

export function candle(over: Partial<Candle> = {}): Candle {
  return { exchange: "binance", coin: "BTC", intervalMinutes: 5, openTimeMs: T0, open: 100, high: 110, low: 90, close: 105, volume: 12.5, filled: false, ...over };
}

/** `count` consecutive 5-minute candles of one series from `fromMs`. */
function series(count: number, over: Partial<Candle> = {}, fromMs = T0): Candle[] {
  return Array.from({ length: count }, (_, i) => candle({ openTimeMs: fromMs + i * M5, close: 100 + i, high: 200 + i, ...over }));
}

/** Counts rows of a table with the dialect's own client. */
async function countRows(db: TestDatabase, table: string): Promise<number> {
  const [row] = await queryRows(db, {
    postgres: `SELECT count(*)::int AS n FROM ${table}`,
    mysql: `SELECT count(*) AS n FROM ${table}`,
    sqlite: `SELECT count(*) AS n FROM ${table}`,
  });
  return Number(row!.n);
}

export function defineStoreSuite(dialect: Dialect, available: boolean): void {
  const label = DIALECT_LABELS[dialect];
  const server = dialect !== "sqlite";

  describe.skipIf(!available)(`database store on ${label}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    /** A fresh database and an open sink on it, both removed after the test. */
    async function openSink(
      options: { url?: string; db?: TestDatabase; now?: () => number } = {},
    ): Promise<{ sink: DatabaseSink; db: TestDatabase; logger: ReturnType<typeof createMemoryLogger> }> {
      let db = options.db;
      if (db === undefined) {
        const fresh = testDatabase(dialect);
        cleanups.push(() => fresh.drop());
        db = fresh;
      }
      const logger = createMemoryLogger();
      const sink = createDatabaseSink({ url: options.url ?? db.url, logger, now: options.now ?? (() => NOW), connectTimeoutSeconds: 3 });
      cleanups.push(() => sink.close());
      await sink.open();
      return { sink, db, logger };
    }

    /** A sink that reaches the real server through a loopback proxy the test can cut. */
    async function openProxiedSink() {
      const db = testDatabase(dialect);
      cleanups.push(() => db.drop());
      const real = new URL(SERVER_URLS[dialect as "postgres" | "mysql"]);
      const proxy = await startProxy(real.hostname, Number(real.port || (dialect === "postgres" ? 5432 : 3306)));
      cleanups.push(() => proxy.close());
      const proxied = new URL(db.url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(proxy.port);
      return { ...(await openSink({ db, url: proxied.toString() })), proxy };
    }

    test("applies the migrations, and applying them again changes nothing", async () => {
      const { db } = await openSink();
      const migrationsTable = { postgres: "drizzle.__drizzle_migrations", mysql: "__drizzle_migrations", sqlite: "__drizzle_migrations" }[dialect];
      const applied = EMBEDDED_MIGRATIONS[dialect].journal.entries.length;
      expect(await countRows(db, migrationsTable)).toBe(applied);
      for (const table of ["coins", "exchanges", "klines_data", "metadata"]) expect(await countRows(db, table)).toBe(0);

      await migrateDatabase(db.url, createMemoryLogger());
      const again = createDatabaseSink({ url: db.url, logger: createMemoryLogger() });
      await again.open();
      await again.close();
      expect(await countRows(db, migrationsTable)).toBe(applied);
    });

    test(server ? "creates the named database when it does not exist" : "creates the database file and its folder", async () => {
      const db = testDatabase(dialect);
      cleanups.push(() => db.drop());
      expect(await db.exists()).toBe(false);
      await openSink({ db });
      expect(await db.exists()).toBe(true);
    });

    test.skipIf(!server)("uses CryptoIntellectDB when the URL names no database", async () => {
      const d = dialect as "postgres" | "mysql";
      const existed = await databaseExists(d, DEFAULT_DATABASE_NAME);
      // Other engineers may use it too: drop it only if this test created it, and never while in use.
      if (!existed) cleanups.push(() => dropDatabase(d, DEFAULT_DATABASE_NAME, false).catch(() => {}));
      const sink = createDatabaseSink({ url: serverUrl(d), logger: createMemoryLogger(), connectTimeoutSeconds: 3 });
      await sink.open();
      await sink.close();
      expect(await databaseExists(d, DEFAULT_DATABASE_NAME)).toBe(true);
    });

    test("a candle written twice is one row; a rewrite with new values updates it", async () => {
      const { sink, db } = await openSink();
      const a = candle();
      const b = candle({ openTimeMs: T0 + M5, close: 0.30000000000000004, low: 0.1, open: 1 / 3, high: 1e9 + 0.125, volume: 1e-8 });
      expect(await sink.write([a, b])).toBe(2);
      expect(await sink.write([a, b])).toBe(0);
      expect(await countRows(db, "klines_data")).toBe(2);
      expect(await sink.readCandles("binance", "BTC", 5, T0, T0 + M5)).toEqual([a, b]);

      const changed = { ...a, close: 107, high: 111, filled: true };
      expect(await sink.write([changed])).toBe(0);
      expect(await countRows(db, "klines_data")).toBe(2);
      expect(await sink.readCandles("binance", "BTC", 5, T0, T0)).toEqual([changed]);

      // The same key twice in one write: one row, the later copy wins.
      const c = candle({ openTimeMs: T0 + 2 * M5 });
      expect(await sink.write([c, { ...c, close: 99 }])).toBe(1);
      expect(await sink.readCandles("binance", "BTC", 5, T0 + 2 * M5, T0 + 2 * M5)).toEqual([{ ...c, close: 99 }]);
    });

    test("reads back exactly what it wrote: awkward coin names, float noise, tiny and large values", async () => {
      const { sink } = await openSink();
      const odd = ['A"B', "C\\D", "x,y {z}", "NULL"];
      const written = odd.flatMap((coin, i) => series(3, { coin, open: 0.1 + 0.2, high: 123456789.12345678 + i, low: 1e-8, close: 1 / 3, volume: 7.5e-7 * (i + 1) }));
      expect(await sink.write(written)).toBe(written.length);
      for (const coin of odd) expect(await sink.readCandles("binance", coin, 5, T0, T0 + 2 * M5)).toEqual(written.filter((c) => c.coin === coin));
      expect(await sink.write(written)).toBe(0);
    });

    test("stores the bucket end in the timestamp column and the exchange's display name", async () => {
      const { sink, db } = await openSink();
      await sink.write([candle({ exchange: "kraken", filled: true })]);
      const [row] = await queryRows(db, {
        postgres: `SELECT exchange, coin, (extract(epoch FROM "timestamp") * 1000)::bigint::text AS end_ms, bucket_interval, filled FROM klines_data`,
        mysql: "SELECT exchange, coin, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', `timestamp`) DIV 1000 AS end_ms, bucket_interval, filled FROM klines_data",
        sqlite: `SELECT exchange, coin, "timestamp" AS end_ms, bucket_interval, filled FROM klines_data`,
      });
      expect(Number(row!.end_ms)).toBe(T0 + M5);
      expect(row).toMatchObject({ exchange: "Kraken", coin: "BTC", bucket_interval: 5 });
      expect(Boolean(row!.filled)).toBe(true);
    });

    test("writes batches bigger than one statement and counts only new rows", async () => {
      const { sink, db } = await openSink();
      const coins = ["BTC", "ETH", "SOL"];
      const many = coins.flatMap((coin) => series(dialect === "postgres" ? 15_000 : 4_000, { coin }));
      expect(await sink.write(many)).toBe(many.length);
      expect(await sink.write(many)).toBe(0);
      const extra = series(2, { coin: "ETH" }, T0 + many.length * M5);
      expect(await sink.write([...many.slice(0, 10), ...extra])).toBe(2);
      expect(await countRows(db, "klines_data")).toBe(many.length + 2);
    });

    test("writers racing over the same new rows leave each row once and count it once", async () => {
      const { sink, db } = await openSink();
      const { sink: other } = await openSink({ db });
      // Overlapping batches of rows new to the table, written at once from two connections: on
      // PostgreSQL both try the plain INSERT, and the one that waits on the other's keys must fall
      // back to the upsert, not fail or write a row twice.
      const rounds = 5;
      let counted = 0;
      for (let r = 0; r < rounds; r++) {
        const from = T0 + r * 300 * M5;
        const a = series(200, { coin: "BTC" }, from);
        const b = series(200, { coin: "BTC" }, from + 100 * M5).map((c, i) => (i < 100 ? c : { ...c, close: 1 }));
        const [x, y] = await Promise.all([sink.write(a), other.write(b)]);
        counted += x + y;
      }
      expect(counted).toBe(rounds * 300);
      expect(await countRows(db, "klines_data")).toBe(rounds * 300);
      const read = await sink.readCandles("binance", "BTC", 5, T0, T0 + rounds * 300 * M5);
      expect(read.length).toBe(rounds * 300);
      expect(new Set(read.map((c) => c.openTimeMs)).size).toBe(rounds * 300);
    });

    test("resumes from the newest saved bucket of each series, with its close", async () => {
      const { sink } = await openSink();
      expect(await sink.lastSaved("binance", "BTC", 5)).toBeUndefined();
      await sink.write([...series(3), candle({ coin: "ETH", openTimeMs: T0 + 9 * M5, close: 42 }), candle({ intervalMinutes: 60, openTimeMs: T0 + 60 * MINUTE_MS, close: 7 })]);
      expect(await sink.lastSaved("binance", "BTC", 5)).toEqual({ openTimeMs: T0 + 2 * M5, close: 102 });
      expect(await sink.lastSaved("binance", "ETH", 5)).toEqual({ openTimeMs: T0 + 9 * M5, close: 42 });
      expect(await sink.lastSaved("binance", "BTC", 60)).toEqual({ openTimeMs: T0 + 60 * MINUTE_MS, close: 7 });
      expect(await sink.lastSaved("kraken", "BTC", 5)).toBeUndefined();
      expect(await sink.firstSaved("binance", "BTC", 5)).toBe(T0);
      expect(await sink.firstSaved("kraken", "BTC", 5)).toBeUndefined();
    });

    test("lists series and finds the buckets a series is missing", async () => {
      const { sink } = await openSink();
      // BTC holds buckets 0-2 and 5-6 of 0-9; ETH holds bucket 4 only; SOL holds nothing.
      await sink.write([...series(3), ...series(2, {}, T0 + 5 * M5), candle({ coin: "ETH", openTimeMs: T0 + 4 * M5 }), candle({ exchange: "kraken", openTimeMs: T0 + 4 * M5 })]);
      const missing = await sink.missingRanges("binance", 5, ["BTC", "ETH", "SOL"], T0, T0 + 9 * M5);
      const at = (i: number) => T0 + i * M5;
      expect(missing.get("BTC")).toEqual([
        { fromOpenMs: at(3), toOpenMs: at(4) },
        { fromOpenMs: at(7), toOpenMs: at(9) },
      ]);
      expect(missing.get("ETH")).toEqual([
        { fromOpenMs: at(0), toOpenMs: at(3) },
        { fromOpenMs: at(5), toOpenMs: at(9) },
      ]);
      expect(missing.get("SOL")).toEqual([{ fromOpenMs: at(0), toOpenMs: at(9) }]);
      expect((await sink.missingRanges("binance", 5, ["BTC"], at(1), at(2))).get("BTC")).toEqual([]);

      expect(await sink.listSeries()).toEqual([
        { exchange: "binance", coin: "BTC", intervalMinutes: 5, firstOpenMs: at(0), lastOpenMs: at(6), count: 5 },
        { exchange: "binance", coin: "ETH", intervalMinutes: 5, firstOpenMs: at(4), lastOpenMs: at(4), count: 1 },
        { exchange: "kraken", coin: "BTC", intervalMinutes: 5, firstOpenMs: at(4), lastOpenMs: at(4), count: 1 },
      ]);
    });

    // (The SQLite test helper reads its file read-only.)
    test.skipIf(!server)("a coin and exchange deleted behind the store's back come back with the next write", async () => {
      const { sink, db } = await openSink();
      expect(await sink.write([candle()])).toBe(1);
      // Someone clears the tables while the store is open (it remembers what it inserted before).
      for (const table of ["klines_data", "coins", "exchanges"])
        await queryRows(db, { postgres: `DELETE FROM ${table}`, mysql: `DELETE FROM ${table}`, sqlite: `DELETE FROM ${table}` });
      expect(await sink.write([candle({ openTimeMs: T0 + M5 })])).toBe(1);
      expect(await sink.listCoins()).toEqual([{ coin: "BTC", name: "BTC", marketCap: null, dateAddedMs: NOW }]);
      expect(await sink.listExchanges()).toEqual(["binance"]);
      expect(await countRows(db, "klines_data")).toBe(1);
    });

    test("keeps coins and exchanges up to date", async () => {
      let now = NOW;
      const { sink } = await openSink({ now: () => now });
      await sink.write([candle({ coin: "ETH" })]);
      expect(await sink.listCoins()).toEqual([{ coin: "ETH", name: "ETH", marketCap: null, dateAddedMs: NOW }]);
      expect(await sink.listExchanges()).toEqual(["binance"]);

      now = NOW + 3_600_000;
      await sink.track!(
        [
          { coin: "BTC", name: "Bitcoin", marketCap: 1_300_000_000_000 },
          { coin: "ETH", name: "Ethereum", marketCap: 400_000_000_000.4 },
        ],
        ["binance", "kraken", "kucoin"],
      );
      now = NOW + 7_200_000;
      await sink.track!([{ coin: "BTC", name: "Bitcoin (BTC)", marketCap: null }], ["kraken"]);
      expect(await sink.listCoins()).toEqual([
        { coin: "BTC", name: "Bitcoin (BTC)", marketCap: 1_300_000_000_000, dateAddedMs: NOW + 3_600_000 },
        { coin: "ETH", name: "Ethereum", marketCap: 400_000_000_000, dateAddedMs: NOW },
      ]);
      expect(await sink.listExchanges()).toEqual(["binance", "kraken", "kucoin"]);
    });

    test("versions metadata bitemporally: a change from 50 to 52 coins gives three rows", async () => {
      const { sink, db } = await openSink();
      const t0 = Date.UTC(2024, 0, 1);
      const t1 = Date.UTC(2024, 0, 2, 6);
      const before = computeMetadataStats(200, 50, 4, 5);
      const after = computeMetadataStats(208, 52, 4, 5);
      expect(await sink.queryMetadata({})).toBeUndefined();
      expect(await sink.recordMetadata(before, t0)).toBe(true);
      expect(await sink.recordMetadata(before, t0 + 60_000)).toBe(false);
      expect(await countRows(db, "metadata")).toBe(1);
      expect(await sink.recordMetadata(after, t1)).toBe(true);
      expect(await sink.recordMetadata(after, t1 + 60_000)).toBe(false);

      const rows = await sink.listMetadata();
      expect(rows.map(({ id: _id, ...rest }) => rest)).toEqual([
        { ...before, effectiveFromMs: t0, effectiveToMs: null, assertiveFromMs: t0, assertiveToMs: t1 },
        { ...before, effectiveFromMs: t0, effectiveToMs: t1, assertiveFromMs: t1, assertiveToMs: null },
        { ...after, effectiveFromMs: t1, effectiveToMs: null, assertiveFromMs: t1, assertiveToMs: null },
      ]);
      expect(rows[0]!.rowsPerMinute).toBe(40);

      const current = await sink.queryMetadata({});
      expect(current).toEqual(rows[2]);
      const cases: [effective: number, known: number, row: number | undefined][] = [
        [t0 + 1, t0 - 1, undefined], // nothing was known yet
        [t0 + 1, t1 - 1, 0], // before the change, about the past: 50
        [t1 + 1, t1 - 1, 0], // before the change, about the future: still 50
        [t0 + 1, t1, 1], // at the change, about the past: 50, ending at T
        [t1 - 1, t1 + 1, 1],
        [t1, t1, 2], // at the change, about the change: 52
        [t1 + 1, t1 + 1, 2],
        [t0 - 1, t1 + 1, undefined], // before anything was in effect
      ];
      for (const [effectiveAtMs, knownAtMs, index] of cases) {
        const got = await sink.queryMetadata({ effectiveAtMs, knownAtMs });
        expect(got).toEqual(index === undefined ? undefined : rows[index]);
        expect(got).toEqual(selectMetadata(rows, effectiveAtMs, knownAtMs));
      }
    });

    test("a connection failure at open is a clear DatabaseError without the password", async () => {
      const port = await unusedPort();
      const password = "Sup3r-s3cret:pw";
      const url = dialect === "sqlite" ? "sqlite:/proc/cryptointellect-no-such-dir/x.db" : serverUrl(dialect, { port, password, database: "whatever" });
      const logger = createMemoryLogger();
      const sink = createDatabaseSink({ url, logger, connectTimeoutSeconds: 3 });
      const error = await sink.open().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DatabaseError);
      const message = (error as Error).message;
      expect(message).toContain(server ? `127.0.0.1:${port}` : "/proc/cryptointellect-no-such-dir/x.db");
      expect(message).not.toContain(password);
      expect(message).not.toContain(encodeURIComponent(password));
      expect(logger.lines.join("\n")).not.toContain(password);
      await expect(sink.write([candle()])).rejects.toBeInstanceOf(DatabaseError);
    });

    test.skipIf(!server)("connections dropped while idle (a server restart) cost no failed call", async () => {
      const { sink, proxy } = await openProxiedSink();
      await Promise.all([sink.write([candle()]), sink.lastSaved("binance", "BTC", 5), sink.listSeries()]);
      await proxy.cut();
      await Bun.sleep(200); // the server is away for a moment
      await proxy.restore();
      expect(await sink.write([candle({ openTimeMs: T0 + M5 })])).toBe(1);
      expect(await sink.lastSaved("binance", "BTC", 5)).toEqual({ openTimeMs: T0 + M5, close: 105 });
    });

    test.skipIf(!server)("an outage while running: calls fail with a DatabaseError, then work again without a restart", async () => {
      const { sink, logger, proxy } = await openProxiedSink();
      expect(await sink.write([candle()])).toBe(1);

      await proxy.cut();
      const failed = await sink.write([candle({ openTimeMs: T0 + M5 })]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(DatabaseError);
      expect((failed as Error).message).toContain(`127.0.0.1:${proxy.port}`);
      await expect(sink.lastSaved("binance", "BTC", 5)).rejects.toBeInstanceOf(DatabaseError);

      await proxy.restore();
      // The pipeline resumes from the last saved bucket: the candle that failed is written now.
      expect(await sink.lastSaved("binance", "BTC", 5)).toEqual({ openTimeMs: T0, close: 105 });
      expect(await sink.write([candle({ openTimeMs: T0 + M5 }), candle({ openTimeMs: T0 + 2 * M5 })])).toBe(2);
      expect(await sink.readCandles("binance", "BTC", 5, T0, T0 + 2 * M5)).toHaveLength(3);
      expect(logger.lines.some((l) => l.includes("database reachable again"))).toBe(true);
    });
  });
}
