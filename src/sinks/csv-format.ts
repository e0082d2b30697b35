/** The CSV layout of SPEC section 5, pure: file names, header, row rendering and parsing. */
import { type Candle, candleEndMs, type ExchangeId } from "../domain/candle.ts";
import { exchangeName } from "../exchanges/names.ts";
import { type AsciiWriter, createAsciiWriter, writeShortDecimal } from "../ascii-writer.ts";
import { formatInterval, MINUTE_MS } from "../domain/interval.ts";
import type { SavedRow } from "../domain/saved-row.ts";

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

const FILE_PATTERN = /^(\d{4}-\d{2}-\d{2})_([a-z0-9]+)_(\d+[mhd])\.csv$/;

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
  return `${isoTimestamp(candleEndMs(c))},${exchangeName(c.exchange)},${c.coin},${formatNumber(c.open)},${formatNumber(c.high)},${formatNumber(c.low)},${formatNumber(c.close)},${formatNumber(c.volume)},${c.intervalMinutes}`;
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

/*
 * Rows rendered straight into bytes. A backfill renders every row it saves, and as strings a row was
 * some twenty small pieces that `join` then had to copy together: about 1.8 µs a row, the largest
 * cost of saving a page. Written into one growing byte buffer it is a fraction of that. The text is
 * exactly `renderRow`'s (tests/sinks/csv-bytes.test.ts compares them).
 */

const encoder = new TextEncoder();
const COMMA = 44;

/** `prefix` (ASCII), then `renderRow(c)` and a newline for each candle, as bytes. */
export function renderRowBytes(candles: readonly Candle[], prefix = "", initialBytes = candles.length * 100 + prefix.length + 64): Uint8Array {
  const w = createAsciiWriter(initialBytes);
  const rows = new RowTextWriter(w);
  w.text(prefix);
  for (const c of candles) rows.csvRow(candleEndMs(c), exchangeName(c.exchange), c.coin, c.open, c.high, c.low, c.close, c.volume, c.intervalMinutes);
  return w.bytes();
}

/** `prefix` (ASCII), then each saved row as the CSV files hold it (`renderRow`'s text) and a newline, as bytes. */
export function renderSavedRowBytes(rows: readonly SavedRow[], prefix = ""): Uint8Array {
  const w = createAsciiWriter(rows.length * 100 + prefix.length + 64);
  const text = new RowTextWriter(w);
  w.text(prefix);
  for (const r of rows) text.csvRow(r.endMs, r.exchangeName, r.coin, r.open, r.high, r.low, r.close, r.volume, r.intervalMinutes);
  return w.bytes();
}

/**
 * The pieces of a row written into bytes as the CSV files write them: the TimeStamp (the day's text
 * once a day, the time of day from digits), names encoded once, numbers as `formatNumber` writes them.
 */
export class RowTextWriter {
  private day = Number.NaN;
  private dayBytes = new Uint8Array(0);
  private readonly names = new Map<string, Uint8Array>();

  constructor(readonly w: AsciiWriter) {}

  /** `text` as UTF-8, encoded once per writer. */
  encoded(text: string): Uint8Array {
    let bytes = this.names.get(text);
    if (!bytes) this.names.set(text, (bytes = encoder.encode(text)));
    return bytes;
  }

  /** As `isoTimestamp(ms)` writes it. */
  timestamp(ms: number): void {
    const w = this.w;
    if (ms % 1000 !== 0 || !(Math.abs(ms) <= MAX_DATE_MS)) {
      w.text(new Date(ms).toISOString());
      return;
    }
    const d = Math.floor(ms / DAY_MS);
    if (d !== this.day) {
      this.day = d;
      this.dayBytes = encoder.encode(dayText(d));
    }
    w.raw(this.dayBytes);
    const seconds = (ms - d * DAY_MS) / 1000;
    w.byte(84); // T
    w.padded(Math.floor(seconds / 3600), 2);
    w.byte(58); // :
    w.padded(Math.floor(seconds / 60) % 60, 2);
    w.byte(58); // :
    w.padded(seconds % 60, 2);
    w.byte(90); // Z
  }

  /** As `formatNumber(value)` writes it (from its digits where that is the shortest text). */
  number(value: number): void {
    writeShortDecimal(this.w, value, formatNumber);
  }

  /** As `String(value)` writes a whole number of minutes. */
  minutes(value: number): void {
    if (Number.isSafeInteger(value) && value >= 0) this.w.int(value);
    else this.w.text(String(value));
  }

  /** One CSV line and its newline. */
  csvRow(endMs: number, exchange: string, coin: string, open: number, high: number, low: number, close: number, volume: number, intervalMinutes: number): void {
    const w = this.w;
    this.timestamp(endMs);
    w.byte(COMMA);
    w.raw(this.encoded(exchange));
    w.byte(COMMA);
    w.raw(this.encoded(coin));
    w.byte(COMMA);
    this.number(open);
    w.byte(COMMA);
    this.number(high);
    w.byte(COMMA);
    this.number(low);
    w.byte(COMMA);
    this.number(close);
    w.byte(COMMA);
    this.number(volume);
    w.byte(COMMA);
    this.minutes(intervalMinutes);
    w.byte(10);
  }
}

/**
 * The rows in file order (time, then coin), the first of any repeated key kept. The times of one
 * file's rows lie on its interval's grid, so each row has a cell (time slot × coins + the coin's
 * rank) in a table that is read in order: no comparisons, no map entry per row, which a backfill's
 * thousands of rows per file made the largest cost of saving after rendering. Rows off the grid, or
 * too sparse for a table of a few cells per row, are sorted with `compareRows` (stable).
 */
export function fileOrder<R extends { openTimeMs: number; coin: string }>(rows: readonly R[], sizeMs: number): R[] {
  const n = rows.length;
  if (n === 0) return [];
  // Coins in order, each with its rank; runs of one coin need one lookup.
  const seen = new Map<string, number>();
  let minT = Number.POSITIVE_INFINITY;
  let maxT = Number.NEGATIVE_INFINITY;
  let lastCoin: string | undefined;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r.coin !== lastCoin) {
      lastCoin = r.coin;
      if (!seen.has(r.coin)) seen.set(r.coin, 0);
    }
    const t = r.openTimeMs;
    if (t < minT) minT = t;
    if (t > maxT) maxT = t;
  }
  const coins = [...seen.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 0; i < coins.length; i++) seen.set(coins[i]!, i);
  const slots = (maxT - minT) / sizeMs + 1;
  const cells = slots * coins.length;
  const onGrid = Number.isSafeInteger(minT) && Number.isSafeInteger(maxT) && sizeMs > 0 && Number.isInteger(slots) && cells <= 4 * n + 65_536;
  if (onGrid) {
    const table = new Int32Array(cells).fill(-1);
    let ok = true;
    let rank = 0;
    lastCoin = undefined;
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      if (r.coin !== lastCoin) {
        lastCoin = r.coin;
        rank = seen.get(r.coin)!;
      }
      const slot = (r.openTimeMs - minT) / sizeMs;
      if (!Number.isInteger(slot)) {
        ok = false;
        break;
      }
      const cell = slot * coins.length + rank;
      if (table[cell]! < 0) table[cell] = i;
    }
    if (ok) {
      const out: R[] = [];
      for (let c = 0; c < cells; c++) {
        const i = table[c]!;
        if (i >= 0) out.push(rows[i]!);
      }
      return out;
    }
  }
  const sorted = [...rows].sort(compareRows);
  return sorted.filter((r, i) => i === 0 || compareRows(r, sorted[i - 1]!) !== 0);
}
