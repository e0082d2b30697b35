import { and, asc, count, desc, eq, gte, isNull, lte, max, min, sql as dsql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres, { type Sql, type TransactionSql } from "postgres";
import { candleEndMs, type Candle } from "../domain/candle.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import { versionMetadata } from "../domain/metadata.ts";
import { DatabaseError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { numberArrayLiteral, textArrayLiteral } from "./array-literal.ts";
import { migrationsFor } from "./migrations.ts";
import { coins, exchanges, klinesData, metadata } from "./schema/pg.ts";
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

/** Rows per INSERT: big enough that per-statement costs vanish, small enough to keep memory flat. */
const BATCH_ROWS = 20_000;
/** Batches in flight at once: PostgreSQL indexes two sessions' inserts in parallel. */
const WRITERS = 2;
/** Keys for pg_advisory_lock: one migration and one metadata job at a time per database. */
const MIGRATE_LOCK = 7_400_001;
const METADATA_LOCK = 7_400_002;

export interface PostgresOptions {
  /** Seconds to wait for a connection before failing (also while the server is down). */
  connectTimeoutSeconds?: number;
  maxConnections?: number;
  /** Create the database when it does not exist (default); false: fail instead (a reader creates nothing). */
  createDatabase?: boolean;
}

function describeTarget(target: DatabaseTarget, database: string): string {
  const url = new URL(target.url);
  return `PostgreSQL at ${url.hostname}:${url.port || "5432"}, database "${database}"`;
}

/**
 * Connects (creating the database when the server says it does not exist) and returns the store.
 * Migrations are applied by `store.migrate()`. Throws DatabaseError naming the host, never the password.
 */
export async function openPostgresStore(target: DatabaseTarget, logger: Logger, options: PostgresOptions = {}): Promise<Store> {
  const database = resolveDatabaseName(target);
  const where = describeTarget(target, database);
  const connect = (db: string, max = options.maxConnections ?? 10) =>
    postgres(target.url, {
      database: db,
      max,
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      idle_timeout: 60,
      onnotice: () => {},
      connection: { application_name: "cryptointellect" },
    });
  const fail = (error: unknown): never => {
    throw new DatabaseError(`cannot connect to ${where}: ${maskSecrets(describeDriverError(error), target.url)}`, { cause: error });
  };

  let client = connect(database);
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 0 });
    if (errorCode(error) !== "3D000" || options.createDatabase === false) fail(error);
    await createDatabase(database, connect).catch(fail);
    logger.info("created database", { target: where });
    client = connect(database);
    await client`select 1`.catch(async (e: unknown) => {
      await client.end({ timeout: 0 });
      fail(e);
    });
  }
  return createPostgresStore(client, where, connect, database);
}

/** CREATE DATABASE from the maintenance database; a concurrent creator winning the race is fine. */
async function createDatabase(database: string, connect: (db: string, max?: number) => Sql): Promise<void> {
  let lastError: unknown;
  for (const maintenance of ["postgres", "template1"]) {
    const admin = connect(maintenance, 1);
    try {
      await admin.unsafe(`CREATE DATABASE ${quoteIdent(database)}`);
      return;
    } catch (error) {
      if (errorCode(error) === "42P04") return; // duplicate_database
      lastError = error;
      if (errorCode(error) !== "3D000") break;
    } finally {
      await admin.end({ timeout: 0 });
    }
  }
  throw lastError;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** An instant as timestamptz text: exact to the millisecond, whatever the session's time zone. */
function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** SQLSTATE of a duplicate key, and of a row referencing one that is not there. */
const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

function createPostgresStore(client: Sql, target: string, connect: (db: string, max?: number) => Sql, database: string): Store {
  const db = drizzle({ client });
  const seriesWhere = (exchange: string, coin: string, intervalMinutes: number) =>
    and(eq(klinesData.exchange, exchange), eq(klinesData.coin, coin), eq(klinesData.bucketInterval, intervalMinutes));

  // Exchanges and coins this store has seen committed: a write names only the others (a cluster's
  // hundreds of small job writes spent a tenth of the server's time re-inserting them). Should one
  // have been deleted behind our back, the foreign key says so and the write is made again in full.
  const present = { exchanges: new Set<string>(), coins: new Set<string>() };

  async function writeBatch(batch: readonly Candle[], atMs: number): Promise<number> {
    try {
      return await writeRows(batch, atMs, true);
    } catch (error) {
      if (errorCode(error) !== FOREIGN_KEY_VIOLATION) throw error;
      present.exchanges.clear();
      present.coins.clear();
      return writeRows(batch, atMs, false);
    }
  }

  async function writeRows(batch: readonly Candle[], atMs: number, skipPresent: boolean): Promise<number> {
    const n = batch.length;
    const ex = new Array<string>(n),
      coin = new Array<string>(n),
      endMs = new Array<number>(n);
    const o = new Array<number>(n),
      h = new Array<number>(n),
      l = new Array<number>(n),
      c = new Array<number>(n),
      v = new Array<number>(n);
    const interval = new Array<number>(n),
      filled = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const k = batch[i]!;
      ex[i] = exchangeName(k.exchange);
      coin[i] = k.coin;
      endMs[i] = candleEndMs(k);
      o[i] = k.open;
      h[i] = k.high;
      l[i] = k.low;
      c[i] = k.close;
      v[i] = k.volume;
      interval[i] = k.intervalMinutes;
      filled[i] = k.filled ? 1 : 0; // sent as int[] and cast to boolean on the server
    }
    const newCoins = distinct(coin)
      .filter((c) => !skipPresent || !present.coins.has(c))
      .sort();
    const newExchanges = distinct(ex)
      .filter((e) => !skipPresent || !present.exchanges.has(e))
      .sort();
    const columns = [
      textArrayLiteral(ex),
      textArrayLiteral(coin),
      numberArrayLiteral(endMs),
      numberArrayLiteral(o),
      numberArrayLiteral(h),
      numberArrayLiteral(l),
      numberArrayLiteral(c),
      numberArrayLiteral(v),
      numberArrayLiteral(interval),
      numberArrayLiteral(filled),
    ] as const;
    // The batch's rows into klines_data, arrays unnested server-side; run as is, or as the upsert's core.
    const insertRows = (q: TransactionSql) => q`
      INSERT INTO klines_data AS k (exchange, coin, "timestamp", open_price, high_price, low_price, close_price, volume, bucket_interval, filled)
      SELECT e, c, to_timestamp(t / 1000), o, h, l, cl, v, i, f::boolean
      FROM unnest(${columns[0]}::text[], ${columns[1]}::text[], ${columns[2]}::float8[], ${columns[3]}::float8[], ${columns[4]}::float8[], ${columns[5]}::float8[],
                  ${columns[6]}::float8[], ${columns[7]}::float8[], ${columns[8]}::int[], ${columns[9]}::int[])
        AS u(e, c, t, o, h, l, cl, v, i, f)`;
    const written = await client.begin(async (tx) => {
      // Referenced rows first (sorted, so concurrent writers lock in one order); track() fills in names.
      if (newExchanges.length > 0) await tx`INSERT INTO exchanges (exchange) SELECT unnest(${newExchanges}::text[]) ON CONFLICT DO NOTHING`;
      if (newCoins.length > 0)
        await tx`INSERT INTO coins (coin, name, date_added) SELECT c, c, ${new Date(atMs).toISOString()}::timestamptz FROM unnest(${newCoins}::text[]) AS c ON CONFLICT DO NOTHING`;
      // Rows new to the table (a backfill's, a live bucket's) go in by a plain INSERT: ON CONFLICT's
      // speculative insertion cost the server ~20% more CPU per row (1.41-1.63 s against 1.12-1.23 s
      // of server CPU for a backfill's 86,400 rows from three writers, on 2 cores; the database
      // section of bench/RESULTS.md times both paths on a million rows). If any row is already there
      // the unique key refuses the whole statement, nothing of it stays (the savepoint), and the
      // upsert below writes the batch instead: the outcome is the upsert's either way.
      try {
        return await tx.savepoint(async (sp) => (await insertRows(sp)).count);
      } catch (error) {
        if (errorCode(error) !== UNIQUE_VIOLATION) throw error;
      }
      // The upsert skips unchanged rows and counts the rows that were new (xmax = 0 marks an insert).
      const [row] = await tx`
        WITH written AS (
          ${insertRows(tx)}
          ON CONFLICT (exchange, coin, bucket_interval, "timestamp") DO UPDATE SET
            open_price = excluded.open_price, high_price = excluded.high_price, low_price = excluded.low_price,
            close_price = excluded.close_price, volume = excluded.volume, filled = excluded.filled
          WHERE (k.open_price, k.high_price, k.low_price, k.close_price, k.volume, k.filled)
            IS DISTINCT FROM (excluded.open_price, excluded.high_price, excluded.low_price, excluded.close_price, excluded.volume, excluded.filled)
          RETURNING xmax = 0 AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted)::int AS inserted FROM written`;
      return (row as { inserted: number }).inserted;
    });
    for (const e of newExchanges) present.exchanges.add(e);
    for (const c of newCoins) present.coins.add(c);
    return written;
  }

  return {
    target,

    async migrate() {
      // A session of its own, so the advisory lock and the migration share one connection.
      const admin = connect(database, 1);
      try {
        await admin`SELECT pg_advisory_lock(${MIGRATE_LOCK})`;
        // drizzle's own migrator (same bookkeeping table as drizzle-kit), fed the embedded files.
        const session = drizzle({ client: admin })._.session as unknown as Parameters<PgDialect["migrate"]>[1];
        await new PgDialect().migrate(migrationsFor("postgres"), session, { migrationsFolder: "" });
      } finally {
        await admin.end({ timeout: 1 });
      }
    },

    async writeCandles(candles, atMs) {
      const batches = chunks(uniqueCandles(candles), BATCH_ROWS);
      let inserted = 0;
      let next = 0;
      const worker = async () => {
        while (next < batches.length) {
          const written = await writeBatch(batches[next++]!, atMs);
          inserted += written;
        }
      };
      await Promise.all(Array.from({ length: Math.min(WRITERS, batches.length) }, worker));
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
      // Gaps and islands: within a run, end time minus rank is constant.
      const rows = await client<{ coin: string; first: string; last: string }[]>`
        SELECT coin, min(t) AS first, max(t) AS last FROM (
          SELECT coin, t, t - row_number() OVER (PARTITION BY coin ORDER BY t) * ${size}::bigint AS run FROM (
            SELECT coin, (extract(epoch FROM "timestamp") * 1000)::bigint AS t FROM klines_data
            WHERE exchange = ${exchangeName(exchange)} AND bucket_interval = ${intervalMinutes} AND coin = ANY(${[...coinList]}::text[])
              AND "timestamp" BETWEEN to_timestamp(${fromOpenMs + size}::float8 / 1000) AND to_timestamp(${toOpenMs + size}::float8 / 1000)
          ) s
        ) r GROUP BY coin, run`;
      return runsFromIslands(rows, intervalMinutes);
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
      // Rows as arrays, the time as epoch ms: no Date per row. The primary key serves the range in order.
      const rows = await client`
        SELECT (extract(epoch FROM "timestamp") * 1000)::float8, exchange, coin, open_price, high_price, low_price, close_price, volume
        FROM klines_data
        WHERE exchange = ${name} AND coin = ${coin} AND bucket_interval = ${intervalMinutes}
          AND "timestamp" > ${isoTime(afterEndMs)}::timestamptz AND "timestamp" <= ${isoTime(toEndMs)}::timestamptz
        ORDER BY "timestamp" LIMIT ${limit}`.values();
      return savedRowsFromTuples(rows as unknown as PageTuple[], intervalMinutes);
    },

    async seriesBounds(name, coin, intervalMinutes, fromEndMs, toEndMs) {
      const range = client`exchange = ${name} AND coin = ${coin} AND bucket_interval = ${intervalMinutes}
        AND "timestamp" >= ${isoTime(fromEndMs)}::timestamptz AND "timestamp" <= ${isoTime(toEndMs)}::timestamptz`;
      const [row] = await client<{ first: number | null; last: number | null }[]>`
        SELECT (SELECT (extract(epoch FROM "timestamp") * 1000)::float8 FROM klines_data WHERE ${range} ORDER BY "timestamp" LIMIT 1) AS first,
               (SELECT (extract(epoch FROM "timestamp") * 1000)::float8 FROM klines_data WHERE ${range} ORDER BY "timestamp" DESC LIMIT 1) AS last`;
      return boundsFromRow(row);
    },

    async seriesStats(intervalMinutes) {
      const rows = await client<{ exchange: string; coin: string; first: number; last: number; n: number; filled: number }[]>`
        SELECT exchange, coin, (extract(epoch FROM min("timestamp")) * 1000)::float8 AS first, (extract(epoch FROM max("timestamp")) * 1000)::float8 AS last,
               count(*)::int8 AS n, count(*) FILTER (WHERE filled)::int8 AS filled
        FROM klines_data WHERE bucket_interval = ${intervalMinutes}
        GROUP BY exchange, coin ORDER BY exchange, coin`;
      return seriesStatsFromRows(rows);
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
        .onConflictDoUpdate({ target: coins.coin, set: { name: dsql`excluded.name`, marketCap: dsql`coalesce(excluded.market_cap, ${coins.marketCap})` } });
    },

    async trackExchanges(ids) {
      if (ids.length === 0) return;
      await db
        .insert(exchanges)
        .values(ids.map((id) => ({ exchange: exchangeName(id) })))
        .onConflictDoNothing();
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
      const [row] = await db
        .select()
        .from(metadata)
        .where(and(isNull(metadata.assertiveTo), isNull(metadata.effectiveTo)))
        .orderBy(desc(metadata.id))
        .limit(1);
      return row && metadataFromRecord(row);
    },

    async listMetadata() {
      return (await db.select().from(metadata).orderBy(metadata.id)).map(metadataFromRecord);
    },

    async updateMetadata(stats, atMs) {
      return db.transaction(async (tx) => {
        await tx.execute(dsql`SELECT pg_advisory_xact_lock(${METADATA_LOCK})`);
        const [current] = await tx
          .select()
          .from(metadata)
          .where(and(isNull(metadata.assertiveTo), isNull(metadata.effectiveTo)))
          .orderBy(desc(metadata.id))
          .limit(1);
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
      // The sink closes once its calls are done. Without a timeout postgres.js can wait forever for a
      // connection that died mid-query (it keeps that query as pending), so end at once.
      await client.end({ timeout: 0 });
    },
  };
}
