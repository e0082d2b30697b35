/**
 * The fast path for candle and trade pages must accept exactly what the zod schemas accept and give
 * the same candles: every page here, valid and mangled in many ways, is parsed both ways and compared
 * (the same result, or the same error).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { binance } from "../../src/exchanges/binance.ts";
import { kraken } from "../../src/exchanges/kraken.ts";
import { kucoin } from "../../src/exchanges/kucoin.ts";
import { poloniex } from "../../src/exchanges/poloniex.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { fastWire } from "../../src/exchanges/wire.ts";
import { fixture } from "./fixture.ts";

const market: Market = { coin: "BTC", symbol: "XXBTZUSD", quote: "USD" };
const context = { market, intervalMinutes: 1 };

interface Case {
  name: string;
  file: string;
  /** The rows inside a body (a copy of it may be changed in place). */
  rows: (body: any) => unknown[];
  parse: (body: unknown) => unknown;
}

const CASES: Case[] = [
  { name: "binance klines", file: "binance/candles.json", rows: (b) => b, parse: (b) => binance.parseCandles(b, context) },
  { name: "kraken OHLC", file: "kraken/candles.json", rows: (b) => b.result[Object.keys(b.result).find((k) => k !== "last")!], parse: (b) => kraken.parseCandles(b, context) },
  { name: "kraken Trades", file: "kraken/trades.json", rows: (b) => b.result.XXBTZUSD, parse: (b) => kraken.trades!.parse(b, market) },
  { name: "kucoin candles", file: "kucoin/candles.json", rows: (b) => b.data, parse: (b) => kucoin.parseCandles(b, context) },
  { name: "poloniex candles", file: "poloniex/candles.json", rows: (b) => b, parse: (b) => poloniex.parseCandles(b, context) },
];

const ODD_VALUES: unknown[] = [
  null, true, [], {}, 0, -0, 1, 1.5, -3, 2 ** 53, 2 ** 60, 1717200000, 1717200000.1234,
  "", " 1", "1 ", "1", "-1", "1.5", "-0.25", ".5", "5.", "1e3", "1E-3", "1e", "0x10", "Infinity", "NaN", "abc", "1,5",
  "12345678901234567", "1717200000", "+1", "--1",
];

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function outcome(parse: (body: unknown) => unknown, body: unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: parse(body) };
  } catch (error) {
    return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
  }
}

function bothWays(c: Case, body: unknown) {
  fastWire.enabled = true;
  const fast = outcome(c.parse, structuredClone(body));
  fastWire.enabled = false;
  const slow = outcome(c.parse, structuredClone(body));
  fastWire.enabled = true;
  return { fast, slow };
}

afterEach(() => {
  fastWire.enabled = true;
});

describe.each(CASES)("$name", (c) => {
  const original = fixture(...(c.file.split("/") as [string, string]));

  test("a valid page gives the same rows both ways, and the fast path is the one taken", () => {
    const fallbacks = fastWire.fallbacks;
    const { fast, slow } = bothWays(c, original);
    expect("ok" in slow).toBe(true);
    expect(fast).toEqual(slow);
    expect(fastWire.fallbacks).toBe(fallbacks);
    expect((c.rows(structuredClone(original)) as unknown[]).length).toBeGreaterThan(1);
  });

  test("600 mangled pages: each accepted or refused alike, with the same rows or the same error", () => {
    const next = random(0xc0ffee + c.name.length);
    let refused = 0;
    for (let n = 0; n < 600; n++) {
      const body = structuredClone(original) as any;
      const rows = c.rows(body);
      const i = Math.floor(next() * rows.length);
      const kind = next();
      if (kind < 0.7) {
        const row = rows[i] as unknown[];
        const column = Math.floor(next() * (row.length + 1));
        row[column] = ODD_VALUES[Math.floor(next() * ODD_VALUES.length)];
      } else if (kind < 0.85) {
        (rows[i] as unknown[]).length = Math.floor(next() * (rows[i] as unknown[]).length);
      } else if (kind < 0.95) {
        rows[i] = ODD_VALUES[Math.floor(next() * ODD_VALUES.length)];
      } else {
        (rows[i] as unknown[]).push("extra", 1);
      }
      const fallbacks = fastWire.fallbacks;
      const { fast, slow } = bothWays(c, body);
      if ("error" in slow) {
        refused++;
        expect(fastWire.fallbacks).toBe(fallbacks + 1); // the schema named the problem
      }
      expect(fast).toEqual(slow);
    }
    // The mangling really produced both kinds.
    expect(refused).toBeGreaterThan(100);
    expect(refused).toBeLessThan(600);
  });
});
