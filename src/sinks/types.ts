import type { Candle, ExchangeId, SeriesPosition } from "../domain/candle.ts";
import type { BucketRange } from "../domain/gaps.ts";

import type { CoinInfo } from "../domain/coin.ts";

export type { CoinInfo };

/**
 * Where candles are saved. Every sink is idempotent: writing a candle it already holds changes
 * nothing, so a retried or repeated write never duplicates a row.
 */
export interface CandleSink {
  readonly name: "csv" | "database";
  /** Prepares storage (create folders, connect, migrate, repair a torn CSV line). */
  open(): Promise<void>;
  /** The newest saved bucket of a series, or undefined when it has none. */
  lastSaved(exchange: ExchangeId, coin: string, intervalMinutes: number): Promise<SeriesPosition | undefined>;
  /** Saves candles of any series, in any order; returns how many rows were new. */
  write(candles: readonly Candle[]): Promise<number>;
  /**
   * Per coin, the runs of buckets in [fromOpenMs, toOpenMs] this sink does not hold: what backfill
   * and gap repair fetch. Reads storage in one pass for all the coins of an exchange.
   */
  missingRanges(exchange: ExchangeId, intervalMinutes: number, coins: readonly string[], fromOpenMs: number, toOpenMs: number): Promise<Map<string, BucketRange[]>>;
  /** The open time of the oldest saved bucket of a series (gap repair starts there). */
  firstSaved(exchange: ExchangeId, coin: string, intervalMinutes: number): Promise<number | undefined>;
  /** Records the coins and exchanges being tracked (the database keeps them; CSV ignores them). */
  track?(coins: readonly CoinInfo[], exchanges: readonly ExchangeId[]): Promise<void>;
  close(): Promise<void>;
}
