import { bucketFloor, CALENDAR_MONTHS, everyMinutes, MONDAY_WEEKS, rowsFrom, rowsUpTo, type BucketScheme, type SeriesRow } from "./candle-series.ts";
import { createAsciiWriter, type AsciiWriter } from "../ascii-writer.ts";
import { trimmed } from "./decimal-text.ts";
import { findSimMarket, SIM_LISTINGS, type SimMarket } from "./listings.ts";
import { getSeries, priceDecimals, type SimSeries } from "./price-model.ts";
import { wireTime, type SimCandleQuery } from "./candle-log.ts";
import { isDelisted, param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";

/**
 * Bybit v5 public spot market data, as ccxt's `bybit` class calls it (served for the ccxt path; there
 * is no native adapter): `/v5/market/instruments-info`, `/v5/market/kline`, `/v5/market/time`.
 * Answers are `{retCode, retMsg, result, retExtInfo, time}`; errors keep HTTP 200 with `retCode`
 * 10001. Kline rows come newest first, all strings, the forming candle included. 600 requests in any
 * 5 s per IP; the request over it, and every request for the next 10 minutes, gets HTTP 403.
 * @see https://bybit-exchange.github.io/docs/v5/market/kline
 */
export const BYBIT_DEFAULT_LIMIT = 200;
export const BYBIT_MAX_LIMIT = 1000;
/** Requests allowed in any (sliding) window of `BYBIT_WINDOW_MS`, per IP, all endpoints together. */
export const BYBIT_REQUESTS_PER_WINDOW = 600;
export const BYBIT_WINDOW_MS = 5_000;
/** How long an IP stays refused after going over: the docs say at least 10 minutes (older pages: "usually 30"). */
export const BYBIT_BAN_MS = 10 * 60_000;
/** Parameter error, also the code of an unknown symbol (ccxt: BadRequest; "Not supported symbols" → BadSymbol). */
export const BYBIT_PARAM_ERROR = 10001;
export const BYBIT_UNKNOWN_SYMBOL_MSG = "Not supported symbols";
/** The body of a 403: not JSON, so ccxt maps it by status (`httpExceptions['403']`, RateLimitExceeded). UNCONFIRMED wording. */
export const BYBIT_BANNED_BODY = "access too frequent";

const INTERVALS: Record<string, BucketScheme> = {
  "1": everyMinutes(1),
  "3": everyMinutes(3),
  "5": everyMinutes(5),
  "15": everyMinutes(15),
  "30": everyMinutes(30),
  "60": everyMinutes(60),
  "120": everyMinutes(120),
  "240": everyMinutes(240),
  "360": everyMinutes(360),
  "720": everyMinutes(720),
  D: everyMinutes(1440),
  W: MONDAY_WEEKS,
  M: CALENDAR_MONTHS,
};

const CATEGORIES = new Set(["spot", "linear", "inverse", "option"]);
/** Volumes are whole 1e-4 of the coin (the price model's unit). */
const BASE_PRECISION = "0.0001";

/** `{retCode, retMsg, result, retExtInfo, time}`, always HTTP 200 (errors included). */
function envelope(nowMs: number, result: unknown, retCode = 0, retMsg = "OK"): SimReply {
  return reply(200, { retCode, retMsg, result, retExtInfo: {}, time: nowMs }, {}, retCode === 0 ? "ok" : "error");
}

const paramError = (nowMs: number, msg: string) => envelope(nowMs, {}, BYBIT_PARAM_ERROR, msg);
// Messages other than "Not supported symbols" (quoted in ccxt's exceptions table) are UNCONFIRMED.
const illegalCategory = (nowMs: number) => paramError(nowMs, "Illegal category");
const unknownSymbol = (nowMs: number) => paramError(nowMs, BYBIT_UNKNOWN_SYMBOL_MSG);

export function createBybitService(seed: number): SimService {
  const recent = createSlidingLog(BYBIT_WINDOW_MS);
  let bannedUntilMs = 0;

  /** A listed, not delisted market; its series always exists (every Bybit coin is priced). */
  function marketOf(req: SimRequest, symbol: string): SimMarket | undefined {
    const market = findSimMarket("bybit", symbol);
    return market && !isDelisted(req.faults, market.coin) ? market : undefined;
  }

  function kline(req: SimRequest): SimReply {
    const q = req.query;
    const now = req.nowMs;
    // `category` defaults to linear (the docs). The simulator lists no derivatives, so a spot symbol
    // asked without `category=spot` is an unknown linear symbol, never the spot candles (on the real
    // exchange BTCUSDT would answer with the perpetual's candles, a different market).
    const category = param(q, "category") ?? "linear";
    if (category !== "spot" && category !== "linear" && category !== "inverse") return illegalCategory(now);
    const symbol = param(q, "symbol");
    if (symbol === undefined) return paramError(now, "params error: symbol is required");
    const intervalName = param(q, "interval");
    const scheme = intervalName === undefined ? undefined : INTERVALS[intervalName];
    if (scheme === undefined) return paramError(now, "params error: invalid interval");
    const market = category === "spot" ? marketOf(req, symbol) : undefined;
    const series = market ? getSeries("bybit", market.coin, seed) : undefined;
    if (!market || !series) return unknownSymbol(now);
    const numbers: Record<string, number> = {};
    for (const name of ["start", "end", "limit"]) {
      const text = param(q, name);
      if (text === undefined) continue;
      if (!/^[0-9]{1,16}$/.test(text)) return paramError(now, `params error: ${name} invalid`);
      numbers[name] = Number(text);
    }
    const limit = numbers.limit ?? BYBIT_DEFAULT_LIMIT;
    if (limit < 1 || limit > BYBIT_MAX_LIMIT) return paramError(now, "params error: limit must be in [1, 1000]");
    const window = { series, scheme, nowMs: now, omitEmpty: req.faults.omitEmpty ?? false };
    // Buckets from the one holding `start` to the one holding `end` (a bucket opening at or before
    // `end` is in: OBSERVED, mirumirumi/ro-soku#3), never past now. The docs do not say which rows
    // a range longer than `limit` gives. With `start`: the OLDEST `limit` (OBSERVED: `start=9999&
    // limit=1` gives the first candle ever, pybit#186; ccxt's paginate mode sends the same `end`
    // with every page and relies on it). Without `start`: the newest `limit` up to `end` (or now).
    const end = numbers.end ?? Number.POSITIVE_INFINITY;
    const rows = numbers.start !== undefined ? rowsFrom(window, bucketFloor(scheme, numbers.start), end, limit) : rowsUpTo(window, Number.NEGATIVE_INFINITY, end, limit);
    const w = createAsciiWriter(rows.length * 120 + 200);
    w.text(`{"retCode":0,"retMsg":"OK","result":{"category":"spot","symbol":"${market.symbol}","list":[`);
    for (let i = rows.length - 1; i >= 0; i--) {
      writeKline(w, series, rows[i]!);
      if (i > 0) w.text(",");
    }
    w.text(']},"retExtInfo":{},"time":');
    w.int(now);
    w.text("}");
    return reply(200, w.bytes());
  }

  function instruments(req: SimRequest): SimReply {
    const q = req.query;
    const now = req.nowMs;
    const category = param(q, "category");
    if (category === undefined || !CATEGORIES.has(category)) return illegalCategory(now);
    const symbol = param(q, "symbol");
    const status = param(q, "status");
    // Only spot is simulated: the derivative categories list nothing (and no further page).
    // The docs say spot lists `Trading` symbols only; the simulator also lists its `Suspending`
    // ones (ccxt: active false) so a client meets a halted market. An unknown symbol: an empty list.
    const list =
      category !== "spot"
        ? []
        : SIM_LISTINGS.bybit
            .map((m, i) => ({ m, id: i + 1 }))
            .filter(({ m }) => !isDelisted(req.faults, m.coin))
            .filter(({ m }) => (symbol === undefined || m.symbol === symbol) && (status === undefined || m.status === status))
            .map(({ m, id }) => instrumentInfo(m, id));
    return envelope(now, { category, list, nextPageCursor: "" });
  }

  function route(req: SimRequest): SimReply | undefined {
    switch (req.path) {
      case "/v5/market/kline":
        return kline(req);
      case "/v5/market/instruments-info":
        return instruments(req);
      case "/v5/market/time":
        return envelope(req.nowMs, { timeSecond: String(Math.floor(req.nowMs / 1000)), timeNano: `${req.nowMs}000000` });
      default:
        return undefined;
    }
  }

  return {
    handle(req) {
      const now = req.nowMs;
      const limit = Math.max(1, Math.round(BYBIT_REQUESTS_PER_WINDOW * (req.faults.rateLimitScale ?? 1)));
      // The IP limit is the gateway's: it counts and refuses every path, known or not.
      if (now >= bannedUntilMs && recent.count(now, limit) >= limit) bannedUntilMs = now + BYBIT_BAN_MS;
      if (now < bannedUntilMs) {
        return reply(403, BYBIT_BANNED_BODY, { "content-type": "text/plain", ...limitHeaders(limit, 0, bannedUntilMs) }, "banned");
      }
      recent.add(now, limit);
      const out = route(req);
      if (out) Object.assign(out.headers, limitHeaders(limit, limit - recent.count(now, limit), now));
      return out;
    },
    reset() {
      recent.clear();
      bannedUntilMs = 0;
    },
    candleQuery: klineQuery,
  };
}

function klineQuery(path: string, query: URLSearchParams): SimCandleQuery | undefined {
  if (path !== "/v5/market/kline") return undefined;
  return { symbol: param(query, "symbol") ?? null, interval: param(query, "interval") ?? null, startMs: wireTime(query, "start"), endMs: wireTime(query, "end") };
}

/** Remaining requests, and when the limit resets: now while not exceeded (the docs), else the ban's end. */
function limitHeaders(limit: number, remaining: number, resetMs: number): Record<string, string> {
  return {
    "X-Bapi-Limit": String(limit),
    "X-Bapi-Limit-Status": String(Math.max(0, remaining)),
    "X-Bapi-Limit-Reset-Timestamp": String(resetMs),
  };
}

/**
 * The times of the last `limit` requests, oldest first, in a ring: the oldest of them tells whether
 * `limit` requests fell in the sliding window. Assumes the clock does not run backwards (a test
 * that sets it back calls `reset`); if it does, the refusal errs on the strict side.
 */
function createSlidingLog(windowMs: number) {
  let ring = new Float64Array(0);
  let start = 0;
  let size = 0;
  const at = (i: number) => ring[(start + i) % ring.length]!;
  /** Keeps the newest `limit` times when the scale changes the limit. */
  const fit = (limit: number) => {
    if (ring.length === limit) return;
    const keep = Math.min(size, limit);
    const next = new Float64Array(limit);
    for (let i = 0; i < keep; i++) next[i] = at(size - keep + i);
    ring = next;
    start = 0;
    size = keep;
  };
  return {
    /** Requests in (now - window, now]. */
    count(nowMs: number, limit: number): number {
      fit(limit);
      let lo = 0;
      let hi = size;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (at(mid) > nowMs - windowMs) hi = mid;
        else lo = mid + 1;
      }
      return size - lo;
    },
    add(nowMs: number, limit: number): void {
      fit(limit);
      if (size < ring.length) {
        ring[(start + size) % ring.length] = nowMs;
        size++;
      } else {
        ring[start] = nowMs;
        start = (start + 1) % ring.length;
      }
    },
    clear(): void {
      start = 0;
      size = 0;
    },
  };
}

/** `[startTime, open, high, low, close, volume(base), turnover(quote)]`, all strings; a quiet bucket repeats the previous close. */
function writeKline(w: AsciiWriter, s: SimSeries, row: SeriesRow): void {
  const d = s.decimals;
  const price = (ticks: number) => {
    w.text('"');
    w.trimmed(ticks, d);
    w.text('",');
  };
  const c = row.candle;
  w.text('["');
  w.int(row.openTimeMs);
  w.text('",');
  if (c === null) {
    for (let i = 0; i < 4; i++) price(row.previousClose);
    w.text('"0","0"]');
    return;
  }
  price(c.open);
  price(c.high);
  price(c.low);
  price(c.close);
  w.text('"');
  w.trimmed(c.volumeUnits, 4);
  w.text('","');
  const turnover = Math.round(c.quoteVolume * 10_000);
  if (Number.isSafeInteger(turnover) && turnover >= 0) w.trimmed(turnover, 4);
  else w.text(c.quoteVolume.toFixed(4));
  w.text('"]');
}

/** A spot instrument with every field ccxt's `fetchSpotMarkets` reads (and the rest of the documented ones). */
function instrumentInfo(m: SimMarket, symbolId: number) {
  const major = m.coin === "BTC" || m.coin === "ETH";
  return {
    symbolId,
    symbol: m.symbol,
    baseCoin: m.baseAsset,
    quoteCoin: m.quoteAsset,
    innovation: "0",
    symbolType: "",
    status: m.status,
    marginTrading: major ? "utaOnly" : "none",
    stTag: "0",
    lotSizeFilter: {
      basePrecision: BASE_PRECISION,
      quotePrecision: "0.00000001",
      minOrderQty: BASE_PRECISION,
      maxOrderQty: "10000000",
      minOrderAmt: "5",
      maxOrderAmt: "8000000",
      maxLimitOrderQty: "10000000",
      maxMarketOrderQty: "5000000",
      postOnlyMaxLimitOrderSize: "60000",
    },
    priceFilter: { tickSize: trimmed(1, priceDecimals(m.coin)) },
    riskParameters: { priceLimitRatioX: "0.005", priceLimitRatioY: "0.01" },
  };
}
