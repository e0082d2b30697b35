/**
 * Kraken spot.
 * @see https://docs.kraken.com/api-reference/market-data/get-ohlc-data
 */
import { z } from "zod";
import { ExchangeApiError, ExchangeSchemaError, RateLimitedError, UnknownSymbolError } from "../errors.ts";
import type { ExchangeAdapter, Market } from "./types.ts";
import { allRead, createWireReader, decimalOf, decimalString, intOf, parseWire, pickPreferredQuote } from "./wire.ts";

/** OHLC intervals in minutes. 10080 and 21600 are left out: their week alignment is not the epoch's. */
const KRAKEN_INTERVALS = [1, 5, 15, 30, 60, 240, 1440] as const;

/**
 * Kraken asset names to common tickers (ccxt `commonCurrencies`, reference §2.6). Looked up once,
 * never chained: `LUNA2` is today's LUNA and `LUNA` is the old one, now LUNC.
 */
const KRAKEN_ASSET_ALIASES: Readonly<Record<string, string>> = {
  XBT: "BTC",
  XXBT: "BTC",
  XDG: "DOGE",
  XXDG: "DOGE",
  XETH: "ETH",
  XLTC: "LTC",
  XXRP: "XRP",
  XXLM: "XLM",
  XXMR: "XMR",
  XETC: "ETC",
  XZEC: "ZEC",
  XREP: "REP",
  XMLN: "MLN",
  ZUSD: "USD",
  ZEUR: "EUR",
  ZGBP: "GBP",
  ZCAD: "CAD",
  ZJPY: "JPY",
  ZAUD: "AUD",
  UST: "USTC",
  LUNA: "LUNC",
  LUNA2: "LUNA",
  REPV2: "REP",
};

/**
 * The common ticker of a Kraken asset: its key through the alias table (`XXBT` → BTC, `ZUSD` → USD),
 * else its display name from the pair's `wsname` (`XBT/USD` → XBT → BTC), else the key itself.
 * The `wsname` covers legacy X/Z keys the table does not list without guessing at prefixes
 * (`ZETA` must stay ZETA).
 */
export function krakenCommonTicker(assetKey: string, displayName?: string): string {
  const key = assetKey.toUpperCase();
  const aliased = KRAKEN_ASSET_ALIASES[key];
  if (aliased) return aliased;
  if (displayName) {
    const name = displayName.toUpperCase();
    return KRAKEN_ASSET_ALIASES[name] ?? name;
  }
  return key;
}

/** Every Kraken answer, success or not, HTTP 200 or not: `{error: string[], result?}`. */
const KrakenEnvelope = z.looseObject({ error: z.array(z.string()), result: z.unknown().optional() });

/** Keyed by the canonical pair key (`XXBTZUSD`) even when asked by altname, beside a `last` cursor. */
const KrakenPairResult = z.record(z.string(), z.unknown());

/** `[time s, open, high, low, close, vwap, volume (BASE), count]`: index 5 is the VWAP, not a volume. */
const KrakenOhlcRow = z.tuple([z.number().int(), decimalString, decimalString, decimalString, decimalString, decimalString, decimalString, z.number().int()]).rest(z.unknown());
const KrakenOhlcRows = z.array(KrakenOhlcRow);

/** `[price, volume (BASE), time (float seconds), side b|s, ordertype m|l, misc, trade_id?]` */
const KrakenTradeRow = z.tuple([decimalString, decimalString, z.number(), z.string(), z.string(), z.string()]).rest(z.unknown());
const KrakenTradeRows = z.array(KrakenTradeRow);
/** The next `since`: nanoseconds as a string (19 digits do not fit a double). */
const KrakenTradesCursor = z.string().regex(/^\d{1,20}$/, "expected nanoseconds in a string");

const KrakenAssetPairs = z.record(
  z.string(),
  z.looseObject({
    altname: z.string(),
    /** `XBT/USD`: the display names of base and quote. */
    wsname: z.string().optional(),
    base: z.string(),
    quote: z.string(),
    /** `currency` for coins; `tokenized_asset` for tokenized stocks (`AAPLx`), which are not coins. */
    aclass_base: z.string().optional(),
    /** `online`, `cancel_only`, `post_only`, `limit_only`, `reduce_only`, `delisted`; absent in older answers. */
    status: z.string().optional(),
  }),
);

/** The per-IP budget of public calls that are not limited per pair (no pair key contains a space). */
const KRAKEN_IP_LIMIT_KEY = "per ip";

/** Kraken restricts a throttled caller "for a few seconds": wait that long before asking again. */
const KRAKEN_THROTTLE_WAIT_MS = 3000;

/** Kraken's error strings (`EQuery:Unknown asset pair`) as our errors. */
function krakenError(messages: readonly string[], where: string): Error {
  if (messages.some((m) => /^EQuery:(Unknown|Invalid) asset pair/.test(m))) return new UnknownSymbolError(where);
  if (messages.some((m) => /^(EGeneral:Too many requests|EAPI:Rate limit exceeded)/.test(m))) {
    return new RateLimitedError(where, KRAKEN_THROTTLE_WAIT_MS);
  }
  // Throttled carries a timestamp to retry after, but a pure parser has no clock: the backoff covers it.
  const retryable = messages.some((m) => /^EService:(Unavailable|Busy|Throttled)/.test(m));
  const detail = messages.map((m) => m.replace(/[^\x20-\x7e]/g, "?").slice(0, 80)).join("; ");
  return new ExchangeApiError(where, detail, { retryable });
}

/** The `result` of a body, after the errors Kraken reports inside HTTP 200. */
function krakenResult(body: unknown, where: string): unknown {
  const envelope = parseWire(KrakenEnvelope, body, where);
  if (envelope.error.length > 0) throw krakenError(envelope.error, where);
  if (envelope.result === undefined) throw new ExchangeSchemaError(where, "result: missing");
  return envelope.result;
}

/** The one array beside `last`, whatever Kraken keyed it by. */
function pairRows(body: unknown, where: string): { rows: unknown; last: unknown } {
  const result = parseWire(KrakenPairResult, krakenResult(body, where), where);
  const keys = Object.keys(result).filter((k) => k !== "last");
  if (keys.length !== 1) throw new ExchangeSchemaError(where, `result: expected one pair key besides last, found ${keys.length}`);
  return { rows: result[keys[0]!], last: result.last };
}

/** Rows and texts read without the schemas where they accept the same (src/exchanges/wire.ts). */
const wire = createWireReader({ fast: true });

export const kraken: ExchangeAdapter = {
  wire,
  id: "kraken",
  name: "Kraken",
  defaultBaseUrl: "https://api.kraken.com",
  kind: "native",
  // Kraken's deepest and oldest books are in USD (XBTUSD, not the far thinner XBTUSDT).
  defaultQuotes: ["USD", "USDT"],
  docs: "https://docs.kraken.com/api-reference/market-data/get-ohlc-data",
  // OHLC and Trades are limited per IP *and per pair*; "1 per second (or less) stays within the
  // limits". Per pair: 0.9/s with a burst of 1 spaces calls 1.11 s apart, so no 1 s window holds two
  // and any window of t seconds holds at most 1 + 0.9·t ≤ t calls for t ≥ 10 (90% of the limit).
  // Other public calls (AssetPairs) are limited per IP at the same pace: they share one key of their
  // own. The global bucket only caps how many pairs are polled at once; the per-pair one binds.
  budget: {
    refillPerSecond: 20,
    burst: 20,
    perKey: { refillPerSecond: 0.9, burst: 1 },
  },
  maxCandlesPerRequest: 720,
  // Only the 720 most recent candles, the open one included, whatever `since` says.
  recentCandlesOnly: 720,
  nativeIntervals: KRAKEN_INTERVALS,
  marketsRequest: () => ({ path: "/0/public/AssetPairs", weight: 1, limitKey: KRAKEN_IP_LIMIT_KEY, label: "markets" }),
  parseMarkets(body, quotePreference) {
    const where = "kraken AssetPairs";
    const pairs = parseWire(KrakenAssetPairs, krakenResult(body, where), where);
    const candidates: Market[] = [];
    for (const [key, pair] of Object.entries(pairs)) {
      // Dark-pool pairs (`XXBTZUSD.d`) have no public candles.
      if (key.endsWith(".d")) continue;
      if (pair.status !== undefined && pair.status !== "online") continue;
      if (pair.aclass_base !== undefined && pair.aclass_base !== "currency") continue;
      const [baseName, quoteName] = pair.wsname?.split("/") ?? [];
      candidates.push({ coin: krakenCommonTicker(pair.base, baseName), symbol: key, quote: krakenCommonTicker(pair.quote, quoteName) });
    }
    return pickPreferredQuote(candidates, quotePreference);
  },
  candlesRequest(market, intervalMinutes, startMs) {
    if (!(KRAKEN_INTERVALS as readonly number[]).includes(intervalMinutes)) throw new Error(`kraken has no native ${intervalMinutes}m interval`);
    // `since` is in seconds and whether it includes a candle opening at it is unconfirmed: ask from one
    // interval earlier and let the engine trim to the window. Kraken returns everything up to now
    // (the open candle last); there is no end parameter.
    return {
      path: "/0/public/OHLC",
      query: { pair: market.symbol, interval: intervalMinutes, since: Math.floor(startMs / 1000) - intervalMinutes * 60 },
      weight: 1,
      limitKey: market.symbol,
      label: market.symbol,
    };
  },
  parseCandles(body, { market }) {
    const where = `kraken OHLC ${market.symbol}`;
    const { rows } = pairRows(body, where);
    return wire.parseRows(
      KrakenOhlcRows,
      rows,
      where,
      8,
      (r) => {
        const c = { openTimeMs: intOf(r[0]) * 1000, open: decimalOf(r[1]), high: decimalOf(r[2]), low: decimalOf(r[3]), close: decimalOf(r[4]), volume: decimalOf(r[6]) };
        return allRead(c.openTimeMs, c.open, c.high, c.low, c.close, c.volume, decimalOf(r[5]), intOf(r[7])) ? c : undefined;
      },
      (r) => ({
        openTimeMs: r[0] * 1000,
        open: r[1],
        high: r[2],
        low: r[3],
        close: r[4],
        volume: r[6], // index 6 is base volume; 5 is the VWAP
      }),
    );
  },
  parseErrorBody(_status, body, where) {
    const parsed = KrakenEnvelope.safeParse(body);
    if (!parsed.success || parsed.data.error.length === 0) return undefined;
    return krakenError(parsed.data.error, where);
  },
  trades: {
    request: (market, sinceNs) => ({
      path: "/0/public/Trades",
      query: { pair: market.symbol, since: sinceNs, count: 1000 },
      weight: 1,
      limitKey: market.symbol,
      label: market.symbol,
    }),
    parse(body, market) {
      const where = `kraken Trades ${market.symbol}`;
      const { rows, last } = pairRows(body, where);
      // Float seconds with up to 4 decimals: flooring to the millisecond never crosses a minute.
      const trades = wire.parseRows(
        KrakenTradeRows,
        rows,
        where,
        6,
        (t) => {
          const time = t[2];
          if (typeof time !== "number" || !Number.isFinite(time) || typeof t[3] !== "string" || typeof t[4] !== "string" || typeof t[5] !== "string") return undefined;
          const trade = { timeMs: Math.floor(time * 1000), price: decimalOf(t[0]), volume: decimalOf(t[1]) };
          return allRead(trade.price, trade.volume) ? trade : undefined;
        },
        (t) => ({ timeMs: Math.floor(t[2] * 1000), price: t[0], volume: t[1] }),
      );
      return { trades, lastNs: parseWire(KrakenTradesCursor, last, `${where} last`) };
    },
  },
};
