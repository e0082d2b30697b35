import { MINUTE_MS } from "./interval.ts";

/**
 * An exchange id: lowercase, a key of the native registry (`binance`) or a ccxt exchange id (`okx`).
 * Its display name (the `Exchange` column) comes from `src/exchanges/names.ts`.
 */
export type ExchangeId = string;

/** A candle of some interval as an exchange reported it, already mapped from the wire (base volume). */
export interface RawCandle {
  openTimeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Traded volume in the base asset (the coin). */
  volume: number;
}

/** The normalised candle of one bucket, as saved. */
export interface Candle extends RawCandle {
  exchange: ExchangeId;
  /** Common ticker: BTC, never XBT. */
  coin: string;
  intervalMinutes: number;
  /** True when the bucket had no trades and was fed forward from the previous close. */
  filled: boolean;
}

/** The bucket's end: what the `TimeStamp` column shows. */
export function candleEndMs(candle: Pick<Candle, "openTimeMs" | "intervalMinutes">): number {
  return candle.openTimeMs + candle.intervalMinutes * MINUTE_MS;
}

/** The last candle a sink holds for a series: where to resume, and the close to feed forward. */
export interface SeriesPosition {
  openTimeMs: number;
  close: number;
}
