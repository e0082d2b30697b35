import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { and, asc, count, desc, eq, gte, isNull, lte, max, min, sql as dsql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { candleEndMs, type Candle } from "../domain/candle.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import { versionMetadata } from "../domain/metadata.ts";
import { DatabaseError } from "../errors.ts";
import { migrationsFor } from "./migrations.ts";
import { coins, exchanges, klinesData, metadata } from "./schema/sqlite.ts";
import {
  candleFromRecord,
  defined,
  describeDriverError,
  distinct,
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
import type { DatabaseTarget } from "./url.ts";

/**
 * Opens (creating the file and its folder) an embedded SQLite database. Every call is synchronous
 * underneath, so a transaction never interleaves with another call of the same process.
 */
export function openSqliteStore(target: DatabaseTarget): Store {
  const path = target.path ?? ":memory:";
  const where = `SQLite at ${path}`;
  let client: Database;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    client = new Database(path, { create: true, strict: true });
    client.run("PRAGMA journal_mode = WAL");
    client.run("PRAGMA synchronous = NORMAL");
    client.run("PRAGMA busy_timeout = 5000");
    client.run("PRAGMA foreign_keys = ON");
  } catch (error) {
    throw new DatabaseError(`cannot open ${where}: ${describeDriverError(error)}`, { cause: error });
  }
  return createSqliteStore(client, where);
}

function createSqliteStore(client: Database, target: string): Store {
  const db = drizzle({ client });
  const seriesWhere = (exchange: string, coin: string, intervalMinutes: number) =>
    and(eq(klinesData.exchange, exchange), eq(klinesData.coin, coin), eq(klinesData.bucketInterval, intervalMinutes));
  const currentWhere = and(isNull(metadata.assertiveTo), isNull(metadata.effectiveTo));
  // Prepared once the tables exist (after migrate).
  let statements: ReturnType<typeof prepareWrites> | undefined;

  function prepareWrites() {
    return {
      exchange: client.prepare("INSERT INTO exchanges (exchange) VALUES (?) ON CONFLICT DO NOTHING"),
      coin: client.prepare("INSERT INTO coins (coin, name, date_added) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      insert: client.prepare(
        `INSERT INTO klines_data (exchange, coin, "timestamp", open_price, high_price, low_price, close_price, volume, bucket_interval, filled)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      // Only when a value differs, so rewriting the same candle changes nothing.
      update: client.prepare(
        `UPDATE klines_data SET open_price = ?5, high_price = ?6, low_price = ?7, close_price = ?8, volume = ?9, filled = ?10
         WHERE exchange = ?1 AND coin = ?2 AND bucket_interval = ?3 AND "timestamp" = ?4
           AND (open_price IS NOT ?5 OR high_price IS NOT ?6 OR low_price IS NOT ?7 OR close_price IS NOT ?8 OR volume IS NOT ?9 OR filled IS NOT ?10)`,
      ),
    };
  }

  const writeAll = (candles: readonly Candle[], atMs: number): number => {
    const s = (statements ??= prepareWrites());
    let inserted = 0;
    for (const e of distinct(candles.map((c) => exchangeName(c.exchange)))) s.exchange.run(e);
    for (const coin of distinct(candles.map((c) => c.coin))) s.coin.run(coin, coin, atMs);
    for (const c of candles) {
      const name = exchangeName(c.exchange);
      const end = candleEndMs(c);
      const filled = c.filled ? 1 : 0;
      if (s.insert.run(name, c.coin, end, c.open, c.high, c.low, c.close, c.volume, c.intervalMinutes, filled).changes > 0) inserted++;
      else s.update.run(name, c.coin, c.intervalMinutes, end, c.open, c.high, c.low, c.close, c.volume, filled);
    }
    return inserted;
  };
  const writeTransaction = client.transaction(writeAll);

  return {
    target,

    async migrate() {
      // drizzle's own migrator (same bookkeeping table as drizzle-kit), fed the embedded files. Its
      // typings hide the session of a SQLite database; the tests catch a drizzle upgrade that moves it.
      const { session } = db as unknown as { session: Parameters<SQLiteSyncDialect["migrate"]>[1] };
      new SQLiteSyncDialect().migrate(migrationsFor("sqlite"), session, { migrationsFolder: "" });
    },

    async writeCandles(candles, atMs) {
      // One transaction for all: SQLite writes from memory, a commit is the expensive part.
      return candles.length === 0 ? 0 : writeTransaction.immediate(uniqueCandles(candles), atMs);
    },

    ...seriesEdges(async (name, coin, intervalMinutes, newest) =>
      db
        .select({ timestamp: klinesData.timestamp, close: klinesData.closePrice })
        .from(klinesData)
        .where(seriesWhere(name, coin, intervalMinutes))
        .orderBy(newest ? desc(klinesData.timestamp) : asc(klinesData.timestamp))
        .limit(1)
        .get(),
    ),

    async savedRuns(exchange, intervalMinutes, coinList, fromOpenMs, toOpenMs) {
      if (coinList.length === 0) return [];
      const size = intervalMinutes * MINUTE_MS;
      // Gaps and islands: within a run, end time minus rank is constant.
      const rows = client
        .query<{ coin: string; first: number; last: number }, [number, string, number, string, number, number]>(
          `SELECT coin, MIN(t) AS first, MAX(t) AS last FROM (
             SELECT coin, "timestamp" AS t, "timestamp" - ROW_NUMBER() OVER (PARTITION BY coin ORDER BY "timestamp") * ?1 AS run FROM klines_data
             WHERE exchange = ?2 AND bucket_interval = ?3 AND coin IN (SELECT value FROM json_each(?4)) AND "timestamp" BETWEEN ?5 AND ?6
           ) GROUP BY coin, run`,
        )
        .all(size, exchangeName(exchange), intervalMinutes, JSON.stringify(coinList), fromOpenMs + size, toOpenMs + size);
      return runsFromIslands(rows, intervalMinutes);
    },

    async readCandles(exchange, coin, intervalMinutes, fromOpenMs, toOpenMs) {
      const size = intervalMinutes * MINUTE_MS;
      const rows = db
        .select()
        .from(klinesData)
        .where(
          and(
            seriesWhere(exchangeName(exchange), coin, intervalMinutes),
            gte(klinesData.timestamp, new Date(fromOpenMs + size)),
            lte(klinesData.timestamp, new Date(toOpenMs + size)),
          ),
        )
        .orderBy(asc(klinesData.timestamp))
        .all();
      return rows.map(candleFromRecord).filter(defined);
    },

    async readPage(name, coin, intervalMinutes, afterEndMs, toEndMs, limit) {
      const rows = client
        .query<PageTuple, [string, string, number, number, number, number]>(
          `SELECT "timestamp", exchange, coin, open_price, high_price, low_price, close_price, volume FROM klines_data
           WHERE exchange = ?1 AND coin = ?2 AND bucket_interval = ?3 AND "timestamp" > ?4 AND "timestamp" <= ?5
           ORDER BY "timestamp" LIMIT ?6`,
        )
        .values(name, coin, intervalMinutes, afterEndMs, toEndMs, limit);
      return savedRowsFromTuples(rows as PageTuple[], intervalMinutes);
    },

    async seriesBounds(name, coin, intervalMinutes, fromEndMs, toEndMs) {
      const range = `exchange = ?1 AND coin = ?2 AND bucket_interval = ?3 AND "timestamp" >= ?4 AND "timestamp" <= ?5`;
      const row = client
        .query<{ first: number | null; last: number | null }, [string, string, number, number, number]>(
          `SELECT (SELECT "timestamp" FROM klines_data WHERE ${range} ORDER BY "timestamp" LIMIT 1) AS first,
                  (SELECT "timestamp" FROM klines_data WHERE ${range} ORDER BY "timestamp" DESC LIMIT 1) AS last`,
        )
        .get(name, coin, intervalMinutes, fromEndMs, toEndMs);
      return boundsFromRow(row ?? undefined);
    },

    async seriesStats(intervalMinutes) {
      const rows = client
        .query<{ exchange: string; coin: string; first: number; last: number; n: number; filled: number }, [number]>(
          `SELECT exchange, coin, MIN("timestamp") AS first, MAX("timestamp") AS last, COUNT(*) AS n, SUM(filled) AS filled
           FROM klines_data WHERE bucket_interval = ?1 GROUP BY exchange, coin ORDER BY exchange, coin`,
        )
        .all(intervalMinutes);
      return seriesStatsFromRows(rows);
    },

    async listSeries() {
      const rows = db
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
        .orderBy(klinesData.exchange, klinesData.coin, klinesData.bucketInterval)
        .all();
      return rows.map(seriesFromRecord).filter(defined);
    },

    async trackCoins(list, atMs) {
      if (list.length === 0) return;
      db.insert(coins)
        .values(list.map((c) => ({ coin: c.coin, name: c.name, marketCap: c.marketCap === null ? null : Math.round(c.marketCap), dateAdded: new Date(atMs) })))
        .onConflictDoUpdate({ target: coins.coin, set: { name: dsql`excluded.name`, marketCap: dsql`coalesce(excluded.market_cap, ${coins.marketCap})` } })
        .run();
    },

    async trackExchanges(ids) {
      if (ids.length === 0) return;
      db.insert(exchanges)
        .values(ids.map((id) => ({ exchange: exchangeName(id) })))
        .onConflictDoNothing()
        .run();
    },

    async listCoins() {
      const rows = db.select().from(coins).orderBy(coins.coin).all();
      return rows.map((r) => ({ coin: r.coin, name: r.name, marketCap: r.marketCap, dateAddedMs: r.dateAdded.getTime() }));
    },

    async listExchanges() {
      const rows = db.select().from(exchanges).orderBy(exchanges.exchange).all();
      return rows.map((r) => exchangeIdOf(r.exchange)).filter(defined);
    },

    async currentMetadata() {
      const row = db.select().from(metadata).where(currentWhere).orderBy(desc(metadata.id)).limit(1).get();
      return row && metadataFromRecord(row);
    },

    async listMetadata() {
      return db.select().from(metadata).orderBy(metadata.id).all().map(metadataFromRecord);
    },

    async updateMetadata(stats, atMs) {
      const apply = client.transaction(() => {
        const current = db.select().from(metadata).where(currentWhere).orderBy(desc(metadata.id)).limit(1).get();
        const plan = versionMetadata(current && metadataFromRecord(current), stats, atMs);
        if (plan.insert.length === 0) return false;
        if (plan.close)
          db.update(metadata)
            .set({ assertiveTo: new Date(plan.close.assertiveToMs) })
            .where(eq(metadata.id, plan.close.id))
            .run();
        db.insert(metadata).values(plan.insert.map(metadataToRecord)).run();
        return true;
      });
      return apply.immediate();
    },

    async close() {
      client.close();
    },
  };
}
