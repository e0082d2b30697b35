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
import type { ExchangeAdapter, Market } from "../../src/exchanges/types.ts";
import { createPrng } from "../../src/simulator/noise.ts";
import { fixture } from "./fixture.ts";

const market: Market = { coin: "BTC", symbol: "XXBTZUSD", quote: "USD" };
const context = { market, intervalMinutes: 1 };

interface Case {
  name: string;
  file: string;
  /** The rows inside a body (a copy of it may be changed in place). */
  rows: (body: any) => unknown[];
  parse: (body: unknown) => unknown;
  /** Whose fast path reads it. */
  adapter: ExchangeAdapter;
}

const CASES: Case[] = [
  { name: "binance klines", file: "binance/candles.json", rows: (b) => b, parse: (b) => binance.parseCandles(b, context), adapter: binance },
  {
    name: "kraken OHLC",
    file: "kraken/candles.json",
    rows: (b) => b.result[Object.keys(b.result).find((k) => k !== "last")!],
    parse: (b) => kraken.parseCandles(b, context),
    adapter: kraken,
  },
  { name: "kraken Trades", file: "kraken/trades.json", rows: (b) => b.result.XXBTZUSD, parse: (b) => kraken.trades!.parse(b, market), adapter: kraken },
  { name: "kucoin candles", file: "kucoin/candles.json", rows: (b) => b.data, parse: (b) => kucoin.parseCandles(b, context), adapter: kucoin },
  { name: "poloniex candles", file: "poloniex/candles.json", rows: (b) => b, parse: (b) => poloniex.parseCandles(b, context), adapter: poloniex },
];

const ODD_VALUES: unknown[] = [
  null,
  true,
  [],
  {},
  0,
  -0,
  1,
  1.5,
  -3,
  2 ** 53,
  2 ** 60,
  1717200000,
  1717200000.1234,
  "",
  " 1",
  "1 ",
  "1",
  "-1",
  "1.5",
  "-0.25",
  ".5",
  "5.",
  "1e3",
  "1E-3",
  "1e",
  "0x10",
  "Infinity",
  "NaN",
  "abc",
  "1,5",
  "12345678901234567",
  "1717200000",
  "+1",
  "--1",
];

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
const random = createPrng;

function outcome(parse: (body: unknown) => unknown, body: unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: parse(body) };
  } catch (error) {
    return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
  }
}

function bothWays(c: Case, body: unknown) {
  const wire = c.adapter.wire!;
  wire.fast = true;
  const fast = outcome(c.parse, structuredClone(body));
  wire.fast = false;
  const slow = outcome(c.parse, structuredClone(body));
  wire.fast = true;
  return { fast, slow };
}

afterEach(() => {
  for (const adapter of [binance, kraken, kucoin, poloniex]) adapter.wire!.fast = true;
});

describe("each adapter declares its own fast path", () => {
  test("switching one adapter's off leaves the others' on", () => {
    for (const adapter of [binance, kraken, kucoin, poloniex]) expect(adapter.wire?.fast).toBe(true);
    binance.wire!.fast = false;
    const page = JSON.stringify(fixture("kucoin", "candles.json"));
    expect(kucoin.parseCandlesText!(page, context)).toBeDefined();
    expect(binance.parseCandlesText!(JSON.stringify(fixture("binance", "candles.json")), context)).toBeUndefined();
  });
});

describe.each(CASES)("$name", (c) => {
  const original = fixture(...(c.file.split("/") as [string, string]));

  test("a valid page gives the same rows both ways, and the fast path is the one taken", () => {
    const fallbacks = c.adapter.wire!.fallbacks;
    const { fast, slow } = bothWays(c, original);
    expect("ok" in slow).toBe(true);
    expect(fast).toEqual(slow);
    expect(c.adapter.wire!.fallbacks).toBe(fallbacks);
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
      const fallbacks = c.adapter.wire!.fallbacks;
      const { fast, slow } = bothWays(c, body);
      if ("error" in slow) {
        refused++;
        expect(c.adapter.wire!.fallbacks).toBe(fallbacks + 1); // the schema named the problem
      }
      expect(fast).toEqual(slow);
    }
    // The mangling really produced both kinds.
    expect(refused).toBeGreaterThan(100);
    expect(refused).toBeLessThan(600);
  });
});

describe("reading candle pages straight from the text", () => {
  const TEXT_CASES = CASES.filter((c) => c.name !== "kraken OHLC" && c.name !== "kraken Trades");
  const adapters = { "binance klines": binance, "kucoin candles": kucoin, "poloniex candles": poloniex } as const;

  /** What the scanner gives, or what JSON.parse and the schema give (zod only): must be the same. */
  function compare(c: Case, text: string): "scanned" | "left" {
    const adapter = adapters[c.name as keyof typeof adapters];
    const scanned = adapter.parseCandlesText!(text, context);
    adapter.wire!.fast = false;
    let reference: { ok: unknown } | { error: string };
    try {
      reference = outcome(c.parse, JSON.parse(text));
    } catch {
      reference = { error: "not JSON" };
    } finally {
      adapter.wire!.fast = true;
    }
    if (scanned === undefined) return "left";
    expect(reference).toEqual({ ok: scanned });
    return "scanned";
  }

  test.each(TEXT_CASES)("$name: a compact valid page is scanned, to the schema's candles", (c) => {
    expect(compare(c, JSON.stringify(fixture(...(c.file.split("/") as [string, string]))))).toBe("scanned");
  });

  test.each(TEXT_CASES)("$name: 3000 mangled texts are scanned to the same candles or left to JSON.parse and the schema", (c) => {
    const original = fixture(...(c.file.split("/") as [string, string]));
    const next = random(0xbeef + c.name.length);
    const counts = { scanned: 0, left: 0 };
    const pieces = ["", " ", "\n", "-", ".", "e", "E", "+", "0", "9", '"', "\\", ",", "[", "]", "{", "}", "null", "true", "1.5", "\u00e9", "\u0001"];
    for (let n = 0; n < 3000; n++) {
      const body = structuredClone(original) as any;
      const rows = c.rows(body);
      if (next() < 0.5) {
        const row = rows[Math.floor(next() * rows.length)] as unknown[];
        row[Math.floor(next() * (row.length + 1))] = ODD_VALUES[Math.floor(next() * ODD_VALUES.length)];
      }
      let text = JSON.stringify(body);
      const edits = Math.floor(next() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * (text.length + 1));
        const cut = next() < 0.5 ? Math.floor(next() * 3) : 0;
        text = text.slice(0, at) + pieces[Math.floor(next() * pieces.length)]! + text.slice(at + cut);
      }
      counts[compare(c, text)]++;
    }
    expect(counts.scanned).toBeGreaterThan(100);
    expect(counts.left).toBeGreaterThan(100);
  });

  test("decimal strings become exactly the number Number() gives", () => {
    const next = random(99);
    const digits = (k: number) => Array.from({ length: k }, () => Math.floor(next() * 10)).join("");
    for (let n = 0; n < 20_000; n++) {
      const text = `${next() < 0.2 ? "-" : ""}${digits(1 + Math.floor(next() * 10))}${next() < 0.8 ? `.${digits(1 + Math.floor(next() * 12))}` : ""}${next() < 0.05 ? `e${next() < 0.5 ? "-" : ""}${digits(1 + Math.floor(next() * 2))}` : ""}`;
      const page = JSON.stringify([[1717200000000, text, text, text, text, text, 1717200059999]]);
      const candles = binance.parseCandlesText!(page, context);
      expect(candles).toBeDefined();
      expect(Object.is(candles![0]!.open, Number(text))).toBe(true);
    }
  });
});
