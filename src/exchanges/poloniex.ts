/**
 * Poloniex spot, current API (not the retired `returnChartData`).
 * @see https://api-docs.poloniex.com/spot/api/public/market-data#candles
 */
import { z } from "zod";
import { ExchangeApiError, RateLimitedError, UnknownSymbolError } from "../errors.ts";
import type { RowShape } from "./row-scanner.ts";
import type { ExchangeAdapter, Market } from "./types.ts";
import { allRead, createWireReader, decimalOf, decimalString, intOf, parseWire, pickPreferredQuote } from "./wire.ts";

/** `interval` names. DAY_3, WEEK_1 and MONTH_1 are left out: not aligned to the epoch like our buckets. */
const POLONIEX_INTERVALS: Readonly<Record<number, string>> = {
  1: "MINUTE_1",
  5: "MINUTE_5",
  10: "MINUTE_10",
  15: "MINUTE_15",
  30: "MINUTE_30",
  60: "HOUR_1",
  120: "HOUR_2",
  240: "HOUR_4",
  360: "HOUR_6",
  720: "HOUR_12",
  1440: "DAY_1",
};

const POLONIEX_PAGE_LIMIT = 500;

/**
 * `[LOW, HIGH, open, close, amount (QUOTE), quantity (BASE), buyTakerAmount, buyTakerQuantity,
 * tradeCount, ts (when pushed), weightedAverage, interval, startTime ms, closeTime ms]`:
 * low and high come first, and the open time is at index 12, not 0.
 */
const PoloniexCandle = z
  .tuple([
    decimalString,
    decimalString,
    decimalString,
    decimalString,
    decimalString,
    decimalString,
    decimalString,
    decimalString,
    z.number().int(),
    z.number().int(),
    decimalString,
    z.string(),
    z.number().int(),
    z.number().int(),
  ])
  .rest(z.unknown());
const PoloniexCandles = z.array(PoloniexCandle);
/** The same row for the text scanner: startTime, open, high, low, close, quantity picked. */
const CANDLE_SHAPE: RowShape = {
  columns: ["decimal", "decimal", "decimal", "decimal", "decimal", "decimal", "decimal", "decimal", "int", "int", "decimal", "string", "int", "int"],
  pick: [12, 2, 1, 0, 3, 5],
};

const PoloniexMarkets = z.array(
  z.looseObject({
    symbol: z.string(),
    baseCurrencyName: z.string(),
    quoteCurrencyName: z.string(),
    /** `NORMAL` is tradable; anything else (`PAUSE`, `OFFLINE`…) is not. */
    state: z.string(),
  }),
);

const PoloniexError = z.looseObject({ code: z.number().int(), message: z.string().optional() });

/** Codes ccxt maps to BadSymbol; which one /candles sends for an unknown symbol is unconfirmed. */
const POLONIEX_INVALID_SYMBOL = new Set([10020, 10040, 10041, 21352]);
const POLONIEX_RETRYABLE = new Set([500, 24201]);

function poloniexError(code: number, message: string | undefined, where: string): Error {
  if (POLONIEX_INVALID_SYMBOL.has(code) || (message !== undefined && /(invalid|unknown|illegal).{0,20}symbol|symbol.{0,20}(not|invalid)/i.test(message))) {
    return new UnknownSymbolError(where);
  }
  if (message !== undefined && /too many requests|rate limit/i.test(message)) return new RateLimitedError(where);
  const detail = `code ${code}${message ? ` ${message.replace(/[^\x20-\x7e]/g, "?").slice(0, 80)}` : ""}`;
  return new ExchangeApiError(where, detail, { retryable: POLONIEX_RETRYABLE.has(code) });
}

/** A `{code, message}` body where data was expected (an error sent with HTTP 200), as an error. */
function throwIfError(body: unknown, where: string): void {
  if (Array.isArray(body)) return;
  const parsed = PoloniexError.safeParse(body);
  if (parsed.success) throw poloniexError(parsed.data.code, parsed.data.message, where);
}

/** Rows and texts read without the schemas where they accept the same (src/exchanges/wire.ts). */
const wire = createWireReader({ fast: true });

export const poloniex: ExchangeAdapter = {
  wire,
  id: "poloniex",
  name: "Poloniex",
  defaultBaseUrl: "https://api.poloniex.com",
  kind: "native",
  docs: "https://api-docs.poloniex.com/spot/api/public/market-data",
  // About 200 requests/s for unauthenticated market endpoints (ccxt), counted per second. 185 in any
  // 1.05 s: a backfill's first 185 pages go at once; the 15 left and 50 ms of slack absorb requests
  // that reach the server late. Sustained 176/s (88%). A candles request weighs 1, /markets 20
  // (ccxt's cost: about 10 a second).
  budget: { unitsPerWindow: 185, windowMs: 1000, slackMs: 50 },
  maxCandlesPerRequest: POLONIEX_PAGE_LIMIT,
  nativeIntervals: Object.keys(POLONIEX_INTERVALS).map(Number),
  marketsRequest: () => ({ path: "/markets", weight: 20, label: "markets" }),
  parseMarkets(body, quotePreference) {
    const where = "poloniex markets";
    throwIfError(body, where);
    const markets = parseWire(PoloniexMarkets, body, where);
    const candidates: Market[] = markets
      .filter((m) => m.state === "NORMAL")
      .map((m) => ({ coin: m.baseCurrencyName.toUpperCase(), symbol: m.symbol, quote: m.quoteCurrencyName.toUpperCase() }));
    return pickPreferredQuote(candidates, quotePreference);
  },
  candlesRequest(market, intervalMinutes, startMs, endMs) {
    const interval = POLONIEX_INTERVALS[intervalMinutes];
    if (!interval) throw new Error(`poloniex has no native ${intervalMinutes}m interval`);
    return {
      path: `/markets/${encodeURIComponent(market.symbol)}/candles`,
      // A range longer than `limit` returns its MOST RECENT candles, so every request is bounded to
      // one page; endTime stops 1 ms short of the next window so an inclusive end adds no 501st.
      query: { interval, startTime: startMs, endTime: endMs - 1, limit: POLONIEX_PAGE_LIMIT },
      weight: 1,
      label: market.symbol,
    };
  },
  parseCandles(body, { market }) {
    const where = `poloniex candles ${market.symbol}`;
    throwIfError(body, where);
    return wire.parseRows(
      PoloniexCandles,
      body,
      where,
      14,
      (r) => {
        const c = { openTimeMs: intOf(r[12]), open: decimalOf(r[2]), high: decimalOf(r[1]), low: decimalOf(r[0]), close: decimalOf(r[3]), volume: decimalOf(r[5]) };
        const rest = allRead(decimalOf(r[4]), decimalOf(r[6]), decimalOf(r[7]), intOf(r[8]), intOf(r[9]), decimalOf(r[10]), intOf(r[13]));
        return rest && typeof r[11] === "string" && allRead(c.openTimeMs, c.open, c.high, c.low, c.close, c.volume) ? c : undefined;
      },
      (c) => ({
        openTimeMs: c[12],
        open: c[2],
        high: c[1],
        low: c[0],
        close: c[3],
        volume: c[5], // index 5 `quantity` is base volume; 4 `amount` is quote
      }),
    );
  },
  parseCandlesText(text) {
    return wire.scanCandles(text, 0, "", CANDLE_SHAPE, (v) => ({ openTimeMs: v[0]!, open: v[1]!, high: v[2]!, low: v[3]!, close: v[4]!, volume: v[5]! }));
  },
  parseErrorBody(_status, body, where) {
    const parsed = PoloniexError.safeParse(body);
    if (!parsed.success) return undefined;
    return poloniexError(parsed.data.code, parsed.data.message, where);
  },
};
