/**
 * The query API's reader of the database: keyset pages of one series (`timestamp > last served ORDER
 * BY timestamp LIMIT n`, on the primary key), through a small pool of its own, opened on first use and
 * never written through (no migration, no insert, no CREATE DATABASE). A database or SQLite file
 * that does not exist yet, or one without the candles table, holds no rows: the answer is empty,
 * nothing is created.
 */
import { existsSync } from "node:fs";
import { openMysqlStore } from "../db/mysql.ts";
import { openPostgresStore } from "../db/postgres.ts";
import { openSqliteStore } from "../db/sqlite.ts";
import { describeDriverError, errorCode, exchangeIdOf, type Store } from "../db/store.ts";
import { type DatabaseTarget, maskSecrets, parseDatabaseUrl, redactDatabaseUrl } from "../db/url.ts";
import { DatabaseError } from "../errors.ts";
import { exchangeName } from "../exchanges/names.ts";
import { isNativeExchange } from "../exchanges/index.ts";
import { silentLogger, type Logger } from "../telemetry/log.ts";
import { MAX_QUERY_MS, MIN_QUERY_MS, type SavedRow, type SeriesStatsRecord } from "../domain/saved-row.ts";
import type { CandleSource, SavedSeries } from "./source.ts";

/** Rows per query: large enough that a year of minutes is ~50 round trips, small enough to keep memory flat. */
export const DATABASE_PAGE_ROWS = 10_000;

export interface DatabaseSourceOptions {
  url: string;
  logger?: Logger;
  /** How long the series statistics (a scan of the interval's rows) are reused; default 15 s. */
  seriesCacheMs?: number;
  now?: () => number;
  /** Connections of the reader's own pool (server dialects). */
  maxConnections?: number;
}

/** The id of a stored Exchange name: known to this process, else the name in lower case without punctuation (`OKX` → `okx`). */
export function exchangeIdForName(name: string): string {
  return exchangeIdOf(name) ?? name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

export function createDatabaseSource(options: DatabaseSourceOptions): CandleSource {
  const { url } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const cacheMs = options.seriesCacheMs ?? 15_000;
  const target = parseDatabaseUrl(url);
  let opening: Promise<Store> | undefined;
  let closed = false;
  const statsCache = new Map<number, { atMs: number; records: Promise<SeriesStatsRecord[]> }>();

  const failure = (what: string, where: string, error: unknown) =>
    error instanceof DatabaseError ? error : new DatabaseError(`${what} failed on ${where}: ${maskSecrets(describeDriverError(error), url)}`, { cause: error });

  /** The store, opened once; undefined while the database (or SQLite file) does not exist: nothing saved yet. */
  async function store(): Promise<Store | undefined> {
    if (closed) throw new DatabaseError(`the candle reader of ${redactDatabaseUrl(url)} is closed`);
    if (target.dialect === "sqlite" && target.path !== ":memory:" && !existsSync(target.path!)) return undefined;
    opening ??= openReader(target, logger, options.maxConnections ?? 4).catch((error: unknown) => {
      opening = undefined; // the next request tries again
      throw failure("opening the candle reader", redactDatabaseUrl(url), error);
    });
    try {
      return await opening;
    } catch (error) {
      if (missingDatabase(error)) return undefined;
      throw error;
    }
  }

  /** Runs a read; a database without the candles table (not migrated yet) reads as empty. */
  async function read<T>(what: string, empty: T, action: (s: Store) => Promise<T>): Promise<T> {
    const s = await store();
    if (s === undefined) return empty;
    try {
      return await action(s);
    } catch (error) {
      if (missingTable(error)) return empty;
      throw failure(what, s.target, error);
    }
  }

  function stats(intervalMinutes: number): Promise<SeriesStatsRecord[]> {
    const cached = statsCache.get(intervalMinutes);
    if (cached && now() - cached.atMs < cacheMs) return cached.records;
    const records = read("listing series", [] as SeriesStatsRecord[], (s) => s.seriesStats(intervalMinutes));
    statsCache.set(intervalMinutes, { atMs: now(), records });
    records.catch(() => statsCache.delete(intervalMinutes));
    return records;
  }

  /** The Exchange name stored for an id: the one this process knows, else the stored name that maps to the id. */
  async function storedName(exchange: string, intervalMinutes: number): Promise<string> {
    const known = exchangeName(exchange);
    if (known !== exchange || isNativeExchange(exchange)) return known;
    const stored = (await stats(intervalMinutes)).find((r) => exchangeIdForName(r.exchangeName) === exchange);
    return stored?.exchangeName ?? known;
  }

  return {
    kind: "database",

    async series(intervalMinutes) {
      return (await stats(intervalMinutes)).map(
        (r): SavedSeries => ({
          exchange: exchangeIdForName(r.exchangeName),
          exchangeName: r.exchangeName,
          coin: r.coin,
          intervalMinutes,
          firstEndMs: r.firstEndMs,
          lastEndMs: r.lastEndMs,
          rows: r.rows,
          filledRows: r.filledRows,
        }),
      );
    },

    async bounds(key) {
      const name = await storedName(key.exchange, key.intervalMinutes);
      return read("reading a series' bounds", undefined, (s) => s.seriesBounds(name, key.coin, key.intervalMinutes, MIN_QUERY_MS, MAX_QUERY_MS));
    },

    async *rows(key, afterEndMs, toEndMs, maxRows) {
      const name = await storedName(key.exchange, key.intervalMinutes);
      let left = maxRows;
      const page = (after: number) => {
        const want = Math.min(DATABASE_PAGE_ROWS, left);
        const rows = read("reading candles", [], (s) => s.readPage(name, key.coin, key.intervalMinutes, after, toEndMs, want));
        return { want, rows };
      };
      // One page ahead: the database reads the next page while this one is encoded and sent.
      let next: { want: number; rows: Promise<SavedRow[]> } | undefined = left > 0 ? page(afterEndMs) : undefined;
      try {
        while (next) {
          const current = next;
          const rows = await current.rows;
          next = undefined;
          if (rows.length === 0) return;
          left -= rows.length;
          if (rows.length === current.want && left > 0) next = page(rows[rows.length - 1]!.endMs);
          yield rows;
        }
      } finally {
        // A reader that stopped early leaves a page in flight: its outcome is of no interest.
        next?.rows.catch(() => {});
      }
    },

    async close() {
      closed = true;
      const pending = opening;
      opening = undefined;
      statsCache.clear();
      if (pending) await (await pending.catch(() => undefined))?.close();
    },
  };
}

/** A reader's own connection: a few connections, no migration (the service's sink migrates). */
async function openReader(target: DatabaseTarget, logger: Logger, maxConnections: number): Promise<Store> {
  switch (target.dialect) {
    case "postgres":
      return openPostgresStore(target, logger, { maxConnections, connectTimeoutSeconds: 10, createDatabase: false });
    case "mysql":
      return openMysqlStore(target, logger, { maxConnections, connectTimeoutSeconds: 10, createDatabase: false });
    case "sqlite":
      return openSqliteStore(target);
  }
}

/** The server says the database does not exist (the reader never creates it). */
function missingDatabase(error: unknown): boolean {
  const code = errorCode(error instanceof DatabaseError ? error.cause : error);
  return code === "3D000" || code === "ER_BAD_DB_ERROR";
}

function missingTable(error: unknown): boolean {
  const code = errorCode(error);
  if (code === "42P01" || code === "ER_NO_SUCH_TABLE") return true;
  return /no such table/i.test(describeDriverError(error));
}
