import { and, asc, count, desc, eq, gte, isNull, lte, max, min, sql as dsql } from "drizzle-orm";
import { MySqlDialect } from "drizzle-orm/mysql-core";
import { drizzle } from "drizzle-orm/mysql2";
import mysql, { type Pool, type PoolOptions, type ResultSetHeader } from "mysql2/promise";
import { candleEndMs, type Candle } from "../domain/candle.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import { versionMetadata } from "../domain/metadata.ts";
import { DatabaseError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { migrationsFor } from "./migrations.ts";
import { coins, exchanges, klinesData, metadata } from "./schema/mysql.ts";
import {
  candleFromRecord,
  chunks,
  defined,
  describeDriverError,
  distinct,
  errorCode,
  exchangeIdOf,
  exchangeName,
  metadataFromRecord,
  metadataToRecord,
  runsFromIslands,
  seriesFromRecord,
  uniqueCandles,
  type Store,
  seriesEdges,
  boundsFromRow,
  type PageTuple,
  savedRowsFromTuples,
  seriesStatsFromRows,
} from "./store.ts";
import { maskSecrets, resolveDatabaseName, type DatabaseTarget } from "./url.ts";

/** Rows per INSERT: keeps a statement well under MariaDB's default 16 MB max_allowed_packet. */
const BATCH_ROWS = 5_000;

export interface MysqlOptions {
  connectTimeoutSeconds?: number;
  maxConnections?: number;
  /** Create the database when it does not exist (default); false: fail instead (a reader creates nothing). */
  createDatabase?: boolean;
}

/** `datetime(3)` text in UTC, what the schema stores. */
function utcText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace("T", " ");
}

/** A `datetime(3)` expression as epoch milliseconds (TIMESTAMPDIFF ignores the session's time zone). */
const EPOCH_MS = (expression: string) => `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${expression}) DIV 1000`;

function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}

/**
 * Connects to MySQL or MariaDB, creating the database when missing, and returns the store.
 * Throws DatabaseError naming the host, never the password.
 */
export async function openMysqlStore(target: DatabaseTarget, logger: Logger, options: MysqlOptions = {}): Promise<Store> {
  const database = resolveDatabaseName(target);
  const url = new URL(target.url);
  const where = `MySQL at ${url.hostname}:${url.port || "3306"}, database "${database}"`;
  const serverUrl = new URL(target.url);
  serverUrl.pathname = "/";
  const base: PoolOptions = {
    uri: serverUrl.toString(),
    connectTimeout: (options.connectTimeoutSeconds ?? 10) * 1000,
    // Times are UTC text both ways; never the session's zone.
    timezone: "Z",
    supportBigNumbers: true,
    enableKeepAlive: true,
    // affectedRows then counts changed rows, not matched ones: an unchanged upsert reports 0.
    flags: ["-FOUND_ROWS"],
  };
  const fail = (error: unknown): never => {
    throw new DatabaseError(`cannot connect to ${where}: ${maskSecrets(describeDriverError(error), target.url)}`, { cause: error });
  };

  // Connect to the database first: a user allowed only its own database may not run CREATE DATABASE.
  const probe = async () => (await mysql.createConnection({ ...base, database })).end();
  try {
    await probe();
  } catch (error) {
    if (errorCode(error) !== "ER_BAD_DB_ERROR" || options.createDatabase === false) fail(error);
    const server = await mysql.createConnection(base).catch(fail);
    try {
      await server.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)} CHARACTER SET utf8mb4`);
    } catch (createError) {
      fail(createError);
    } finally {
      await server.end().catch(() => {});
    }
    logger.info("created database", { target: where });
    await probe().catch(fail);
  }
  const pool = mysql.createPool({ ...base, database, connectionLimit: options.maxConnections ?? 10 });
  return createMysqlStore(pool, where, { ...base, database });
}

/**
 * New rows of an upsert, without FOUND_ROWS: each row adds 1 to affectedRows when inserted, 2 when
 * updated, 0 when unchanged, and a multi-row INSERT reports the updated ones as `Duplicates` in
 * `Records: 3  Duplicates: 1  Warnings: 0` (a single row reports no info: 1 is an insert).
 */
function insertedRows(result: ResultSetHeader): number {
  const match = /Duplicates:\s*(\d+)/.exec(result.info ?? "");
  if (match) return result.affectedRows - 2 * Number(match[1]);
  return result.affectedRows === 1 ? 1 : 0;
}

function createMysqlStore(pool: Pool, target: string, connectionOptions: PoolOptions): Store {
  // Positional form: drizzle 0.45 rejects a config object that carries `mode`.
  const db = drizzle(pool, { mode: "default" });
  const seriesWhere = (exchange: string, coin: string, intervalMinutes: number) =>
    and(eq(klinesData.exchange, exchange), eq(klinesData.coin, coin), eq(klinesData.bucketInterval, intervalMinutes));

  async function writeBatch(batch: readonly Candle[], atMs: number): Promise<number> {
    const rows = batch.map((c) => [exchangeName(c.exchange), c.coin, utcText(candleEndMs(c)), c.open, c.high, c.low, c.close, c.volume, c.intervalMinutes, c.filled]);
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      await connection.query("INSERT INTO exchanges (exchange) VALUES ? ON DUPLICATE KEY UPDATE exchange = exchange", [
        distinct(rows.map((r) => r[0]))
          .sort()
          .map((e) => [e]),
      ]);
      await connection.query("INSERT INTO coins (coin, name, date_added) VALUES ? ON DUPLICATE KEY UPDATE coin = coin", [
        distinct(batch.map((c) => c.coin))
          .sort()
          .map((c) => [c, c, utcText(atMs)]),
      ]);
      // VALUES() works on MariaDB and MySQL alike (MySQL 8 prefers a row alias, which MariaDB lacks).
      const [result] = await connection.query<ResultSetHeader>(
        `INSERT INTO klines_data (exchange, coin, \`timestamp\`, open_price, high_price, low_price, close_price, volume, bucket_interval, filled) VALUES ?
         ON DUPLICATE KEY UPDATE open_price = VALUES(open_price), high_price = VALUES(high_price), low_price = VALUES(low_price),
           close_price = VALUES(close_price), volume = VALUES(volume), filled = VALUES(filled)`,
        [rows],
      );
      await connection.commit();
      return insertedRows(result);
    } catch (error) {
      await connection.rollback().catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
  }

  const currentWhere = and(isNull(metadata.assertiveTo), isNull(metadata.effectiveTo));

  return {
    target,

    async migrate() {
      // One connection for the named lock and the migration.
      const connection = await mysql.createConnection(connectionOptions);
      try {
        await connection.query("SELECT GET_LOCK('cryptointellect_migrate', 60)");
        // drizzle's own migrator (same bookkeeping table as drizzle-kit), fed the embedded files. Its
        // typings hide the session of a MySQL database; the tests catch a drizzle upgrade that moves it.
        const migrationDb = drizzle(connection, { mode: "default" }) as unknown as { session: Parameters<MySqlDialect["migrate"]>[1] };
        const session = migrationDb.session;
        await new MySqlDialect().migrate(migrationsFor("mysql"), session, { migrationsFolder: "" });
      } finally {
        await connection.end().catch(() => {});
      }
    },

    async writeCandles(candles, atMs) {
      let inserted = 0;
      for (const batch of chunks(uniqueCandles(candles), BATCH_ROWS)) inserted += await writeBatch(batch, atMs);
      return inserted;
    },

    ...seriesEdges(async (name, coin, intervalMinutes, newest) => {
      const [row] = await db
        .select({ timestamp: klinesData.timestamp, close: klinesData.closePrice })
        .from(klinesData)
        .where(seriesWhere(name, coin, intervalMinutes))
        .orderBy(newest ? desc(klinesData.timestamp) : asc(klinesData.timestamp))
        .limit(1);
      return row;
    }),

    async savedRuns(exchange, intervalMinutes, coinList, fromOpenMs, toOpenMs) {
      if (coinList.length === 0) return [];
      const size = intervalMinutes * MINUTE_MS;
      // Gaps and islands: within a run, end time minus rank is constant. TIMESTAMPDIFF ignores the session zone.
      const [rows] = await pool.query(
        `SELECT coin, MIN(t) AS first, MAX(t) AS last FROM (
           SELECT coin, t, t - ROW_NUMBER() OVER (PARTITION BY coin ORDER BY t) * ? AS run FROM (
             SELECT coin, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', \`timestamp\`) DIV 1000 AS t FROM klines_data
             WHERE exchange = ? AND bucket_interval = ? AND coin IN (?) AND \`timestamp\` BETWEEN ? AND ?
           ) s
         ) r GROUP BY coin, run`,
        [size, exchangeName(exchange), intervalMinutes, [...coinList], utcText(fromOpenMs + size), utcText(toOpenMs + size)],
      );
      return runsFromIslands(rows as { coin: string; first: string; last: string }[], intervalMinutes);
    },

    async readCandles(exchange, coin, intervalMinutes, fromOpenMs, toOpenMs) {
      const size = intervalMinutes * MINUTE_MS;
      const rows = await db
        .select()
        .from(klinesData)
        .where(
          and(
            seriesWhere(exchangeName(exchange), coin, intervalMinutes),
            gte(klinesData.timestamp, new Date(fromOpenMs + size)),
            lte(klinesData.timestamp, new Date(toOpenMs + size)),
          ),
        )
        .orderBy(asc(klinesData.timestamp));
      return rows.map(candleFromRecord).filter(defined);
    },

    async readPage(name, coin, intervalMinutes, afterEndMs, toEndMs, limit) {
      // Rows as arrays, the time as epoch ms (TIMESTAMPDIFF ignores the session zone).
      const [rows] = await pool.query({
        sql: `SELECT ${EPOCH_MS("`timestamp`")}, exchange, coin, open_price, high_price, low_price, close_price, volume FROM klines_data
              WHERE exchange = ? AND coin = ? AND bucket_interval = ? AND \`timestamp\` > ? AND \`timestamp\` <= ?
              ORDER BY \`timestamp\` LIMIT ?`,
        values: [name, coin, intervalMinutes, utcText(afterEndMs), utcText(toEndMs), limit],
        rowsAsArray: true,
      });
      return savedRowsFromTuples(rows as unknown as PageTuple[], intervalMinutes);
    },

    async seriesBounds(name, coin, intervalMinutes, fromEndMs, toEndMs) {
      const range = "exchange = ? AND coin = ? AND bucket_interval = ? AND `timestamp` >= ? AND `timestamp` <= ?";
      const values = [name, coin, intervalMinutes, utcText(fromEndMs), utcText(toEndMs)];
      const [rows] = await pool.query(
        `SELECT (SELECT ${EPOCH_MS("`timestamp`")} FROM klines_data WHERE ${range} ORDER BY \`timestamp\` LIMIT 1) AS first,
                (SELECT ${EPOCH_MS("`timestamp`")} FROM klines_data WHERE ${range} ORDER BY \`timestamp\` DESC LIMIT 1) AS last`,
        [...values, ...values],
      );
      return boundsFromRow((rows as { first: unknown; last: unknown }[])[0]);
    },

    async seriesStats(intervalMinutes) {
      const [rows] = await pool.query(
        `SELECT exchange, coin, ${EPOCH_MS("MIN(`timestamp`)")} AS first, ${EPOCH_MS("MAX(`timestamp`)")} AS last, COUNT(*) AS n, SUM(filled) AS filled
         FROM klines_data WHERE bucket_interval = ? GROUP BY exchange, coin ORDER BY exchange, coin`,
        [intervalMinutes],
      );
      return seriesStatsFromRows(rows as { exchange: string; coin: string; first: unknown; last: unknown; n: unknown; filled: unknown }[]);
    },

    async listSeries() {
      const rows = await db
        .select({
          exchange: klinesData.exchange,
          coin: klinesData.coin,
          bucketInterval: klinesData.bucketInterval,
          first: min(klinesData.timestamp),
          last: max(klinesData.timestamp),
          count: count(),
        })
        .from(klinesData)
        .groupBy(klinesData.exchange, klinesData.coin, klinesData.bucketInterval)
        .orderBy(klinesData.exchange, klinesData.coin, klinesData.bucketInterval);
      return rows.map(seriesFromRecord).filter(defined);
    },

    async trackCoins(list, atMs) {
      if (list.length === 0) return;
      await db
        .insert(coins)
        .values(list.map((c) => ({ coin: c.coin, name: c.name, marketCap: c.marketCap === null ? null : Math.round(c.marketCap), dateAdded: new Date(atMs) })))
        .onDuplicateKeyUpdate({ set: { name: dsql`VALUES(${coins.name})`, marketCap: dsql`COALESCE(VALUES(${coins.marketCap}), ${coins.marketCap})` } });
    },

    async trackExchanges(ids) {
      if (ids.length === 0) return;
      await db
        .insert(exchanges)
        .values(ids.map((id) => ({ exchange: exchangeName(id) })))
        .onDuplicateKeyUpdate({ set: { exchange: dsql`${exchanges.exchange}` } });
    },

    async listCoins() {
      const rows = await db.select().from(coins).orderBy(coins.coin);
      return rows.map((r) => ({ coin: r.coin, name: r.name, marketCap: r.marketCap, dateAddedMs: r.dateAdded.getTime() }));
    },

    async listExchanges() {
      const rows = await db.select().from(exchanges).orderBy(exchanges.exchange);
      return rows.map((r) => exchangeIdOf(r.exchange)).filter(defined);
    },

    async currentMetadata() {
      const [row] = await db.select().from(metadata).where(currentWhere).orderBy(desc(metadata.id)).limit(1);
      return row && metadataFromRecord(row);
    },

    async listMetadata() {
      return (await db.select().from(metadata).orderBy(metadata.id)).map(metadataFromRecord);
    },

    async updateMetadata(stats, atMs) {
      return db.transaction(async (tx) => {
        // Locks the current row (or the gap where it would be) against a second job.
        const [current] = await tx.select().from(metadata).where(currentWhere).orderBy(desc(metadata.id)).limit(1).for("update");
        const plan = versionMetadata(current && metadataFromRecord(current), stats, atMs);
        if (plan.insert.length === 0) return false;
        if (plan.close)
          await tx
            .update(metadata)
            .set({ assertiveTo: new Date(plan.close.assertiveToMs) })
            .where(eq(metadata.id, plan.close.id));
        await tx.insert(metadata).values(plan.insert.map(metadataToRecord));
        return true;
      });
    },

    async close() {
      await pool.end();
    },
  };
}
