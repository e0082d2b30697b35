/**
 * Where the query API reads saved candles: the store the service writes to (the database in
 * database mode, else the CSV files), behind one interface so both give the same answers.
 */
import type { Config } from "../config/config.ts";
import type { Logger } from "../telemetry/log.ts";
import { createCsvSource } from "./csv-source.ts";
import { createDatabaseSource } from "./database-source.ts";
import type { SavedRow } from "../domain/saved-row.ts";

export interface SeriesKey {
  /** Exchange id (`binance`): CSV file names carry it; the database stores the display name. */
  exchange: string;
  coin: string;
  intervalMinutes: number;
}

/** A saved series with its statistics; times are TimeStamps (bucket ends). */
export interface SavedSeries {
  exchange: string;
  exchangeName: string;
  coin: string;
  intervalMinutes: number;
  firstEndMs: number;
  lastEndMs: number;
  rows: number;
  filledRows: number;
}

export interface CandleSource {
  readonly kind: "csv" | "database";
  /** Every saved series of the interval, with its first and last bucket, rows and filled rows. */
  series(intervalMinutes: number): Promise<SavedSeries[]>;
  /** The first and last TimeStamp of one series, or undefined when nothing of it is saved. */
  bounds(key: SeriesKey): Promise<{ firstEndMs: number; lastEndMs: number } | undefined>;
  /**
   * The rows of one series with TimeStamp in (afterEndMs, toEndMs], oldest first, strictly increasing,
   * at most `maxRows` in all, in chunks (a page of the database, a day file): never the whole range
   * in memory at once.
   */
  rows(key: SeriesKey, afterEndMs: number, toEndMs: number, maxRows: number): AsyncIterable<SavedRow[]>;
  close(): Promise<void>;
}

export interface SourceOptions {
  logger?: Logger;
  /** How long the database's series statistics (a scan of the interval's rows) are reused. */
  seriesCacheMs?: number;
}

/** The store the config writes to: the database when `save_to_database`, else the CSV files. Nothing is opened yet. */
export function createCandleSource(config: Pick<Config, "saveToDatabase" | "databaseUrl" | "csvDirectory">, options: SourceOptions = {}): CandleSource {
  if (config.saveToDatabase && config.databaseUrl) return createDatabaseSource({ url: config.databaseUrl, ...options });
  return createCsvSource({ directory: config.csvDirectory, logger: options.logger });
}
