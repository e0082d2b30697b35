/** The CSV layout of SPEC section 5, pure: file names, header, row rendering and parsing. */
import { type Candle, candleEndMs, EXCHANGE_NAMES, type ExchangeId } from "../domain/candle.ts";
import { shortDecimalDigits } from "../domain/decimal.ts";
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

/*
 * Rows rendered straight into bytes. A backfill renders every row it saves, and as strings a row was
 * some twenty small pieces that `join` then had to copy together: about 1.8 µs a row, the largest
 * cost of saving a page. Written into one growing byte buffer it is a fraction of that. The text is
 * exactly `renderRow`'s (tests/sinks/csv-bytes.test.ts compares them).
 */

const encoder = new TextEncoder();

/** A growing byte buffer of CSV text. */
export class CsvBytes {
  private buf: Uint8Array;
  private pos = 0;
  private readonly names = new Map<string, Uint8Array>();
  private dayCache = Number.NaN;
  private dayBytes = new Uint8Array(0);

  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Any text (UTF-8). */
  text(s: string): void {
    this.ensure(s.length * 3);
    this.pos += encoder.encodeInto(s, this.buf.subarray(this.pos)).written;
  }

  private cached(s: string): Uint8Array {
    let b = this.names.get(s);
    if (!b) this.names.set(s, (b = encoder.encode(s)));
    return b;
  }

  private raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** `renderRow(c)` followed by a newline. */
  row(c: Candle): void {
    const name = this.cached(EXCHANGE_NAMES[c.exchange]);
    const coin = this.cached(c.coin);
    this.ensure(64 + name.length + coin.length + 5 * 48);
    this.timestamp(candleEndMs(c));
    this.buf[this.pos++] = COMMA_BYTE;
    this.raw(name);
    this.buf[this.pos++] = COMMA_BYTE;
    this.raw(coin);
    this.commaNumber(c.open);
    this.commaNumber(c.high);
    this.commaNumber(c.low);
    this.commaNumber(c.close);
    this.commaNumber(c.volume);
    this.buf[this.pos++] = COMMA_BYTE;
    this.digits(c.intervalMinutes);
    this.buf[this.pos++] = NEWLINE_BYTE;
  }

  private commaNumber(value: number): void {
    this.buf[this.pos++] = COMMA_BYTE;
    this.number(value);
  }

  private ascii(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  private timestamp(ms: number): void {
    if (ms % 1000 !== 0 || !(Math.abs(ms) <= MAX_DATE_MS)) {
      this.ascii(new Date(ms).toISOString());
      return;
    }
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.dayCache) {
      this.dayBytes = encoder.encode(dayText(day));
      this.dayCache = day;
    }
    this.raw(this.dayBytes);
    const seconds = (ms - day * DAY_MS) / 1000;
    const buf = this.buf;
    let p = this.pos;
    const h = Math.floor(seconds / 3600);
    const m = Math.floor(seconds / 60) % 60;
    const s = seconds % 60;
    buf[p++] = 84; // T
    buf[p++] = 48 + Math.floor(h / 10);
    buf[p++] = 48 + (h % 10);
    buf[p++] = 58; // :
    buf[p++] = 48 + Math.floor(m / 10);
    buf[p++] = 48 + (m % 10);
    buf[p++] = 58;
    buf[p++] = 48 + Math.floor(s / 10);
    buf[p++] = 48 + (s % 10);
    buf[p++] = 90; // Z
    this.pos = p;
  }

  /**
   * `formatNumber(value)`. A value that is a decimal of at most 8 places and 15 digits, and at least
   * 1e-6 (where JavaScript's own text has no exponent), is written from its digits: that decimal is
   * the one text of 15 or fewer significant digits that reads as this double, so it is the shortest
   * text that round-trips, which is what `String` and `formatNumber` give. Anything else takes
   * `formatNumber`.
   */
  private number(value: number): void {
    if (value === 0) {
      this.buf[this.pos++] = 48;
      return;
    }
    const a = value < 0 ? -value : value;
    const scaled = a >= 1e-6 ? shortDecimalDigits(a) : -1;
    if (scaled < 0) {
      this.ascii(formatNumber(value));
      return;
    }
    const buf = this.buf;
    if (value < 0) buf[this.pos++] = 45;
    // Both parts fit 32 bits: the whole part is below 10^7, the fraction below 10^8.
    const whole = Math.floor(scaled / 1e8) | 0;
    let frac = (scaled - whole * 1e8) | 0;
    this.digits(whole);
    if (frac === 0) return;
    let places = 8;
    for (let q = (frac / 10) | 0; frac === q * 10; q = (frac / 10) | 0) {
      frac = q;
      places--;
    }
    const p = this.pos;
    buf[p] = 46; // .
    for (let i = p + places; i > p; i--) {
      const q = (frac / 10) | 0;
      buf[i] = 48 + frac - q * 10;
      frac = q;
    }
    this.pos = p + places + 1;
  }

  /** A non-negative integer's digits (anything else as `String` writes it). */
  private digits(n: number): void {
    if (!(n >= 0 && n <= 0x7fffffff && n === Math.floor(n))) {
      this.ascii(String(n));
      return;
    }
    const buf = this.buf;
    let len = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) len++;
    const p = this.pos;
    for (let i = p + len - 1; i >= p; i--) {
      const q = (n / 10) | 0;
      buf[i] = 48 + n - q * 10;
      n = q;
    }
    this.pos = p + len;
  }
}

const COMMA_BYTE = 44;
const NEWLINE_BYTE = 10;

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
