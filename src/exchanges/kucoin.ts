/**
 * KuCoin spot.
 * @see https://www.kucoin.com/docs/rest/spot-trading/market-data/get-klines
 */
import { z } from "zod";
import { ExchangeApiError, RateLimitedError, UnknownSymbolError } from "../errors.ts";
import type { RowShape } from "./row-scanner.ts";
import type { ExchangeAdapter, Market } from "./types.ts";
import { allRead, createWireReader, decimalOf, decimalString, integerString, integerStringOf, parseWire, pickPreferredQuote } from "./wire.ts";

/** `type` names. `1week` and `1month` are left out: not aligned to the epoch like our buckets. */
const KUCOIN_TYPES: Readonly<Record<number, string>> = {
  1: "1min",
  3: "3min",
  5: "5min",
  15: "15min",
  30: "30min",
  60: "1hour",
  120: "2hour",
  240: "4hour",
  360: "6hour",
  480: "8hour",
  720: "12hour",
  1440: "1day",
};

const KUCOIN_OK = "200000";
const KUCOIN_RATE_LIMITED = "429000";
/** A bad parameter; with an unknown pair the message is "This pair is not provided at present". */
const KUCOIN_BAD_PARAMETER = "400100";

/** Every answer: a string `code` (`"200000"` is success) and either `data` or a `msg`. */
const KucoinEnvelope = z.looseObject({ code: z.string(), msg: z.string().optional(), data: z.unknown().optional() });

/** `[time (s, STRING), open, CLOSE, HIGH, LOW, volume (BASE), turnover (QUOTE)]`, newest first. */
const KucoinCandle = z.tuple([integerString, decimalString, decimalString, decimalString, decimalString, decimalString, decimalString]).rest(z.unknown());
const KucoinCandles = z.array(KucoinCandle);
/** The same row for the text scanner, inside the compact success envelope KuCoin sends. */
const CANDLE_SHAPE: RowShape = { columns: ["intString", "decimal", "decimal", "decimal", "decimal", "decimal", "decimal"], pick: [0, 1, 2, 3, 4, 5] };
const SUCCESS_PREFIX = `{"code":"200000","data":`;

const KucoinSymbols = z.array(
  z.looseObject({
    symbol: z.string(),
    baseCurrency: z.string(),
    quoteCurrency: z.string(),
    enableTrading: z.boolean(),
  }),
);

/** KuCoin's body codes as our errors. */
function kucoinError(code: string, message: string | undefined, where: string): Error {
  if (code === KUCOIN_RATE_LIMITED) return new RateLimitedError(where);
  // 400100 is any bad parameter; our parameters are fixed, so it is the pair unless the message says otherwise.
  if (code === KUCOIN_BAD_PARAMETER && (message === undefined || /pair|symbol/i.test(message))) return new UnknownSymbolError(where);
  const detail = `code ${code.replace(/[^\w-]/g, "?").slice(0, 12)}${message ? ` ${message.replace(/[^\x20-\x7e]/g, "?").slice(0, 80)}` : ""}`;
  // 5xxxxx are KuCoin's own failures; others (4xxxxx) are ours and final.
  return new ExchangeApiError(where, detail, { retryable: code.startsWith("5") });
}

/** The `data` of a body, after a non-success code reported inside HTTP 200. */
function kucoinData(body: unknown, where: string): unknown {
  const envelope = parseWire(KucoinEnvelope, body, where);
  if (envelope.code !== KUCOIN_OK) throw kucoinError(envelope.code, envelope.msg, where);
  return envelope.data;
}

/** Rows and texts read without the schemas where they accept the same (src/exchanges/wire.ts). */
const wire = createWireReader({ fast: true });

export const kucoin: ExchangeAdapter = {
  wire,
  id: "kucoin",
  name: "Kucoin",
  defaultBaseUrl: "https://api.kucoin.com",
  kind: "native",
  docs: "https://www.kucoin.com/docs/rest/spot-trading/market-data/get-klines",
  // The public pool is 2000 weight per 30 s per IP, a fixed window (candles weigh 3, symbols 4).
  // 1850 in any 31 s: a live cycle of 100 coins (300 weight) goes at once, the 150 left and the 1 s
  // of slack absorb requests that reach the server late; sustained 59.7/s of 66.7/s (89.5%).
  budget: {
    unitsPerWindow: 1850,
    windowMs: 30_000,
    slackMs: 1000,
    resetHeader: { name: "gw-ratelimit-reset", unit: "ms" },
  },
  maxCandlesPerRequest: 1500,
  nativeIntervals: Object.keys(KUCOIN_TYPES).map(Number),
  marketsRequest: () => ({ path: "/api/v2/symbols", weight: 4, label: "markets" }),
  parseMarkets(body, quotePreference) {
    const where = "kucoin symbols";
    const symbols = parseWire(KucoinSymbols, kucoinData(body, where), where);
    const candidates: Market[] = symbols
      .filter((s) => s.enableTrading)
      .map((s) => ({ coin: s.baseCurrency.toUpperCase(), symbol: s.symbol, quote: s.quoteCurrency.toUpperCase() }));
    return pickPreferredQuote(candidates, quotePreference);
  },
  candlesRequest(market, intervalMinutes, startMs, endMs) {
    const type = KUCOIN_TYPES[intervalMinutes];
    if (!type) throw new Error(`kucoin has no native ${intervalMinutes}m interval`);
    return {
      path: "/api/v1/market/candles",
      // Both bounds always (without them KuCoin once answered nothing), in seconds. endAt stops one
      // second short of the next window, so an inclusive end cannot make the page 1501 candles long.
      query: { symbol: market.symbol, type, startAt: Math.floor(startMs / 1000), endAt: Math.ceil(endMs / 1000) - 1 },
      weight: 3,
      label: market.symbol,
    };
  },
  parseCandles(body, { market }) {
    const where = `kucoin candles ${market.symbol}`;
    // Newest first; the engine sorts. Intervals without trades are absent, not zero rows.
    return wire.parseRows(
      KucoinCandles,
      kucoinData(body, where),
      where,
      7,
      (k) => {
        const c = { openTimeMs: integerStringOf(k[0]) * 1000, open: decimalOf(k[1]), close: decimalOf(k[2]), high: decimalOf(k[3]), low: decimalOf(k[4]), volume: decimalOf(k[5]) };
        return allRead(c.openTimeMs, c.open, c.close, c.high, c.low, c.volume, decimalOf(k[6])) ? c : undefined;
      },
      (k) => ({
        openTimeMs: k[0] * 1000,
        open: k[1],
        close: k[2],
        high: k[3],
        low: k[4],
        volume: k[5], // index 5 is base volume; 6 is the quote turnover
      }),
    );
  },
  parseCandlesText(text) {
    if (!text.startsWith(SUCCESS_PREFIX)) return undefined;
    return wire.scanCandles(text, SUCCESS_PREFIX.length, "}", CANDLE_SHAPE, (v) => ({
      openTimeMs: v[0]! * 1000,
      open: v[1]!,
      close: v[2]!,
      high: v[3]!,
      low: v[4]!,
      volume: v[5]!,
    }));
  },
  parseErrorBody(_status, body, where) {
    const parsed = KucoinEnvelope.safeParse(body);
    if (!parsed.success || parsed.data.code === KUCOIN_OK) return undefined;
    return kucoinError(parsed.data.code, parsed.data.msg, where);
  },
};
