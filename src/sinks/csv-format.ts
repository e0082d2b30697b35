/** The CSV layout of SPEC section 5, pure: file names, header, row rendering and parsing. */
import { type Candle, candleEndMs, EXCHANGE_NAMES, type ExchangeId } from "../domain/candle.ts";
import { formatInterval, MINUTE_MS } from "../domain/interval.ts";

export const CSV_HEADER = "TimeStamp,Exchange,Coin,OpenPrice,HighPrice,LowPrice,ClosePrice,Volume,Bucket_Interval";

const DAY_MS = 1440 * MINUTE_MS;

/** `2024-03-08_binance_5m.csv`: the UTC day of the bucket's open time, the exchange id, the interval. */
export function csvFileName(exchange: ExchangeId, intervalMinutes: number, openTimeMs: number): string {
  const day = new Date(Math.floor(openTimeMs / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
  return `${day}_${exchange}_${formatInterval(intervalMinutes)}.csv`;
}

const FILE_PATTERN = /^(\d{4}-\d{2}-\d{2})_([a-z]+)_(\d+[mhd])\.csv$/;

export function parseCsvFileName(name: string): { day: string; exchange: string; label: string } | undefined {
  const m = FILE_PATTERN.exec(name);
  return m ? { day: m[1]!, exchange: m[2]!, label: m[3]! } : undefined;
}

/** Numbers without float noise from sums (`0.30000000000000004` → `0.3`), never in exponent form. */
export function formatNumber(value: number): string {
  // Fast path: a short shortest-round-trip text has at most 15 significant digits, so it is already clean.
  const plain = String(value);
  if (plain.length <= 15 && !plain.includes("e")) return plain;
  const clean = Number(value.toPrecision(15));
  const text = String(clean);
  if (!text.includes("e")) return text;
  return clean.toFixed(20).replace(/\.?0+$/, "");
}

export function renderRow(c: Candle): string {
  return [
    new Date(candleEndMs(c)).toISOString().replace(".000Z", "Z"),
    EXCHANGE_NAMES[c.exchange],
    c.coin,
    formatNumber(c.open),
    formatNumber(c.high),
    formatNumber(c.low),
    formatNumber(c.close),
    formatNumber(c.volume),
    String(c.intervalMinutes),
  ].join(",");
}

export interface CsvRow {
  /** Bucket open time (TimeStamp minus the interval). */
  openTimeMs: number;
  coin: string;
  close: number;
  line: string;
}

/** Parses one data line; undefined for anything that is not a complete row of ours. */
export function parseRow(line: string): CsvRow | undefined {
  const f = line.split(",");
  if (f.length !== 9) return undefined;
  const endMs = Date.parse(f[0]!);
  const interval = Number(f[8]);
  const close = Number(f[6]);
  if (!Number.isFinite(endMs) || !Number.isInteger(interval) || interval < 1 || !Number.isFinite(close) || !f[2]) return undefined;
  return { openTimeMs: endMs - interval * MINUTE_MS, coin: f[2], close, line };
}

/** Row order within a file: by TimeStamp, then Coin. */
export function compareRows(a: { openTimeMs: number; coin: string }, b: { openTimeMs: number; coin: string }): number {
  return a.openTimeMs - b.openTimeMs || (a.coin < b.coin ? -1 : a.coin > b.coin ? 1 : 0);
}
