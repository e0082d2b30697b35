import { z } from "zod";
import type { RawCandle } from "../domain/candle.ts";
import { ExchangeSchemaError } from "../errors.ts";
import { type RowShape, scanRows } from "./row-scanner.ts";

const DECIMAL = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const INTEGER = /^\d{1,16}$/;

/** A decimal number sent as a JSON string (`"67510.01000000"`), as all four exchanges send prices. */
export const decimalString = z.string().regex(DECIMAL, "expected a decimal number in a string").transform(Number);

/** A whole number of seconds or milliseconds sent as a string (KuCoin's timestamps). */
export const integerString = z.string().regex(INTEGER, "expected an integer in a string").transform(Number);

/*
 * The fast path for candle and trade pages, the bodies a backfill lives on: plain checks that accept
 * exactly what the zod schemas accept (no more), about four times cheaper. Anything they do not
 * accept goes through the schema, which names the row and field that is wrong. The readers return
 * NaN for a value they do not accept (a decimal string never reads as NaN).
 */

/** `decimalString` without zod: the number, or NaN. */
export function decimalOf(v: unknown): number {
  return typeof v === "string" && DECIMAL.test(v) ? Number(v) : Number.NaN;
}

/** `integerString` without zod: the number, or NaN. */
export function integerStringOf(v: unknown): number {
  return typeof v === "string" && INTEGER.test(v) ? Number(v) : Number.NaN;
}

/** `z.number().int()` without zod: the number, or NaN. */
export function intOf(v: unknown): number {
  return Number.isSafeInteger(v) ? (v as number) : Number.NaN;
}

/** Whether every value read is a number (none is the NaN of a value refused). */
export function allRead(...values: number[]): boolean {
  for (const v of values) if (Number.isNaN(v)) return false;
  return true;
}

/**
 * An adapter's fast path for pages: plain row checks and the text scanner, which accept exactly
 * what the schemas accept. Each adapter declares its own (`fast: false` leaves every page to the
 * schemas); tests and benchmarks switch one adapter's off to compare, without touching the others.
 */
export interface WireReader {
  fast: boolean;
  /** Pages the fast path left to the schemas. */
  fallbacks: number;
  /**
   * Candles read from a whole body's text by the row scanner, at `from` (after an envelope's prefix),
   * followed by exactly `suffix`; undefined when it is not in the scanner's form (or the fast path is off).
   */
  scanCandles(text: string, from: number, suffix: string, shape: RowShape, candle: (v: Float64Array) => RawCandle): RawCandle[] | undefined;
  /**
   * Rows of a page through `read` (fast), or through `schema` and `map` when `read` refuses any row
   * (or the body is no array of arrays of at least `minLength`): the same result either way, or the
   * schema's error.
   */
  parseRows<S extends z.ZodType<readonly unknown[]>, T>(
    schema: S,
    body: unknown,
    where: string,
    minLength: number,
    read: (row: readonly unknown[]) => T | undefined,
    map: (row: z.output<S>[number]) => T,
  ): T[];
}

export function createWireReader(options: { fast: boolean } = { fast: true }): WireReader {
  const reader: WireReader = {
    fast: options.fast,
    fallbacks: 0,
    scanCandles(text, from, suffix, shape, candle) {
      if (!reader.fast) return undefined;
      const out: RawCandle[] = [];
      const end = scanRows(text, from, shape, (v) => out.push(candle(v)));
      return end !== undefined && end + suffix.length === text.length && text.endsWith(suffix) ? out : undefined;
    },
    parseRows(schema, body, where, minLength, read, map) {
      if (reader.fast && Array.isArray(body)) {
        const out = new Array(body.length);
        let i = 0;
        for (; i < body.length; i++) {
          const row: unknown = body[i];
          if (!Array.isArray(row) || row.length < minLength) break;
          const value = read(row);
          if (value === undefined) break;
          out[i] = value;
        }
        if (i === body.length) return out;
        reader.fallbacks++;
      }
      return parseWire(schema, body, where).map(map);
    },
  };
  return reader;
}

/** Parses `body` with `schema` or throws ExchangeSchemaError naming the first problem's path. */
export function parseWire<T extends z.ZodType>(schema: T, body: unknown, where: string): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.join(".") : "(body)";
  throw new ExchangeSchemaError(where, `${path}: ${issue?.message ?? "invalid"}`);
}

/** Picks, per base coin, the market with the most preferred quote. Candidates are already tradable. */
export function pickPreferredQuote<M extends { coin: string; quote: string }>(candidates: readonly M[], quotePreference: readonly string[]): M[] {
  const rank = (quote: string) => {
    const i = quotePreference.indexOf(quote);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  const best = new Map<string, M>();
  for (const m of candidates) {
    if (m.coin === m.quote || rank(m.quote) === Number.POSITIVE_INFINITY) continue;
    const current = best.get(m.coin);
    if (!current || rank(m.quote) < rank(current.quote)) best.set(m.coin, m);
  }
  return [...best.values()].sort((a, b) => a.coin.localeCompare(b.coin));
}
