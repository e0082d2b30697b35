import type { Candle, ExchangeId, SeriesPosition } from "../domain/candle.ts";
import { exchangeIdOf, exchangeName } from "../exchanges/names.ts";
export { exchangeIdOf, exchangeName } from "../exchanges/names.ts";
import { DrizzleQueryError } from "drizzle-orm/errors";
import type { BucketRange } from "../domain/gaps.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import type { MetadataRow, MetadataStats } from "../domain/metadata.ts";
import type { CoinInfo } from "../domain/coin.ts";
import type { SavedRow, SeriesStatsRecord } from "../domain/saved-row.ts";

/** One stored series, for gap repair. Times are bucket OPEN times, like `Candle.openTimeMs`. */
export interface SeriesSummary {
  exchange: ExchangeId;
  coin: string;
  intervalMinutes: number;
  firstOpenMs: number;
  lastOpenMs: number;
  count: number;
}

export interface CoinRun extends BucketRange {
  coin: string;
}

export interface TrackedCoin extends CoinInfo {
  dateAddedMs: number;
}

/**
 * The operations every dialect provides, on domain values. The `timestamp` column holds the bucket
 * END; stores convert from and to `openTimeMs`. Errors are the driver's own: the sink wraps them.
 */
export interface Store {
  /** Where, for messages: `PostgreSQL at 127.0.0.1:5432, database "x"`. Never the password. */
  readonly target: string;
  /** Applies the embedded migrations (a no-op when they are all applied). */
  migrate(): Promise<void>;
  /**
   * Upserts in batches, one transaction each; creates missing `coins`/`exchanges` rows (a coin's
   * `date_added` is `atMs`). Returns how many rows were new.
   */
  writeCandles(candles: readonly Candle[], atMs: number): Promise<number>;
  lastSaved(exchange: ExchangeId, coin: string, intervalMinutes: number): Promise<SeriesPosition | undefined>;
  /** Open time of the oldest saved bucket of a series. */
  firstSaved(exchange: ExchangeId, coin: string, intervalMinutes: number): Promise<number | undefined>;
  /**
   * Runs of consecutive saved buckets (open times) of the given coins in [fromOpenMs, toOpenMs],
   * computed by the server (gaps and islands), so a year of minutes is a handful of rows.
   */
  savedRuns(exchange: ExchangeId, intervalMinutes: number, coins: readonly string[], fromOpenMs: number, toOpenMs: number): Promise<CoinRun[]>;
  /** Candles with open time in [fromOpenMs, toOpenMs], sorted. */
  readCandles(exchange: ExchangeId, coin: string, intervalMinutes: number, fromOpenMs: number, toOpenMs: number): Promise<Candle[]>;
  /**
   * A page of one series for the query API (keyset paging on the key's last column): at most `limit`
   * rows with `timestamp` (the bucket end) in (afterEndMs, toEndMs], oldest first. `exchangeName` is
   * the stored Exchange name; bounds must lie in [MIN_QUERY_MS - 1, MAX_QUERY_MS].
   */
  readPage(exchangeName: string, coin: string, intervalMinutes: number, afterEndMs: number, toEndMs: number, limit: number): Promise<SavedRow[]>;
  /** The first and last `timestamp` of one series within [fromEndMs, toEndMs], or undefined when it has none there. */
  seriesBounds(exchangeName: string, coin: string, intervalMinutes: number, fromEndMs: number, toEndMs: number): Promise<{ firstEndMs: number; lastEndMs: number } | undefined>;
  /** Every saved series of one interval with its first and last bucket, rows and filled rows. */
  seriesStats(intervalMinutes: number): Promise<SeriesStatsRecord[]>;
  listSeries(): Promise<SeriesSummary[]>;
  /** Upserts name and market cap (a null market cap keeps the known one); `date_added` is set once, to `atMs`. */
  trackCoins(coins: readonly CoinInfo[], atMs: number): Promise<void>;
  trackExchanges(exchanges: readonly ExchangeId[]): Promise<void>;
  listCoins(): Promise<TrackedCoin[]>;
  listExchanges(): Promise<ExchangeId[]>;
  /** The row open at both ends. */
  currentMetadata(): Promise<MetadataRow | undefined>;
  listMetadata(): Promise<MetadataRow[]>;
  /** In one transaction: reads the current row and applies `versionMetadata`. True when rows were written. */
  updateMetadata(stats: MetadataStats, atMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** A series' newest or oldest saved row: its `timestamp` (the bucket's end) and close. One query per dialect. */
export type SeriesEdgeQuery = (exchangeName: string, coin: string, intervalMinutes: number, newest: boolean) => Promise<{ timestamp: Date; close: number } | undefined>;

/** `lastSaved` and `firstSaved` for every dialect, from the dialect's one edge query. */
export function seriesEdges(edge: SeriesEdgeQuery): Pick<Store, "lastSaved" | "firstSaved"> {
  return {
    async lastSaved(exchange, coin, intervalMinutes) {
      const row = await edge(exchangeName(exchange), coin, intervalMinutes, true);
      return row && { openTimeMs: row.timestamp.getTime() - intervalMinutes * MINUTE_MS, close: row.close };
    },
    async firstSaved(exchange, coin, intervalMinutes) {
      const row = await edge(exchangeName(exchange), coin, intervalMinutes, false);
      return row && row.timestamp.getTime() - intervalMinutes * MINUTE_MS;
    },
  };
}

/** Distinct values in first-seen order. */
export function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/**
 * True when the candles come as runs of one series each, every series in one run only, its open
 * times strictly ascending: then no key repeats. A backfill's and a cycle's batches come so, and
 * this check compares fields instead of building a string key per candle (which cost more than
 * sending the rows).
 */
function seriesRunsAscending(candles: readonly Candle[]): boolean {
  const seen = new Set<string>();
  let prev: Candle | undefined;
  for (const c of candles) {
    if (prev !== undefined && c.exchange === prev.exchange && c.coin === prev.coin && c.intervalMinutes === prev.intervalMinutes) {
      if (!(c.openTimeMs > prev.openTimeMs)) return false;
    } else {
      const key = `${c.exchange}|${c.coin}|${c.intervalMinutes}`;
      if (seen.has(key)) return false;
      seen.add(key);
    }
    prev = c;
  }
  return true;
}

/** The last copy of each (exchange, coin, interval, open time), so one statement never touches a row twice. */
export function uniqueCandles(candles: readonly Candle[]): Candle[] {
  if (seriesRunsAscending(candles)) return [...candles];
  const byKey = new Map<string, Candle>();
  for (const c of candles) byKey.set(`${c.exchange}|${c.coin}|${c.intervalMinutes}|${c.openTimeMs}`, c);
  return byKey.size === candles.length ? [...candles] : [...byKey.values()];
}

/** Splits into slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A `klines_data` row as every dialect's drizzle schema reads it. */
export interface KlineRecord {
  exchange: string;
  coin: string;
  timestamp: Date;
  openPrice: number;
  highPrice: number;
  lowPrice: number;
  closePrice: number;
  volume: number;
  bucketInterval: number;
  filled: boolean;
}

/** Back to the domain: the stored `timestamp` is the bucket end. Undefined for an exchange we do not know. */
export function candleFromRecord(r: KlineRecord): Candle | undefined {
  const exchange = exchangeIdOf(r.exchange);
  if (exchange === undefined) return undefined;
  return {
    exchange,
    coin: r.coin,
    intervalMinutes: r.bucketInterval,
    openTimeMs: r.timestamp.getTime() - r.bucketInterval * MINUTE_MS,
    open: r.openPrice,
    high: r.highPrice,
    low: r.lowPrice,
    close: r.closePrice,
    volume: r.volume,
    filled: r.filled,
  };
}

/** A `metadata` row as every dialect's drizzle schema reads and writes it. */
export interface MetadataRecord {
  id?: number;
  effectiveFrom: Date;
  effectiveTo: Date | null;
  assertiveFrom: Date;
  assertiveTo: Date | null;
  rowsPerMinute: number;
  numberOfCoinsTracked: number;
  numberOfExchangesTracked: number;
  bucketInterval: number;
}

const dateOrNull = (ms: number | null) => (ms === null ? null : new Date(ms));
const msOrNull = (d: Date | null) => (d === null ? null : d.getTime());

export function metadataFromRecord(r: MetadataRecord & { id: number }): MetadataRow {
  return {
    id: r.id,
    effectiveFromMs: r.effectiveFrom.getTime(),
    effectiveToMs: msOrNull(r.effectiveTo),
    assertiveFromMs: r.assertiveFrom.getTime(),
    assertiveToMs: msOrNull(r.assertiveTo),
    rowsPerMinute: r.rowsPerMinute,
    coinsTracked: r.numberOfCoinsTracked,
    exchangesTracked: r.numberOfExchangesTracked,
    bucketIntervalMinutes: r.bucketInterval,
  };
}

export function metadataToRecord(row: MetadataRow): MetadataRecord {
  return {
    effectiveFrom: new Date(row.effectiveFromMs),
    effectiveTo: dateOrNull(row.effectiveToMs),
    assertiveFrom: new Date(row.assertiveFromMs),
    assertiveTo: dateOrNull(row.assertiveToMs),
    rowsPerMinute: row.rowsPerMinute,
    numberOfCoinsTracked: row.coinsTracked,
    numberOfExchangesTracked: row.exchangesTracked,
    bucketInterval: row.bucketIntervalMinutes,
  };
}

/** Stored series, mapped back to exchange ids and bucket open times. */
export function seriesFromRecord(r: { exchange: string; coin: string; bucketInterval: number; first: Date | null; last: Date | null; count: number }): SeriesSummary | undefined {
  const exchange = exchangeIdOf(r.exchange);
  if (exchange === undefined || r.first === null || r.last === null) return undefined;
  const size = r.bucketInterval * MINUTE_MS;
  return { exchange, coin: r.coin, intervalMinutes: r.bucketInterval, firstOpenMs: r.first.getTime() - size, lastOpenMs: r.last.getTime() - size, count: Number(r.count) };
}

export function defined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/** The driver's own error: drizzle wraps it in a DrizzleQueryError whose message is the whole query. */
function driverError(error: unknown): unknown {
  return error instanceof DrizzleQueryError && error.cause !== undefined ? error.cause : error;
}

/** The `code` of a driver error (`ECONNREFUSED`, PostgreSQL's SQLSTATE `3D000`, MySQL's `ER_…`). */
export function errorCode(error: unknown): string | undefined {
  const code = (driverError(error) as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A driver error as one short line: its message, with the code when the message lacks it. Never the query. */
export function describeDriverError(error: unknown): string {
  const inner = driverError(error);
  if (!(inner instanceof Error)) return String(inner);
  const code = errorCode(inner);
  const message = inner.message || inner.name;
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * Per coin, the runs of [fromOpenMs, toOpenMs] outside the saved runs: the complement of
 * `savedRuns`, for `CandleSink.missingRanges`. A coin without runs misses the whole range.
 */
export function missingFromRuns(runs: readonly CoinRun[], coins: readonly string[], intervalMinutes: number, fromOpenMs: number, toOpenMs: number): Map<string, BucketRange[]> {
  const size = intervalMinutes * MINUTE_MS;
  const byCoin = new Map<string, CoinRun[]>(coins.map((c) => [c, []]));
  for (const run of runs) byCoin.get(run.coin)?.push(run);
  const out = new Map<string, BucketRange[]>();
  for (const [coin, list] of byCoin) {
    const missing: BucketRange[] = [];
    let expected = fromOpenMs;
    for (const run of list.sort((a, b) => a.fromOpenMs - b.fromOpenMs)) {
      if (run.toOpenMs < expected) continue;
      if (run.fromOpenMs > toOpenMs) break;
      if (run.fromOpenMs > expected) missing.push({ fromOpenMs: expected, toOpenMs: run.fromOpenMs - size });
      expected = run.toOpenMs + size;
    }
    if (expected <= toOpenMs) missing.push({ fromOpenMs: expected, toOpenMs });
    out.set(coin, missing);
  }
  return out;
}

/** Island rows (`first`/`last` are stored bucket ENDS in epoch ms, maybe as text) to runs of open times. */
export function runsFromIslands(rows: readonly { coin: string; first: number | string | bigint; last: number | string | bigint }[], intervalMinutes: number): CoinRun[] {
  const size = intervalMinutes * MINUTE_MS;
  return rows.map((r) => ({ coin: r.coin, fromOpenMs: Number(r.first) - size, toOpenMs: Number(r.last) - size }));
}

/** A page row as the dialects select it: [timestamp ms, exchange, coin, open, high, low, close, volume]; times may come as text or bigint. */
export type PageTuple = [number | string | bigint, string, string, number, number, number, number, number];

/** Page rows to SavedRows (one series: the interval is the query's). */
export function savedRowsFromTuples(rows: readonly PageTuple[], intervalMinutes: number): SavedRow[] {
  const out = new Array<SavedRow>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = {
      endMs: Math.round(Number(r[0])),
      exchangeName: r[1],
      coin: r[2],
      open: Number(r[3]),
      high: Number(r[4]),
      low: Number(r[5]),
      close: Number(r[6]),
      volume: Number(r[7]),
      intervalMinutes,
    };
  }
  return out;
}

/** Statistics rows (times as epoch ms, maybe as text; counts maybe as text or bigint) to records. */
export function seriesStatsFromRows(rows: readonly { exchange: string; coin: string; first: unknown; last: unknown; n: unknown; filled: unknown }[]): SeriesStatsRecord[] {
  return rows.map((r) => ({
    exchangeName: r.exchange,
    coin: r.coin,
    firstEndMs: Math.round(Number(r.first)),
    lastEndMs: Math.round(Number(r.last)),
    rows: Number(r.n),
    filledRows: Number(r.filled ?? 0),
  }));
}

/** Both ends of a series from the dialect's answer, undefined when the series has no row in the range. */
export function boundsFromRow(row: { first: unknown; last: unknown } | undefined): { firstEndMs: number; lastEndMs: number } | undefined {
  if (row === undefined || row.first === null || row.first === undefined || row.last === null || row.last === undefined) return undefined;
  return { firstEndMs: Math.round(Number(row.first)), lastEndMs: Math.round(Number(row.last)) };
}
