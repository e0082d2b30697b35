/**
 * A saved row as the query API reads it back from either store: the columns of SPEC section 4, with
 * the TimeStamp (the bucket's END) in epoch milliseconds and the Exchange column's own text.
 */

/** The column names, in SPEC order: what every answer of the query API and `export` carries. */
export const COLUMNS = ["TimeStamp", "Exchange", "Coin", "OpenPrice", "HighPrice", "LowPrice", "ClosePrice", "Volume", "Bucket_Interval"] as const;

export interface SavedRow {
  /** TimeStamp: the bucket's end (open time + interval), epoch ms UTC. */
  endMs: number;
  /** The Exchange column as stored (`Binance`, `OKX`). */
  exchangeName: string;
  coin: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  intervalMinutes: number;
}

/** One saved series' statistics as a store counts them (times are TimeStamps: bucket ends). */
export interface SeriesStatsRecord {
  exchangeName: string;
  coin: string;
  firstEndMs: number;
  lastEndMs: number;
  rows: number;
  /** Rows fed forward (no trades): the database's `filled` column; in CSV, volume 0 with open = high = low = close. */
  filledRows: number;
}

/** Earliest and latest instants the stores can be asked about: 1970 to the end of year 9999 (MySQL's datetime). */
export const MIN_QUERY_MS = 0;
export const MAX_QUERY_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function clampQueryMs(ms: number): number {
  return Math.min(MAX_QUERY_MS, Math.max(MIN_QUERY_MS, ms));
}
