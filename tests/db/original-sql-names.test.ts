/**
 * SPEC section 10, "The original's SQL names": after `migrate` (or a start), the original
 * Crypto-Intellect's queries read our tables, on every dialect, with the original table and column
 * names. Each test has a database of its own, dropped afterwards. Set TEST_MYSQL_CASE_INSENSITIVE_URL
 * to a MySQL/MariaDB server with lower_case_table_names=1 (or 2) to run the suite there too.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drizzle as drizzleSqlite } from "drizzle-orm/bun-sqlite";
import { migrate as migrateSqlite } from "drizzle-orm/bun-sqlite/migrator";
import { drizzle as drizzleMysql } from "drizzle-orm/mysql2";
import { migrate as migrateMysql } from "drizzle-orm/mysql2/migrator";
import { drizzle as drizzlePg } from "drizzle-orm/postgres-js";
import { migrate as migratePg } from "drizzle-orm/postgres-js/migrator";
import mysql from "mysql2/promise";
import postgres from "postgres";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { EMBEDDED_MIGRATIONS } from "../../src/db/migrations.ts";
import { exchangeName } from "../../src/db/store.ts";
import type { Dialect } from "../../src/db/url.ts";
import type { Candle } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { computeMetadataStats } from "../../src/domain/metadata.ts";
import { createDatabaseSink, type DatabaseSink } from "../../src/sinks/database.ts";
import { createMemoryLogger } from "../../src/telemetry/log.ts";
import { scratchDatabase, type Row, type ScratchDatabase } from "./scratch-database.ts";
import { SERVER_URLS, serverAvailable } from "./servers.ts";
import { candle } from "./store-suite.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const NOW = Date.UTC(2024, 2, 9, 0, 0);
const M5 = 5 * MINUTE_MS;

/** Each original table: its name, ours, and its columns (original name, our column), key columns first. */
const ORIGINAL_TABLES = [
  {
    name: "Klines_Data",
    ours: "klines_data",
    columns: [
      ["Exchange", "exchange"],
      ["Coin", "coin"],
      ["Bucket_Interval", "bucket_interval"],
      ["TimeStamp", "timestamp"],
      ["OpenPrice", "open_price"],
      ["HighPrice", "high_price"],
      ["LowPrice", "low_price"],
      ["ClosePrice", "close_price"],
      ["Volume", "volume"],
    ],
    keyColumns: 4,
  },
  {
    name: "Coins",
    ours: "coins",
    columns: [
      ["Coin", "coin"],
      ["MarketCap", "market_cap"],
      ["DataAdded", "date_added"],
      ["Date_Added", "date_added"],
    ],
    keyColumns: 1,
  },
  { name: "Exchanges", ours: "exchanges", columns: [["Exchange", "exchange"]], keyColumns: 1 },
  {
    name: "MetaData",
    ours: "metadata",
    columns: [
      ["Id", "id"],
      ["Effective_From", "effective_from"],
      ["Effective_To", "effective_to"],
      ["Assertive_From", "assertive_from"],
      ["Assertive_To", "assertive_to"],
      ["Rows_per_Minute", "rows_per_minute"],
      ["Number_of_Coins_Tracked", "number_of_coins_tracked"],
      ["Number_of_Exchanges_Tracked", "number_of_exchanges_tracked"],
      ["Bucket_Interval", "bucket_interval"],
    ],
    keyColumns: 1,
  },
] as const;

interface Target {
  label: string;
  dialect: Dialect;
  /** A MySQL server other than the configured one. */
  mysqlServerUrl?: string;
  available: boolean;
  /** The original names are views (PostgreSQL; MySQL with lower_case_table_names=0), not our tables with columns added. */
  views: boolean;
  /** How the original's queries quote names here: `"`, a backtick, or not at all. */
  quotes: string[];
}

async function lowerCaseTableNames(serverUrl: string): Promise<number> {
  const connection = await mysql.createConnection({ uri: serverUrl });
  try {
    const [rows] = await connection.query("SELECT @@lower_case_table_names AS n");
    return Number((rows as Row[])[0]!.n);
  } finally {
    await connection.end();
  }
}

async function mysqlTarget(label: string, serverUrl: string, available: boolean): Promise<Target> {
  const lctn = available ? await lowerCaseTableNames(serverUrl) : 0;
  return { label: available ? `${label} (lower_case_table_names=${lctn})` : label, dialect: "mysql", mysqlServerUrl: serverUrl, available, views: lctn === 0, quotes: ["`", ""] };
}

const CASE_INSENSITIVE_MYSQL = process.env.TEST_MYSQL_CASE_INSENSITIVE_URL;
if (CASE_INSENSITIVE_MYSQL === undefined) console.warn("skipping the original SQL names on a case-insensitive MySQL: set TEST_MYSQL_CASE_INSENSITIVE_URL to run them");
const TARGETS: Target[] = [
  { label: "PostgreSQL", dialect: "postgres", available: await serverAvailable("postgres"), views: true, quotes: ['"'] },
  await mysqlTarget("MySQL/MariaDB", SERVER_URLS.mysql, await serverAvailable("mysql")),
  { label: "SQLite", dialect: "sqlite", available: true, views: false, quotes: ["", '"'] },
];
if (CASE_INSENSITIVE_MYSQL !== undefined) {
  const target = await mysqlTarget("MySQL/MariaDB", CASE_INSENSITIVE_MYSQL, true);
  if (target.views) throw new Error("TEST_MYSQL_CASE_INSENSITIVE_URL names a server with lower_case_table_names=0");
  TARGETS.push(target);
}

/** Our own columns, quoted as each dialect needs for `timestamp`. */
const OUR_QUOTE: Record<Dialect, string> = { postgres: '"', mysql: "`", sqlite: '"' };
const quoteWith = (mark: string) => (name: string) => `${mark}${name}${mark}`;

/** The original's key: bucket end (UTC, to the second), coin, exchange display name, interval as a float. */
function uniqueId(c: Candle): string {
  const end = new Date(c.openTimeMs + c.intervalMinutes * MINUTE_MS).toISOString().slice(0, 19).replace("T", " ");
  return `${end}_${c.coin}_${exchangeName(c.exchange)}_${c.intervalMinutes}.0`;
}

/** Two exchanges, two intervals, coins whose names hold the separator. */
const SAMPLE: Candle[] = [
  ...["BTC", "A_B", "A"].flatMap((coin, k) =>
    [0, 1, 2].map((i) => candle({ coin, openTimeMs: T0 + i * M5, open: 100 + k, close: 101 + i, high: 120 + i, low: 90 - k, volume: 0.1 + i })),
  ),
  candle({ exchange: "kraken", coin: "BTC", close: 0.30000000000000004 }),
  candle({ intervalMinutes: 60, close: 7 }),
];

describe.each(TARGETS)("the original's SQL names on $label", (target) => {
  const { dialect } = target;
  const q = quoteWith(target.quotes[0]!);
  const ours = quoteWith(OUR_QUOTE[dialect]);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function scratch(): ScratchDatabase {
    const db = scratchDatabase(dialect, target.mysqlServerUrl);
    cleanups.push(() => db.drop());
    return db;
  }

  /** Starts the program's database sink on `db` (which applies the migrations). */
  async function start(db: ScratchDatabase): Promise<DatabaseSink> {
    const sink = createDatabaseSink({ url: db.url, logger: createMemoryLogger(), now: () => NOW, connectTimeoutSeconds: 3 });
    cleanups.push(() => sink.close());
    await sink.open();
    return sink;
  }

  /** A migrated database holding the sample candles, coins, exchanges and three metadata rows. */
  async function sampleDatabase(): Promise<ScratchDatabase> {
    const db = scratch();
    const sink = await start(db);
    await sink.write(SAMPLE);
    await sink.track!(
      [
        { coin: "BTC", name: "Bitcoin", marketCap: 1_300_000_000_000 },
        { coin: "A_B", name: "A_B", marketCap: null },
      ],
      ["binance", "kraken"],
    );
    await sink.recordMetadata(computeMetadataStats(4, 3, 2, 5), NOW);
    await sink.recordMetadata(computeMetadataStats(5, 3, 2, 5), NOW + 3_600_000);
    return db;
  }

  /** What a table of ours holds, in the original table's column order (aliased: `Coins` shows date_added twice). */
  const readOurs = (db: ScratchDatabase, table: (typeof ORIGINAL_TABLES)[number]) =>
    db.query(
      `SELECT ${table.columns.map(([, c], i) => `${ours(c)} AS v${i}`).join(", ")} FROM ${table.ours} ORDER BY ${table.columns
        .slice(0, table.keyColumns)
        .map(([, c]) => ours(c))
        .join(", ")}`,
    );

  /** The name a result column gets: SQLite names a column by its declaration, so a shared name comes back in our spelling. */
  const resultName = (original: string, table: (typeof ORIGINAL_TABLES)[number]) =>
    dialect === "sqlite" ? (table.columns.find(([, c]) => c === original.toLowerCase())?.[1] ?? original) : original;

  test.skipIf(!target.available)("the original's queries read what we saved, value for value", async () => {
    const db = await sampleDatabase();
    for (const mark of target.quotes) {
      const name = quoteWith(mark);
      for (const table of ORIGINAL_TABLES) {
        const originals = table.columns.map(([o]) => o);
        const theirs = await db.query(`SELECT ${originals.map(name).join(", ")} FROM ${name(table.name)} ORDER BY ${originals.slice(0, table.keyColumns).map(name).join(", ")}`);
        const expected = await readOurs(db, table);
        expect(expected.length).toBeGreaterThan(0);
        expect(theirs.map(Object.values)).toEqual(expected.map(Object.values));
        expect(Object.keys(theirs[0]!)).toEqual(originals.map((o) => resultName(o, table)));
      }
    }
  });

  test.skipIf(!target.available)("SELECT * FROM MetaData gives the original's nine columns", async () => {
    const db = await sampleDatabase();
    const metadata = ORIGINAL_TABLES[3];
    const rows = await db.query(`SELECT * FROM ${q("MetaData")} ORDER BY ${q("Id")}`);
    expect(rows.length).toBe(3);
    expect(rows.map(Object.values)).toEqual((await readOurs(db, metadata)).map(Object.values));
    // On our own tables (SQLite, case-insensitive MySQL) `*` names the columns as we declared them.
    expect(Object.keys(rows[0]!)).toEqual(metadata.columns.map(([o, c]) => (target.views ? o : c)));
  });

  test.skipIf(!target.available)("Unique_ID is the original's key: bucket end, coin, exchange and interval, one per row", async () => {
    const db = await sampleDatabase();
    const rows = await db.query(`SELECT ${q("Unique_ID")} AS uid FROM ${q("Klines_Data")}`);
    const ids = rows.map((r) => r.uid as string).sort();
    expect(ids).toEqual(SAMPLE.map(uniqueId).sort());
    expect(new Set(ids).size).toBe(SAMPLE.length);
    expect(ids).toContain("2024-03-08 12:05:00_A_B_Binance_5.0");
    expect(ids).toContain("2024-03-08 13:00:00_BTC_Binance_60.0");
  });

  test.skipIf(!target.available)("TimeStamp is the bucket end, as each dialect stores times", async () => {
    const db = await sampleDatabase();
    const [row] = await db.query(`SELECT ${q("TimeStamp")} AS ts FROM ${q("Klines_Data")} WHERE ${q("Exchange")} = 'Kraken'`);
    // SQLite keeps integer epoch milliseconds (UTC); the servers give an instant.
    expect(row!.ts).toEqual(dialect === "sqlite" ? T0 + M5 : new Date(T0 + M5));
  });

  test.skipIf(!target.available)("the original's own statistics queries run (SQLite: times as epoch milliseconds)", async () => {
    const db = await sampleDatabase();
    // MetaData_functions.py of the original, names quoted as this dialect needs them.
    const at = (text: string) => (dialect === "sqlite" ? `strftime('%s', '${text}') * 1000` : `'${text}'`);
    const [coins] = await db.query(`select count(${q("Coin")}) AS n from ${q("Coins")};`);
    const [exchanges] = await db.query(`select count(${q("Exchange")}) AS n from ${q("Exchanges")};`);
    const [rows] = await db.query(
      `SELECT ROUND(AVG(Counted_IDS)) AS n FROM (SELECT COUNT(${q("Unique_ID")}) AS Counted_IDS, ${q("TimeStamp")} FROM ${q("Klines_Data")}
       WHERE ${q("TimeStamp")}>=${at("2024-03-08 12:00:00")} AND ${q("TimeStamp")}<=${at("2024-03-08 13:00:00")} GROUP BY ${q("TimeStamp")}) AS T;`,
    );
    const [interval] = await db.query(
      `Select ${q("Bucket_Interval")} AS n from ${q("Klines_Data")} where ${q("TimeStamp")}>=${at("2024-03-08 12:00:00")} and ${q("TimeStamp")}<${at("2024-03-08 13:00:00")} order by ${q("TimeStamp")} DESC limit 1`,
    );
    // Bucket ends 12:05 (4 rows), 12:10 (3), 12:15 (3) and 13:00 (1): 2.75 rows a bucket.
    expect([coins, exchanges, rows, interval].map((r) => Number(r!.n))).toEqual([3, 2, 3, 5]);
  });

  test.skipIf(!target.available)("writes through the original names change nothing", async () => {
    const db = await sampleDatabase();
    const before = await Promise.all(ORIGINAL_TABLES.map((t) => readOurs(db, t)));
    const attempts = target.views
      ? ORIGINAL_TABLES.flatMap((t) => [`UPDATE ${q(t.name)} SET ${q(t.columns[0][0])} = ${q(t.columns[0][0])}`, `DELETE FROM ${q(t.name)}`]).concat(
          `INSERT INTO ${q("Exchanges")} (${q("Exchange")}) VALUES ('Nowhere')`,
        )
      : // Here the original names are our tables: the added columns are computed, never stored.
        [`UPDATE ${q("Klines_Data")} SET ${q("OpenPrice")} = 1`, `UPDATE ${q("Coins")} SET ${q("MarketCap")} = 1`];
    for (const statement of attempts) {
      const outcome = await db.query(statement).then(
        () => "done",
        () => "refused",
      );
      // A non-strict MySQL ignores a value for a generated column with a warning; the rest refuse.
      if (target.views || dialect === "sqlite") expect({ statement, outcome }).toEqual({ statement, outcome: "refused" });
    }
    expect(await Promise.all(ORIGINAL_TABLES.map((t) => readOurs(db, t)))).toEqual(before);
  });

  test.skipIf(!target.available)("`migrate` again keeps them; a database an older version migrated gets them at its next start", async () => {
    const db = scratch();
    await migrateLikeAnOlderVersion(db);
    await insertOneCandle(db);
    await expect(db.query(`SELECT ${q("OpenPrice")} FROM ${q("Klines_Data")}`)).rejects.toThrow();

    await start(db);
    const read = `SELECT ${q("Unique_ID")} AS uid, ${q("OpenPrice")} AS price FROM ${q("Klines_Data")}`;
    expect(await db.query(read)).toEqual([{ uid: "2024-03-08 12:05:00_BTC_Binance_5.0", price: 100 }]);
    await migrateDatabase(db.url, createMemoryLogger());
    await migrateDatabase(db.url, createMemoryLogger());
    expect(await db.query(read)).toEqual([{ uid: "2024-03-08 12:05:00_BTC_Binance_5.0", price: 100 }]);
    const [applied] = await db.query(`SELECT count(*) AS n FROM ${dialect === "postgres" ? "drizzle." : ""}__drizzle_migrations`);
    expect(Number(applied!.n)).toBe(EMBEDDED_MIGRATIONS[dialect].journal.entries.length);
  });

  test.skipIf(!target.available || !target.views)("keeps a table the original left under its name, and gives the other names", async () => {
    const db = scratch();
    await db.create();
    const originalId = "2023-01-01 09:25:00_BTC_Binance_5.0";
    await db.query(
      `CREATE TABLE ${q("Klines_Data")} (${q("Unique_ID")} varchar(100) PRIMARY KEY, ${q("Exchange")} varchar(50), ${q("Coin")} varchar(10),
       ${q("TimeStamp")} ${dialect === "postgres" ? "timestamp" : "datetime"} NOT NULL, ${q("OpenPrice")} float NOT NULL)`,
    );
    await db.query(`INSERT INTO ${q("Klines_Data")} VALUES ('${originalId}', 'Binance', 'BTC', '2023-01-01 09:25:00', 16500.5)`);

    const sink = await start(db);
    await sink.write([candle()]);
    expect(await db.query(`SELECT ${q("Unique_ID")} AS uid, ${q("OpenPrice")} AS price FROM ${q("Klines_Data")}`)).toEqual([{ uid: originalId, price: 16500.5 }]);
    expect(await db.query(`SELECT ${q("Exchange")} AS e FROM ${q("Exchanges")}`)).toEqual([{ e: "Binance" }]);
  });

  /** Applies only the first migration, as a version from before this one did (drizzle's file migrator, same bookkeeping). */
  async function migrateLikeAnOlderVersion(db: ScratchDatabase): Promise<void> {
    const { journal, files } = EMBEDDED_MIGRATIONS[dialect];
    const first = journal.entries[0]!;
    const folder = mkdtempSync(join(tmpdir(), "cryptointellect-old-migrations-"));
    try {
      mkdirSync(join(folder, "meta"));
      writeFileSync(join(folder, "meta", "_journal.json"), JSON.stringify({ ...journal, entries: [first] }));
      writeFileSync(join(folder, `${first.tag}.sql`), files[first.tag]!);
      await db.create();
      if (dialect === "sqlite") {
        const client = new Database(db.url.slice("sqlite:".length));
        try {
          migrateSqlite(drizzleSqlite({ client }), { migrationsFolder: folder });
        } finally {
          client.close();
        }
      } else if (dialect === "postgres") {
        const client = postgres(db.url, { max: 1, onnotice: () => {} });
        try {
          await migratePg(drizzlePg({ client }), { migrationsFolder: folder });
        } finally {
          await client.end();
        }
      } else {
        const connection = await mysql.createConnection({ uri: db.url });
        try {
          await migrateMysql(drizzleMysql(connection, { mode: "default" }), { migrationsFolder: folder });
        } finally {
          await connection.end();
        }
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }

  /** A Binance BTC 5m candle ending 2024-03-08 12:05 UTC, written straight into our tables. */
  async function insertOneCandle(db: ScratchDatabase): Promise<void> {
    const end = dialect === "sqlite" ? String(T0 + M5) : `'${new Date(T0 + M5).toISOString().slice(0, 19).replace("T", " ")}'`;
    const added = dialect === "sqlite" ? String(NOW) : `'2024-03-09 00:00:00'`;
    await db.query("INSERT INTO exchanges (exchange) VALUES ('Binance')");
    await db.query(`INSERT INTO coins (coin, name, date_added) VALUES ('BTC', 'Bitcoin', ${added})`);
    await db.query(
      `INSERT INTO klines_data (exchange, coin, ${ours("timestamp")}, open_price, high_price, low_price, close_price, volume, bucket_interval)
       VALUES ('Binance', 'BTC', ${end}, 100, 110, 90, 105, 12.5, 5)`,
    );
  }
});
