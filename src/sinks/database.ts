import { migrateStore } from "../db/migrate.ts";
import { openStore, type OpenStoreOptions } from "../db/open.ts";
import { describeDriverError, missingFromRuns, type SeriesSummary, type Store, type TrackedCoin } from "../db/store.ts";
import { type DatabaseTarget, maskSecrets, parseDatabaseUrl, redactDatabaseUrl } from "../db/url.ts";
import type { Candle, ExchangeId } from "../domain/candle.ts";
import { selectMetadata, type MetadataRow, type MetadataStats } from "../domain/metadata.ts";
import { DatabaseError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import type { CandleSink } from "./types.ts";

/** How long `close()` lets running calls finish. */
const CLOSE_GRACE_MS = 10_000;

export interface MetadataQuery {
  /** The instant the statistics were true for; defaults to `knownAtMs`. */
  effectiveAtMs?: number;
  /** The instant of belief; defaults to now. Both absent: the current row. */
  knownAtMs?: number;
}

/** The database sink: candles plus the tables and queries only a database has. */
export interface DatabaseSink extends CandleSink {
  readonly name: "database";
  /** Versions the metadata bitemporally when a statistic changed; true when rows were written. */
  recordMetadata(stats: MetadataStats, atMs: number): Promise<boolean>;
  queryMetadata(query: MetadataQuery): Promise<MetadataRow | undefined>;
  /** Every metadata row, oldest first: the whole bitemporal history. */
  listMetadata(): Promise<MetadataRow[]>;
  /** Candles of one series with open time in [fromOpenMs, toOpenMs], sorted by open time. */
  readCandles(exchange: ExchangeId, coin: string, intervalMinutes: number, fromOpenMs: number, toOpenMs: number): Promise<Candle[]>;
  /** Every stored series with its first and last bucket (open times) and row count, for gap repair. */
  listSeries(): Promise<SeriesSummary[]>;
  listCoins(): Promise<TrackedCoin[]>;
  listExchanges(): Promise<ExchangeId[]>;
}

export interface DatabaseSinkOptions extends OpenStoreOptions {
  /** `postgres://…`, `mysql://…`, `sqlite:PATH` (SQLAlchemy `+driver` suffixes are ignored). */
  url: string;
  /** `url` parsed (the config parses it once); parsed here when not given. */
  target?: DatabaseTarget;
  logger: Logger;
  now?: () => number;
}

/**
 * Saves candles to PostgreSQL, MySQL/MariaDB or SQLite. `open()` creates the database if needed and
 * applies the migrations. While the server is unreachable every call throws DatabaseError; the
 * driver reconnects by itself, so calls succeed again once it is back, without a restart.
 */
export function createDatabaseSink(options: DatabaseSinkOptions): DatabaseSink {
  const { url, logger } = options;
  const now = options.now ?? Date.now;
  const target = options.target ?? parseDatabaseUrl(url);
  let store: Store | undefined;
  let failing = false;
  const inFlight = new Set<Promise<unknown>>();

  async function use<T>(what: string, action: (store: Store) => Promise<T>): Promise<T> {
    const current = store;
    if (current === undefined) throw new DatabaseError(`database sink is not open (${what}, ${redactDatabaseUrl(url)})`);
    const call = action(current);
    inFlight.add(call);
    try {
      const result = await call;
      if (failing) logger.info("database reachable again", { target: current.target });
      failing = false;
      return result;
    } catch (error) {
      if (!failing) logger.warn("database call failed", { target: current.target, what, error: maskSecrets(describeDriverError(error), url) });
      failing = true;
      throw new DatabaseError(`${what} failed on ${current.target}: ${maskSecrets(describeDriverError(error), url)}`, { cause: error });
    } finally {
      inFlight.delete(call);
    }
  }

  return {
    name: "database",

    async open() {
      if (store !== undefined) return;
      const opened = await openStore(target, logger, options);
      try {
        await migrateStore(opened, url);
      } catch (error) {
        await opened.close().catch(() => {});
        throw error;
      }
      store = opened;
      logger.info("database ready", { target: opened.target });
    },

    lastSaved: (exchange, coin, intervalMinutes) => use("reading the last saved bucket", (s) => s.lastSaved(exchange, coin, intervalMinutes)),

    firstSaved: (exchange, coin, intervalMinutes) => use("reading the first saved bucket", (s) => s.firstSaved(exchange, coin, intervalMinutes)),

    missingRanges: (exchange, intervalMinutes, coins, fromOpenMs, toOpenMs) =>
      use("finding missing buckets", async (s) =>
        missingFromRuns(await s.savedRuns(exchange, intervalMinutes, coins, fromOpenMs, toOpenMs), coins, intervalMinutes, fromOpenMs, toOpenMs),
      ),

    write: (candles) =>
      candles.length === 0 ? Promise.resolve(0) : use(`writing ${candles.length} candle${candles.length === 1 ? "" : "s"}`, (s) => s.writeCandles(candles, now())),

    track: (coins, exchanges) =>
      use("recording coins and exchanges", async (s) => {
        await s.trackExchanges(exchanges);
        await s.trackCoins(coins, now());
      }),

    recordMetadata: (stats, atMs) => use("recording metadata", (s) => s.updateMetadata(stats, atMs)),

    queryMetadata: ({ effectiveAtMs, knownAtMs }) =>
      use("reading metadata", async (s) => {
        if (effectiveAtMs === undefined && knownAtMs === undefined) return s.currentMetadata();
        const known = knownAtMs ?? now();
        // The table stays small: a new version only when the collection itself changes.
        return selectMetadata(await s.listMetadata(), effectiveAtMs ?? known, known);
      }),

    listMetadata: () => use("reading metadata", (s) => s.listMetadata()),

    readCandles: (exchange, coin, intervalMinutes, fromOpenMs, toOpenMs) => use("reading candles", (s) => s.readCandles(exchange, coin, intervalMinutes, fromOpenMs, toOpenMs)),

    listSeries: () => use("listing series", (s) => s.listSeries()),
    listCoins: () => use("listing coins", (s) => s.listCoins()),
    listExchanges: () => use("listing exchanges", (s) => s.listExchanges()),

    async close() {
      const closing = store;
      store = undefined;
      if (closing === undefined) return;
      // Calls already running finish (for a while at most); then the connections close at once.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      await closing.close();
    },
  };
}
