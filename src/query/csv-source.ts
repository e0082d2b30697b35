/**
 * The query API's reader of the CSV directory: day files one at a time, never a path from a request.
 * The directory is listed and only regular files whose names parse as `YYYY-MM-DD_exchange_interval.csv`
 * for the asked exchange and interval are opened; exchange and coin have passed their patterns before.
 * A line is used only when it is whole (ends in a newline) and valid; a file the sink is appending
 * to is read as far as its last complete line.
 */
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { formatInterval, MINUTE_MS } from "../domain/interval.ts";
import { describeError, SinkError } from "../errors.ts";
import { parseCsvFileName } from "../sinks/csv-format.ts";
import type { Logger } from "../telemetry/log.ts";
import type { SavedRow } from "../domain/saved-row.ts";
import type { CandleSource, SavedSeries } from "./source.ts";

const DAY_MS = 86_400_000;

interface DayFile {
  name: string;
  exchange: string;
  dayMs: number;
}

/** One coin's rows in one day file. TimeStamps are kept as the file writes them; their order is the text's. */
interface CoinTally {
  exchangeName: string;
  first: string;
  last: string;
  rows: number;
  filled: number;
}

interface FileTally {
  mtimeMs: number;
  size: number;
  coins: Map<string, CoinTally>;
}

export interface CsvSourceOptions {
  directory: string;
  logger?: Logger;
}

export function createCsvSource(options: CsvSourceOptions): CandleSource {
  const { directory, logger } = options;
  /** Per day file, what it holds per coin, kept while the file's size and mtime stay the same. */
  const tallies = new Map<string, FileTally>();
  const unreadable = (error: unknown) => new SinkError(`CSV directory ${directory} cannot be read: ${describeError(error)}`, { cause: error });

  /** The regular files of an interval (and exchange), oldest day first. */
  async function dayFiles(intervalMinutes: number, exchange?: string): Promise<DayFile[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return []; // nothing saved yet
      throw unreadable(error);
    }
    const label = formatInterval(intervalMinutes);
    const files: DayFile[] = [];
    for (const entry of entries) {
      if (!entry.isFile()) continue; // no directories, no symbolic links out of the directory
      const parsed = parseCsvFileName(entry.name);
      if (!parsed || parsed.label !== label || (exchange !== undefined && parsed.exchange !== exchange)) continue;
      const dayMs = Date.parse(`${parsed.day}T00:00:00Z`);
      if (Number.isFinite(dayMs) && new Date(dayMs).toISOString().startsWith(parsed.day)) files.push({ name: entry.name, exchange: parsed.exchange, dayMs });
    }
    return files.sort((a, b) => a.dayMs - b.dayMs || (a.exchange < b.exchange ? -1 : a.exchange > b.exchange ? 1 : 0));
  }

  async function readText(name: string): Promise<string | undefined> {
    try {
      return await readFile(join(directory, name), "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined; // replaced or removed meanwhile
      throw unreadable(error);
    }
  }

  async function tally(file: DayFile, intervalMinutes: number): Promise<FileTally | undefined> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(join(directory, file.name));
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw unreadable(error);
    }
    const cached = tallies.get(file.name);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const text = await readText(file.name);
    if (text === undefined) return undefined;
    const counted: FileTally = { mtimeMs: info.mtimeMs, size: info.size, coins: tallyText(text, intervalMinutes) };
    tallies.set(file.name, counted);
    return counted;
  }

  /** Concurrent listings of one interval share one pass over the files. */
  const listing = new Map<number, Promise<SavedSeries[]>>();

  async function listSeries(intervalMinutes: number): Promise<SavedSeries[]> {
    const bySeries = new Map<string, { exchange: string; exchangeName: string; coin: string; first: string; last: string; rows: number; filled: number }>();
    const files = await dayFiles(intervalMinutes);
    const present = new Set(files.map((f) => f.name));
    for (const name of tallies.keys()) if (!present.has(name) && parseCsvFileName(name)?.label === formatInterval(intervalMinutes)) tallies.delete(name);
    for (const file of files) {
      const counted = await tally(file, intervalMinutes);
      if (!counted) continue;
      for (const [coin, t] of counted.coins) {
        const key = `${file.exchange}|${coin}`;
        const s = bySeries.get(key);
        if (!s) {
          bySeries.set(key, { exchange: file.exchange, exchangeName: t.exchangeName, coin, first: t.first, last: t.last, rows: t.rows, filled: t.filled });
          continue;
        }
        // Files come oldest first: the first file of a coin holds its first row.
        s.last = t.last;
        s.rows += t.rows;
        s.filled += t.filled;
      }
    }
    const out: SavedSeries[] = [];
    for (const s of bySeries.values()) {
      const firstEndMs = parseTimestamp(s.first);
      const lastEndMs = parseTimestamp(s.last);
      if (firstEndMs === undefined || lastEndMs === undefined) continue;
      out.push({ exchange: s.exchange, exchangeName: s.exchangeName, coin: s.coin, intervalMinutes, firstEndMs, lastEndMs, rows: s.rows, filledRows: s.filled });
    }
    return out.sort((a, b) => compareText(a.exchange, b.exchange) || compareText(a.coin, b.coin));
  }

  return {
    kind: "csv",

    series(intervalMinutes) {
      let pending = listing.get(intervalMinutes);
      if (!pending) {
        pending = listSeries(intervalMinutes).finally(() => listing.delete(intervalMinutes));
        listing.set(intervalMinutes, pending);
      }
      return pending;
    },

    async bounds(key) {
      const files = await dayFiles(key.intervalMinutes, key.exchange);
      let first: string | undefined;
      let last: string | undefined;
      for (const file of files) {
        const t = (await tally(file, key.intervalMinutes))?.coins.get(key.coin);
        if (t) {
          first = t.first;
          break;
        }
      }
      if (first === undefined) return undefined;
      for (const file of [...files].reverse()) {
        const t = (await tally(file, key.intervalMinutes))?.coins.get(key.coin);
        if (t) {
          last = t.last;
          break;
        }
      }
      const firstEndMs = parseTimestamp(first);
      const lastEndMs = last === undefined ? undefined : parseTimestamp(last);
      return firstEndMs === undefined || lastEndMs === undefined ? undefined : { firstEndMs, lastEndMs };
    },

    async *rows(key, afterEndMs, toEndMs, maxRows) {
      const size = key.intervalMinutes * MINUTE_MS;
      let lastEndMs = afterEndMs;
      let left = maxRows;
      for (const file of await dayFiles(key.intervalMinutes, key.exchange)) {
        if (left <= 0) return;
        // The file holds buckets opening on its day: TimeStamps in [day + size, day + 1 day + size).
        if (file.dayMs + DAY_MS + size - 1 <= lastEndMs) continue;
        if (file.dayMs + size > toEndMs) return;
        const text = await readText(file.name);
        if (text === undefined) continue;
        const found = coinRows(text, key.coin, key.intervalMinutes);
        if (found.invalid > 0) logger?.warn("CSV lines that are not valid rows were skipped", { file: join(directory, file.name), coin: key.coin, lines: found.invalid });
        const rows = found.rows;
        if (!isAscending(rows)) rows.sort((a, b) => a.endMs - b.endMs);
        const chunk: SavedRow[] = [];
        for (const r of rows) {
          if (r.endMs <= lastEndMs) continue; // also drops a repeated TimeStamp
          if (r.endMs > toEndMs || left <= 0) break;
          chunk.push(r);
          lastEndMs = r.endMs;
          left--;
        }
        if (chunk.length > 0) yield chunk;
      }
    },

    async close() {
      tallies.clear();
    },
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isAscending(rows: readonly SavedRow[]): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i]!.endMs <= rows[i - 1]!.endMs) return false;
  return true;
}

/** Offsets of a line's eight commas, or undefined when it does not have exactly nine fields. */
function commas(text: string, start: number, end: number, into: Int32Array): boolean {
  let at = start - 1;
  for (let i = 0; i < 8; i++) {
    at = text.indexOf(",", at + 1);
    if (at < 0 || at >= end) return false;
    into[i] = at;
  }
  const extra = text.indexOf(",", at + 1);
  return extra < 0 || extra >= end;
}

const COIN_FIELD = /^[A-Z0-9]{1,20}$/;
const NUMBER_FIELD = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function numberField(text: string, from: number, to: number): number | undefined {
  const field = text.slice(from, to);
  if (!NUMBER_FIELD.test(field)) return undefined;
  return Number(field);
}

/** Each coin's tally in one file's text (only whole lines of nine fields with a ticker and a TimeStamp count). */
function tallyText(text: string, intervalMinutes: number): Map<string, CoinTally> {
  const coins = new Map<string, CoinTally>();
  const at = new Int32Array(8);
  const interval = String(intervalMinutes);
  let start = 0;
  for (;;) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) break; // a last line without its newline is still being written (or torn)
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    if (end > start && commas(text, start, end, at) && text.slice(at[7]! + 1, end) === interval) {
      const coin = text.slice(at[1]! + 1, at[2]!);
      const stamp = text.slice(start, at[0]!);
      if (COIN_FIELD.test(coin) && parseTimestamp(stamp) !== undefined) {
        const open = text.slice(at[2]! + 1, at[3]!);
        const filled =
          text.slice(at[6]! + 1, at[7]!) === "0" && open === text.slice(at[3]! + 1, at[4]!) && open === text.slice(at[4]! + 1, at[5]!) && open === text.slice(at[5]! + 1, at[6]!);
        const t = coins.get(coin);
        if (t) {
          t.last = stamp;
          t.rows++;
          if (filled) t.filled++;
        } else {
          coins.set(coin, { exchangeName: text.slice(at[0]! + 1, at[1]!), first: stamp, last: stamp, rows: 1, filled: filled ? 1 : 0 });
        }
      }
    }
    start = nl + 1;
  }
  return coins;
}

/**
 * One coin's rows in one file's text. Lines of other coins are skipped by searching for `,COIN,`
 * and checking it is the third field, so a file of thirty coins costs about one coin's parsing.
 */
function coinRows(text: string, coin: string, intervalMinutes: number): { rows: SavedRow[]; invalid: number } {
  const rows: SavedRow[] = [];
  let invalid = 0;
  const needle = `,${coin},`;
  const at = new Int32Array(8);
  const size = intervalMinutes * MINUTE_MS;
  let from = 0;
  for (;;) {
    const hit = text.indexOf(needle, from);
    if (hit < 0) break;
    const start = text.lastIndexOf("\n", hit) + 1;
    const nl = text.indexOf("\n", hit);
    if (nl < 0) break; // the last line is not whole yet
    from = nl + 1;
    const first = text.indexOf(",", start);
    if (first >= hit || text.indexOf(",", first + 1) !== hit) {
      // `,COIN,` elsewhere in a line of another coin; look again after that spot.
      from = hit + 1;
      continue;
    }
    const end = text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    const row = commas(text, start, end, at) ? parseRow(text, start, end, at, intervalMinutes) : undefined;
    if (row === undefined || row.endMs % size !== 0) invalid++;
    else rows.push(row);
  }
  return { rows, invalid };
}

function parseRow(text: string, start: number, end: number, at: Int32Array, intervalMinutes: number): SavedRow | undefined {
  const endMs = parseTimestamp(text.slice(start, at[0]!));
  if (endMs === undefined) return undefined;
  if (text.slice(at[7]! + 1, end) !== String(intervalMinutes)) return undefined;
  const open = numberField(text, at[2]! + 1, at[3]!);
  const high = numberField(text, at[3]! + 1, at[4]!);
  const low = numberField(text, at[4]! + 1, at[5]!);
  const close = numberField(text, at[5]! + 1, at[6]!);
  const volume = numberField(text, at[6]! + 1, at[7]!);
  if (open === undefined || high === undefined || low === undefined || close === undefined || volume === undefined) return undefined;
  const name = text.slice(at[0]! + 1, at[1]!);
  if (name === "") return undefined;
  return { endMs, exchangeName: name, coin: text.slice(at[1]! + 1, at[2]!), open, high, low, close, volume, intervalMinutes };
}

let cachedDay = "";
let cachedDayMs = Number.NaN;

/** A TimeStamp as the files write it (`2024-03-08T12:45:00Z`, or with milliseconds) to epoch ms. */
export function parseTimestamp(text: string): number | undefined {
  if (text.length === 20 && text.charCodeAt(10) === 84 && text.charCodeAt(19) === 90 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
    const day = text.slice(0, 10);
    if (day !== cachedDay) {
      const ms = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
      if (!Number.isFinite(ms) || !new Date(ms).toISOString().startsWith(day)) return undefined;
      cachedDay = day;
      cachedDayMs = ms;
    }
    const h = twoDigits(text, 11);
    const m = twoDigits(text, 14);
    const s = twoDigits(text, 17);
    if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59) return undefined;
    return cachedDayMs + h * 3_600_000 + m * 60_000 + s * 1000;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}
