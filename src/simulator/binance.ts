import type { SimMarket } from "./listings.ts";
import { CALENDAR_MONTHS, everyMinutes, MONDAY_WEEKS, rowsFrom, rowsUpTo, type BucketScheme, type SeriesRow } from "./candle-series.ts";
import { createAsciiWriter, type AsciiWriter } from "../ascii-writer.ts";
import { fixed } from "./decimal-text.ts";
import { wireTime, type SimCandleQuery } from "./candle-log.ts";
import { createFixedWindow } from "./rate-window.ts";
import { isDelisted, param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";
import { getSeries, priceDecimals, type SimSeries } from "./price-model.ts";
import { createSimUniverse, type SimUniverse } from "./universe.ts";

/**
 * Binance spot: `/api/v3/klines` (and `uiKlines`), `/api/v3/exchangeInfo`, `/api/v3/ping`, `/api/v3/time`.
 * Request weight is counted in fixed one-minute windows; every response reports it in
 * `X-MBX-USED-WEIGHT-1M`. Over the limit: 429 with `Retry-After`; a client that keeps calling
 * through several 429s is banned with 418 for two minutes.
 * @see https://github.com/binance/binance-spot-api-docs/blob/master/rest-api.md#klinecandlestick-data
 */
export const BINANCE_WEIGHT_LIMIT = 6000;
export const BINANCE_WEIGHTS = { klines: 2, exchangeInfo: 20, other: 1 } as const;
/** 429s tolerated in one window; the next refused request is answered 418 and starts a ban. */
export const BINANCE_REFUSALS_BEFORE_BAN = 5;
export const BINANCE_BAN_MS = 120_000;
export const BINANCE_MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 500;
const WINDOW_MS = 60_000;

/** Interval enum (case-sensitive: `1M` is a month, `1m` a minute). `1s` is not simulated. */
export const BINANCE_KLINE_INTERVALS: Record<string, BucketScheme> = {
  "1m": everyMinutes(1),
  "3m": everyMinutes(3),
  "5m": everyMinutes(5),
  "15m": everyMinutes(15),
  "30m": everyMinutes(30),
  "1h": everyMinutes(60),
  "2h": everyMinutes(120),
  "4h": everyMinutes(240),
  "6h": everyMinutes(360),
  "8h": everyMinutes(480),
  "12h": everyMinutes(720),
  "1d": everyMinutes(1440),
  "3d": everyMinutes(3 * 1440),
  "1w": MONDAY_WEEKS,
  "1M": CALENDAR_MONTHS,
};

const PRICE_PLACES = 8;

function error(status: number, code: number, msg: string): SimReply {
  return reply(status, { code, msg });
}

const mandatory = (name: string) => error(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
const illegal = (name: string) => error(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);

/** A millisecond time parameter (microseconds are accepted too, as Binance does). */
function timeParam(query: URLSearchParams, name: string): number | undefined | SimReply {
  const text = param(query, name);
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,20}$/.test(text)) return illegal(name);
  const value = Number(text);
  return value >= 1e14 ? Math.floor(value / 1000) : value;
}

export function createBinanceService(seed: number, universe: SimUniverse = createSimUniverse()): SimService {
  const weight = createFixedWindow(WINDOW_MS);
  let refusals = 0;
  let refusalWindowStart = Number.NaN;
  let bannedUntilMs = 0;

  function klines(req: SimRequest): SimReply {
    const q = req.query;
    const symbol = param(q, "symbol");
    if (symbol === undefined) return mandatory("symbol");
    const intervalName = param(q, "interval");
    if (intervalName === undefined) return mandatory("interval");
    const scheme = BINANCE_KLINE_INTERVALS[intervalName];
    if (scheme === undefined) return error(400, -1120, "Invalid interval.");
    const market = universe.findMarket("binance", symbol);
    const series = market && !isDelisted(req.faults, market.coin) ? getSeries("binance", market.coin, seed) : undefined;
    if (!market || !series) return error(400, -1121, "Invalid symbol.");
    const limitText = param(q, "limit");
    if (limitText !== undefined && !/^[0-9]{1,20}$/.test(limitText)) return illegal("limit");
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    if (limit < 1 || limit > BINANCE_MAX_LIMIT) return error(400, -1130, "Data sent for parameter 'limit' is not valid.");
    const start = timeParam(q, "startTime");
    if (typeof start === "object") return start;
    const end = timeParam(q, "endTime");
    if (typeof end === "object") return end;
    if (start !== undefined && end !== undefined && start > end) return error(400, -1023, "Start time is greater than end time.");
    const timeZone = param(q, "timeZone");
    if (timeZone !== undefined && !/^(\+|-)?0{1,2}(:00)?$/.test(timeZone)) {
      return error(400, -1100, "Illegal characters found in parameter 'timeZone'; only UTC (0) is simulated.");
    }
    const window = { series, scheme, nowMs: req.nowMs, omitEmpty: req.faults.omitEmpty ?? false };
    // With startTime: the first `limit` from there. Without: the most recent `limit` up to endTime (or now).
    const rows =
      start !== undefined ? rowsFrom(window, start, end ?? Number.POSITIVE_INFINITY, limit) : rowsUpTo(window, Number.NEGATIVE_INFINITY, end ?? Number.POSITIVE_INFINITY, limit);
    const w = createAsciiWriter(rows.length * 160 + 2);
    w.text("[");
    rows.forEach((row, i) => {
      if (i > 0) w.text(",");
      writeKline(w, series, row);
    });
    w.text("]");
    return reply(200, w.bytes());
  }

  function exchangeInfo(req: SimRequest): SimReply {
    const q = req.query;
    const scale = req.faults.rateLimitScale ?? 1;
    let markets = universe.listings.binance.filter((m) => !isDelisted(req.faults, m.coin));
    const one = param(q, "symbol");
    const many = param(q, "symbols");
    const status = param(q, "symbolStatus");
    if (status !== undefined && (one !== undefined || many !== undefined)) {
      return error(400, -1128, "Combination of optional parameters invalid.");
    }
    if (one !== undefined || many !== undefined) {
      let wanted: string[];
      try {
        const parsed: unknown = many === undefined ? [one] : JSON.parse(many);
        if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) throw new Error("not a list");
        wanted = parsed;
      } catch {
        return illegal("symbols");
      }
      const found = wanted.map((s) => markets.find((m) => m.symbol === s));
      if (found.some((m) => m === undefined)) return error(400, -1121, "Invalid symbol.");
      markets = found.filter((m): m is SimMarket => m !== undefined);
    }
    if (status !== undefined) markets = markets.filter((m) => m.status === status);
    return reply(200, {
      timezone: "UTC",
      serverTime: req.nowMs,
      rateLimits: [
        { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: weightLimit(scale) },
        { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 100 },
        { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: 200000 },
        { rateLimitType: "RAW_REQUESTS", interval: "MINUTE", intervalNum: 5, limit: 61000 },
      ],
      exchangeFilters: [],
      symbols: markets.map(symbolInfo),
    });
  }

  function route(req: SimRequest): { weight: number; run: (req: SimRequest) => SimReply } | undefined {
    switch (req.path) {
      case "/api/v3/klines":
      case "/api/v3/uiKlines":
        return { weight: BINANCE_WEIGHTS.klines, run: klines };
      case "/api/v3/exchangeInfo":
        return { weight: BINANCE_WEIGHTS.exchangeInfo, run: exchangeInfo };
      case "/api/v3/ping":
        return { weight: BINANCE_WEIGHTS.other, run: () => reply(200, {}) };
      case "/api/v3/time":
        return { weight: BINANCE_WEIGHTS.other, run: (r) => reply(200, { serverTime: r.nowMs }) };
      default:
        return undefined;
    }
  }

  return {
    handle(req) {
      const handler = route(req);
      if (!handler) return undefined;
      const now = req.nowMs;
      const limit = weightLimit(req.faults.rateLimitScale ?? 1);
      const usedHeader = () => ({ "X-MBX-USED-WEIGHT-1M": String(weight.used(now)) });
      const banned = () =>
        reply(
          418,
          { code: -1003, msg: `Way too much request weight used; IP banned until ${bannedUntilMs}. Please use WebSocket Streams for live updates to avoid bans.` },
          { ...usedHeader(), "Retry-After": String(Math.ceil((bannedUntilMs - now) / 1000)) },
        );
      if (now < bannedUntilMs) return banned();
      if (weight.used(now) + handler.weight > limit) {
        const windowStart = now - (WINDOW_MS - weight.resetInMs(now));
        if (windowStart !== refusalWindowStart) {
          refusalWindowStart = windowStart;
          refusals = 0;
        }
        refusals++;
        if (refusals > BINANCE_REFUSALS_BEFORE_BAN) {
          bannedUntilMs = now + BINANCE_BAN_MS;
          return banned();
        }
        return reply(
          429,
          {
            code: -1003,
            msg: `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
          },
          {
            ...usedHeader(),
            "Retry-After": String(Math.max(1, Math.ceil(weight.resetInMs(now) / 1000))),
          },
        );
      }
      weight.add(now, handler.weight);
      const out = handler.run(req);
      Object.assign(out.headers, usedHeader());
      return out;
    },
    reset() {
      weight.clear();
      refusals = 0;
      refusalWindowStart = Number.NaN;
      bannedUntilMs = 0;
    },
    candleQuery: klinesQuery,
  };
}

function klinesQuery(path: string, query: URLSearchParams): SimCandleQuery | undefined {
  if (path !== "/api/v3/klines" && path !== "/api/v3/uiKlines") return undefined;
  // Microseconds are read as Binance reads them.
  const ms = (name: string) => {
    const t = wireTime(query, name);
    return t !== null && t >= 1e14 ? Math.floor(t / 1000) : t;
  };
  return { symbol: param(query, "symbol") ?? null, interval: param(query, "interval") ?? null, startMs: ms("startTime"), endMs: ms("endTime") };
}

function weightLimit(scale: number): number {
  return Math.max(1, Math.round(BINANCE_WEIGHT_LIMIT * scale));
}

/** `[openTime, open, high, low, close, volume(base), closeTime, quoteVolume, trades, takerBuyBase, takerBuyQuote, "0"]` */
function writeKline(w: AsciiWriter, s: SimSeries, row: SeriesRow): void {
  const d = s.decimals;
  const price = (ticks: number) => {
    w.text('"');
    w.decimal(ticks, d, PRICE_PLACES);
    w.text('",');
  };
  const c = row.candle;
  w.text("[");
  w.int(row.openTimeMs);
  w.text(",");
  if (c === null) {
    for (let i = 0; i < 4; i++) price(row.previousClose);
    w.text('"0.00000000",');
    w.int(row.endMs - 1);
    w.text(',"0.00000000",0,"0.00000000","0.00000000","0"]');
    return;
  }
  price(c.open);
  price(c.high);
  price(c.low);
  price(c.close);
  w.text('"');
  w.decimal(c.volumeUnits, 4, 8);
  w.text('",');
  w.int(row.endMs - 1);
  w.text(',"');
  w.approx(c.quoteVolume, 4, 8);
  w.text('",');
  w.int(c.trades);
  w.text(',"');
  w.decimal(c.takerBuyUnits, 4, 8);
  w.text('","');
  w.approx(c.volumeUnits > 0 ? (c.quoteVolume * c.takerBuyUnits) / c.volumeUnits : 0, 4, 8);
  w.text('","0"]');
}

function symbolInfo(m: SimMarket) {
  const tick = fixed(1, priceDecimals(m.coin), 8);
  return {
    symbol: m.symbol,
    status: m.status,
    baseAsset: m.baseAsset,
    baseAssetPrecision: 8,
    quoteAsset: m.quoteAsset,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      { filterType: "PRICE_FILTER", minPrice: tick, maxPrice: "1000000.00000000", tickSize: tick },
      { filterType: "LOT_SIZE", minQty: fixed(1, 4, 8), maxQty: "9000000.00000000", stepSize: fixed(1, 4, 8) },
    ],
    permissions: [],
    permissionSets: [["SPOT"]],
    defaultSelfTradePreventionMode: "EXPIRE_MAKER",
    allowedSelfTradePreventionModes: ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
  };
}
