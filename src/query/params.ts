/**
 * The parameters of a candles query (`/api/candles` and `cryptointellect export`), checked before
 * anything touches a store: exchange and coin by pattern, never as paths. Pure: text in, a query or
 * the name of the parameter that is wrong out.
 */
import { MAX_INTERVAL_MINUTES, MINUTE_MS, parseInterval } from "../domain/interval.ts";
import { decodeCursor, seriesKeyText } from "./cursor.ts";
import { clampQueryMs, MAX_QUERY_MS, MIN_QUERY_MS } from "../domain/saved-row.ts";

export type AnswerFormat = "json" | "csv" | "parquet";
export const FORMATS: readonly AnswerFormat[] = ["json", "csv", "parquet"];

/** Rows per JSON page: the default and the most one page may ask for. */
export const JSON_DEFAULT_LIMIT = 1000;
export const JSON_MAX_LIMIT = 100_000;
/** Rows per CSV or Parquet answer of the API: the default and the most (a longer range pages on). */
export const FILE_MAX_LIMIT = 1_000_000;

export const EXCHANGE_PATTERN = /^[a-z0-9]{1,40}$/;
/** A coin ticker as the collector saves it (src/collector/service.ts keeps only these). */
export const COIN_PATTERN = /^[A-Z0-9]{1,20}$/;

export interface CandleQuery {
  /** Exchange id (`binance`, `okx`). */
  exchange: string;
  coin: string;
  intervalMinutes: number;
  /** Inclusive bounds on the TimeStamp (bucket end), epoch ms; undefined: unbounded. */
  fromEndMs: number | undefined;
  toEndMs: number | undefined;
  /** From a cursor: only rows with a TimeStamp after this one. */
  afterEndMs: number | undefined;
  /** Most rows in the answer; Infinity for `export` (everything in the range). */
  limit: number;
  format: AnswerFormat;
}

export type QueryParse = { ok: true; query: CandleQuery } | { ok: false; parameter: string; error: string };

export const QUERY_PARAMETERS = ["exchange", "coin", "interval", "from", "to", "limit", "cursor", "format"] as const;

export interface QueryOptions {
  /** The interval when none is given: the configured one. */
  defaultIntervalMinutes: number;
  /** `export`: no row limit, no cursor. */
  unlimited?: boolean;
}

/**
 * Reads a candles query from named values (each parameter at most once). Unknown parameters are
 * refused, so a typo (`form=`) is an error rather than a silently wider answer.
 */
export function parseCandleQuery(values: ReadonlyMap<string, readonly string[]>, options: QueryOptions): QueryParse {
  const fail = (parameter: string, error: string): QueryParse => ({ ok: false, parameter, error });
  for (const [name, list] of values) {
    if (!(QUERY_PARAMETERS as readonly string[]).includes(name)) return fail(name, `unknown parameter "${printable(name)}" (known: ${QUERY_PARAMETERS.join(", ")})`);
    if (list.length > 1) return fail(name, `"${name}" is given ${list.length} times`);
  }
  const get = (name: string) => values.get(name)?.[0];

  const formatText = get("format") ?? "json";
  const format = FORMATS.find((f) => f === formatText.toLowerCase());
  if (!format) return fail("format", `"${printable(formatText)}" is not a format: json, csv or parquet`);

  const exchangeText = get("exchange");
  if (exchangeText === undefined || exchangeText === "") return fail("exchange", "is required: an exchange id such as binance or okx");
  const exchange = exchangeText.toLowerCase();
  if (!EXCHANGE_PATTERN.test(exchange)) return fail("exchange", `"${printable(exchangeText)}" is not an exchange id (letters and digits, such as binance or okx)`);

  const coinText = get("coin");
  if (coinText === undefined || coinText === "") return fail("coin", "is required: a coin ticker such as BTC");
  const coin = coinText.toUpperCase();
  if (!COIN_PATTERN.test(coin)) return fail("coin", `"${printable(coinText)}" is not a coin ticker (letters and digits, such as BTC)`);

  let intervalMinutes = options.defaultIntervalMinutes;
  const intervalText = get("interval");
  if (intervalText !== undefined) {
    const minutes = parseIntervalParameter(intervalText);
    if (typeof minutes === "string") return fail("interval", minutes);
    intervalMinutes = minutes;
  }

  let fromEndMs: number | undefined;
  let toEndMs: number | undefined;
  for (const name of ["from", "to"] as const) {
    const text = get(name);
    if (text === undefined) continue;
    const ms = parseInstant(text);
    if (ms === undefined) return fail(name, `"${printable(text)}" is not a date: write YYYY-MM-DD (midnight UTC) or ISO 8601 (2024-03-08T12:45:00Z)`);
    if (name === "from") fromEndMs = ms;
    else toEndMs = ms;
  }
  if (fromEndMs !== undefined && toEndMs !== undefined && toEndMs < fromEndMs) return fail("to", "is before from");

  let limit = options.unlimited ? Number.POSITIVE_INFINITY : format === "json" ? JSON_DEFAULT_LIMIT : FILE_MAX_LIMIT;
  const limitText = get("limit");
  if (limitText !== undefined) {
    const max = options.unlimited ? Number.MAX_SAFE_INTEGER : format === "json" ? JSON_MAX_LIMIT : FILE_MAX_LIMIT;
    const n = /^\d{1,16}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(n >= 1 && n <= max))
      return fail("limit", `"${printable(limitText)}" is not a row count from 1 to ${max}${format === "json" ? " (JSON pages; csv and parquet answers take up to 1000000)" : ""}`);
    limit = n;
  }

  let afterEndMs: number | undefined;
  const cursorText = get("cursor");
  if (cursorText !== undefined) {
    const position = decodeCursor(cursorText);
    if (!position) return fail("cursor", "is not a cursor of this API: pass the `next` of the previous page as it was given");
    if (position.series !== seriesKeyText(exchange, coin, intervalMinutes))
      return fail("cursor", "belongs to another series: keep exchange, coin and interval as they were for the first page");
    afterEndMs = position.afterEndMs;
  }
  return { ok: true, query: { exchange, coin, intervalMinutes, fromEndMs, toEndMs, afterEndMs, limit, format } };
}

/** `5m`, `1h`, `1d` or a bare number of minutes; an error text otherwise. */
export function parseIntervalParameter(text: string): number | string {
  if (/^\d{1,7}$/.test(text)) {
    const minutes = Number(text);
    if (minutes >= 1 && minutes <= MAX_INTERVAL_MINUTES) return minutes;
    return `"${text}" is not an interval from 1 minute to ${MAX_INTERVAL_MINUTES / 1440} days`;
  }
  if (!/^\d{1,7}[mhdMHD]$/.test(text)) return `"${printable(text)}" is not an interval: a number of minutes, or a number and m, h or d (5m, 1h, 1d)`;
  const parsed = parseInterval(text);
  return parsed.ok ? parsed.minutes : parsed.error;
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+\- ]\d{2}:?\d{2})?)?$/;

/**
 * `YYYY-MM-DD` (midnight UTC) or ISO 8601 (`2024-03-08T12:45:00Z`; without a zone, UTC). A calendar
 * date that does not exist is refused (Date.parse would roll 2024-02-30 over to March). A space
 * before the offset stands for `+`: an unencoded `+02:00` in a query string arrives so.
 */
export function parseInstant(text: string): number | undefined {
  const m = INSTANT.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const [h, mm] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
    if (h > 23 || mm > 59) return undefined;
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (h * 60 + mm);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutes * MINUTE_MS;
}

/** The query's TimeStamp range as the stores take it: rows with TimeStamp in (afterEndMs, toEndMs]. */
export function queryRange(query: Pick<CandleQuery, "fromEndMs" | "toEndMs" | "afterEndMs">): { afterEndMs: number; toEndMs: number } {
  const fromAfter = query.fromEndMs === undefined ? Number.NEGATIVE_INFINITY : query.fromEndMs - 1;
  const after = Math.max(fromAfter, query.afterEndMs ?? Number.NEGATIVE_INFINITY);
  return { afterEndMs: Math.max(MIN_QUERY_MS - 1, Math.min(MAX_QUERY_MS, after)), toEndMs: clampQueryMs(query.toEndMs ?? MAX_QUERY_MS) };
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f"\\]/g, "?").slice(0, 60);
}
