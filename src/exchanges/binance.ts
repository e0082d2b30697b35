/**
 * Binance spot.
 * @see https://github.com/binance/binance-spot-api-docs/blob/master/rest-api.md#klinecandlestick-data
 */
import { z } from "zod";
import { RateLimitedError, UnknownSymbolError } from "../errors.ts";
import type { RowShape } from "./row-scanner.ts";
import type { ExchangeAdapter, Market } from "./types.ts";
import { allRead, createWireReader, decimalOf, decimalString, intOf, parseWire, pickPreferredQuote } from "./wire.ts";

const BINANCE_INTERVALS: Record<number, string> = {
  1: "1m",
  3: "3m",
  5: "5m",
  15: "15m",
  30: "30m",
  60: "1h",
  120: "2h",
  240: "4h",
  360: "6h",
  480: "8h",
  720: "12h",
  1440: "1d",
};

/** `[openTime ms, open, high, low, close, volume (BASE), closeTime, quoteVolume, trades, takerBase, takerQuote, ignore]` */
const BinanceKline = z.tuple([z.number().int(), decimalString, decimalString, decimalString, decimalString, decimalString, z.number().int()]).rest(z.unknown());
const BinanceKlines = z.array(BinanceKline);
/** The same row for the text scanner: open time, open, high, low, close, volume picked. */
const KLINE_SHAPE: RowShape = { columns: ["int", "decimal", "decimal", "decimal", "decimal", "decimal", "int"], pick: [0, 1, 2, 3, 4, 5] };

const BinanceExchangeInfo = z.looseObject({
  symbols: z.array(
    z.looseObject({
      symbol: z.string(),
      status: z.string(),
      baseAsset: z.string(),
      quoteAsset: z.string(),
    }),
  ),
});

const BinanceError = z.looseObject({ code: z.number(), msg: z.string() });

/** Rows and texts read without the schemas where they accept the same (src/exchanges/wire.ts). */
const wire = createWireReader({ fast: true });

export const binance: ExchangeAdapter = {
  wire,
  id: "binance",
  name: "Binance",
  defaultBaseUrl: "https://api.binance.com",
  kind: "native",
  docs: "https://github.com/binance/binance-spot-api-docs/blob/master/rest-api.md",
  // REQUEST_WEIGHT is 6000 per minute per IP, counted per minute. 5400 in any 61 s: a whole window's
  // weight may go at once (a short backfill in one burst), wherever the server's minute starts, with
  // 600 to spare and 1 s for requests that reach it late; sustained 88.5/s (88.5%). The used-weight
  // header pauses us near the limit if anything else on this IP spends too.
  budget: {
    unitsPerWindow: 5400,
    windowMs: 60_000,
    slackMs: 1000,
    usedWeightHeader: { name: "x-mbx-used-weight-1m", limit: 6000, windowMs: 60_000 },
  },
  maxCandlesPerRequest: 1000,
  nativeIntervals: Object.keys(BINANCE_INTERVALS).map(Number),
  marketsRequest: () => ({ path: "/api/v3/exchangeInfo", weight: 20, label: "markets" }),
  parseMarkets(body, quotePreference) {
    const info = parseWire(BinanceExchangeInfo, body, "binance exchangeInfo");
    const candidates: Market[] = info.symbols
      .filter((s) => s.status === "TRADING")
      .map((s) => ({ coin: s.baseAsset.toUpperCase(), symbol: s.symbol, quote: s.quoteAsset.toUpperCase() }));
    return pickPreferredQuote(candidates, quotePreference);
  },
  candlesRequest(market, intervalMinutes, startMs, endMs) {
    const interval = BINANCE_INTERVALS[intervalMinutes];
    if (!interval) throw new Error(`binance has no native ${intervalMinutes}m interval`);
    return {
      path: "/api/v3/klines",
      // endTime is inclusive of a kline opening at it: stop one millisecond short of the next window.
      query: { symbol: market.symbol, interval, startTime: startMs, endTime: endMs - 1, limit: 1000 },
      weight: 2,
      label: market.symbol,
    };
  },
  parseCandles(body, { market }) {
    return wire.parseRows(
      BinanceKlines,
      body,
      `binance klines ${market.symbol}`,
      7,
      (k) => {
        const c = { openTimeMs: intOf(k[0]), open: decimalOf(k[1]), high: decimalOf(k[2]), low: decimalOf(k[3]), close: decimalOf(k[4]), volume: decimalOf(k[5]) };
        return allRead(c.openTimeMs, c.open, c.high, c.low, c.close, c.volume, intOf(k[6])) ? c : undefined;
      },
      (k) => ({
        openTimeMs: k[0],
        open: k[1],
        high: k[2],
        low: k[3],
        close: k[4],
        volume: k[5], // index 5 is base volume; 7 would be quote
      }),
    );
  },
  parseCandlesText(text) {
    return wire.scanCandles(text, 0, "", KLINE_SHAPE, (v) => ({ openTimeMs: v[0]!, open: v[1]!, high: v[2]!, low: v[3]!, close: v[4]!, volume: v[5]! }));
  },
  parseErrorBody(_status, body, where) {
    const parsed = BinanceError.safeParse(body);
    if (!parsed.success) return undefined;
    if (parsed.data.code === -1121) return new UnknownSymbolError(where);
    if (parsed.data.code === -1003) return new RateLimitedError(where);
    return undefined;
  },
};
