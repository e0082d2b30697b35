/** The CSV layout of SPEC section 5, pure: file names, header, row rendering and parsing. */
import { type Candle, candleEndMs, EXCHANGE_NAMES, type ExchangeId } from "../domain/candle.ts";
import { formatInterval, MINUTE_MS } from "../domain/interval.ts";

export const CSV_HEADER = "TimeStamp,Exchange,Coin,OpenPrice,HighPrice,LowPrice,ClosePrice,Volume,Bucket_Interval";

const DAY_MS = 1440 * MINUTE_MS;
/** The last instant a Date can hold; `toISOString` throws past it. */
const MAX_DATE_MS = 8.64e15;

// The day's ISO text of the last instant formatted: rows come in runs of the same day, so
// `toISOString` runs once a day and the time of day is arithmetic.
let cachedDay = Number.NaN;
let cachedDayText = "";
function dayText(day: number): string {
  if (day !== cachedDay) {
    const iso = new Date(day * DAY_MS).toISOString(); // throws for an invalid time, as before
    cachedDayText = iso.slice(0, iso.indexOf("T"));
    cachedDay = day;
  }
  return cachedDayText;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** `2024-03-08T12:05:00Z` (`toISOString` without `.000` when the time is whole seconds). */
export function isoTimestamp(ms: number): string {
  if (ms % 1000 !== 0 || !(Math.abs(ms) <= MAX_DATE_MS)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  const seconds = (ms - day * DAY_MS) / 1000;
  return `${dayText(day)}T${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}Z`;
}

/** `2024-03-08_binance_5m.csv`: the UTC day of the bucket's open time, the exchange id, the interval. */
export function csvFileName(exchange: ExchangeId, intervalMinutes: number, openTimeMs: number): string {
  return `${dayText(Math.floor(openTimeMs / DAY_MS))}_${exchange}_${formatInterval(intervalMinutes)}.csv`;
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
  return `${isoTimestamp(candleEndMs(c))},${EXCHANGE_NAMES[c.exchange]},${c.coin},${formatNumber(c.open)},${formatNumber(c.high)},${formatNumber(c.low)},${formatNumber(c.close)},${formatNumber(c.volume)},${c.intervalMinutes}`;
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
