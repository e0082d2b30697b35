import { CALENDAR_MONTHS, everyMinutes, MONDAY_WEEKS, rowsUpTo, type BucketScheme, type SeriesRow } from "./candle-series.ts";
import { createAsciiWriter, type AsciiWriter } from "../ascii-writer.ts";
import { trimmed } from "./decimal-text.ts";
import type { SimMarket } from "./listings.ts";
import { getSeries, priceDecimals, type SimSeries } from "./price-model.ts";
import { wireTime, type SimCandleQuery } from "./candle-log.ts";
import { createFixedWindow } from "./rate-window.ts";
import { isDelisted, param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";
import { createSimUniverse, type SimUniverse } from "./universe.ts";

/**
 * KuCoin spot: `/api/v1/market/candles`, `/api/v2/symbols`, `/api/v1/timestamp`. Candles come
 * newest first, at most 1500 (the newest of the window), times in seconds as strings, intervals
 * without trades omitted. The body code is a string (`"200000"`). The public pool allows 2000 weight
 * per 30 s (fixed window); every answer carries the `gw-ratelimit-*` headers.
 * @see https://www.kucoin.com/docs/rest/spot-trading/market-data/get-klines
 */
export const KUCOIN_MAX_CANDLES = 1500;
export const KUCOIN_POOL_LIMIT = 2000;
export const KUCOIN_POOL_WINDOW_MS = 30_000;
export const KUCOIN_WEIGHTS = { candles: 3, symbols: 4, other: 1 } as const;

export const KUCOIN_CANDLE_TYPES: Record<string, BucketScheme> = {
  "1min": everyMinutes(1),
  "3min": everyMinutes(3),
  "5min": everyMinutes(5),
  "15min": everyMinutes(15),
  "30min": everyMinutes(30),
  "1hour": everyMinutes(60),
  "2hour": everyMinutes(120),
  "4hour": everyMinutes(240),
  "6hour": everyMinutes(360),
  "8hour": everyMinutes(480),
  "12hour": everyMinutes(720),
  "1day": everyMinutes(1440),
  "1week": MONDAY_WEEKS,
  "1month": CALENDAR_MONTHS,
};

const failure = (msg: string, status = 400, code = "400100") => reply(status, { code, msg });

export function createKucoinService(seed: number, universe: SimUniverse = createSimUniverse()): SimService {
  const pool = createFixedWindow(KUCOIN_POOL_WINDOW_MS);

  function candles(req: SimRequest): SimReply {
    const q = req.query;
    const symbol = param(q, "symbol");
    if (symbol === undefined) return failure("symbol can not be empty");
    const type = param(q, "type");
    const scheme = type === undefined ? undefined : KUCOIN_CANDLE_TYPES[type];
    if (scheme === undefined) return failure("Unsupported type");
    const market = universe.findMarket("kucoin", symbol);
    const series = market && !isDelisted(req.faults, market.coin) ? getSeries("kucoin", market.coin, seed) : undefined;
    if (!market || !series) return failure("This pair is not provided at present");
    const startText = param(q, "startAt") ?? "0";
    const endText = param(q, "endAt") ?? "0";
    if (!/^[0-9]{1,12}$/.test(startText) || !/^[0-9]{1,12}$/.test(endText)) return failure("startAt and endAt must be seconds");
    const endSeconds = Number(endText);
    const window = { series, scheme, nowMs: req.nowMs, omitEmpty: req.faults.omitEmpty ?? true };
    // Both bounds inclusive of a candle opening on them; endAt 0 means now.
    const rows = rowsUpTo(window, Number(startText) * 1000, endSeconds === 0 ? Number.POSITIVE_INFINITY : endSeconds * 1000, KUCOIN_MAX_CANDLES);
    const w = createAsciiWriter(rows.length * 110 + 32);
    w.text('{"code":"200000","data":[');
    for (let i = rows.length - 1; i >= 0; i--) {
      writeCandle(w, series, rows[i]!);
      if (i > 0) w.text(",");
    }
    w.text("]}");
    return reply(200, w.bytes());
  }

  function symbols(req: SimRequest): SimReply {
    const market = param(req.query, "market");
    const items = universe.listings.kucoin
      .filter((m) => !isDelisted(req.faults, m.coin))
      .filter((m) => market === undefined || marketGroup(m) === market)
      .map(symbolInfo);
    return reply(200, { code: "200000", data: items });
  }

  function route(path: string): { weight: number; run: (req: SimRequest) => SimReply } | undefined {
    switch (path) {
      case "/api/v1/market/candles":
        return { weight: KUCOIN_WEIGHTS.candles, run: candles };
      case "/api/v2/symbols":
        return { weight: KUCOIN_WEIGHTS.symbols, run: symbols };
      case "/api/v1/timestamp":
        return { weight: KUCOIN_WEIGHTS.other, run: (r) => reply(200, { code: "200000", data: r.nowMs }) };
      default:
        return undefined;
    }
  }

  return {
    handle(req) {
      const handler = route(req.path);
      if (!handler) return undefined;
      const now = req.nowMs;
      const limit = Math.max(1, Math.round(KUCOIN_POOL_LIMIT * (req.faults.rateLimitScale ?? 1)));
      const headers = () => ({
        "gw-ratelimit-limit": String(limit),
        "gw-ratelimit-remaining": String(Math.max(0, limit - pool.used(now))),
        "gw-ratelimit-reset": String(pool.resetInMs(now)),
      });
      const refused = pool.used(now) + handler.weight > limit;
      if (!refused) pool.add(now, handler.weight);
      const out = refused ? failure("Too Many Requests", 429, "429000") : handler.run(req);
      Object.assign(out.headers, headers());
      return out;
    },
    reset: () => pool.clear(),
    candleQuery: candlesQuery,
  };
}

function candlesQuery(path: string, query: URLSearchParams): SimCandleQuery | undefined {
  if (path !== "/api/v1/market/candles") return undefined;
  // 0 is no bound (endAt 0 means now).
  const seconds = (name: string) => wireTime(query, name, 1000) || null;
  return { symbol: param(query, "symbol") ?? null, interval: param(query, "type") ?? null, startMs: seconds("startAt"), endMs: seconds("endAt") };
}

/** `[time(s), open, close, high, low, volume(base), turnover(quote)]`, all strings. */
function writeCandle(w: AsciiWriter, s: SimSeries, row: SeriesRow): void {
  const d = s.decimals;
  const price = (ticks: number) => {
    w.text('"');
    w.trimmed(ticks, d);
    w.text('",');
  };
  const c = row.candle;
  w.text('["');
  w.int(row.openTimeMs / 1000);
  w.text('",');
  if (c === null) {
    for (let i = 0; i < 4; i++) price(row.previousClose);
    w.text('"0","0"]');
    return;
  }
  price(c.open);
  price(c.close);
  price(c.high);
  price(c.low);
  w.text('"');
  w.decimal(c.volumeUnits, 4, 8);
  w.text('","');
  w.trimmed(Math.round(c.quoteVolume * 10_000), 4);
  w.text('"]');
}

function marketGroup(m: SimMarket): string {
  return m.quote === "USDT" || m.quote === "USDC" ? "USDS" : "ALTS";
}

function symbolInfo(m: SimMarket) {
  const tick = trimmed(1, priceDecimals(m.coin));
  return {
    symbol: m.symbol,
    name: m.symbol,
    baseCurrency: m.baseAsset,
    quoteCurrency: m.quoteAsset,
    feeCurrency: m.quoteAsset,
    market: marketGroup(m),
    baseMinSize: "0.0001",
    quoteMinSize: "0.1",
    baseMaxSize: "10000000000",
    quoteMaxSize: "99999999",
    baseIncrement: "0.0001",
    quoteIncrement: tick,
    priceIncrement: tick,
    priceLimitRate: "0.1",
    minFunds: "0.1",
    isMarginEnabled: m.coin === "BTC" || m.coin === "ETH",
    enableTrading: m.tradable,
    feeCategory: 1,
    makerFeeCoefficient: "1.00",
    takerFeeCoefficient: "1.00",
    st: false,
    callauctionIsEnabled: false,
    callauctionPriceFloor: null,
    callauctionPriceCeiling: null,
    callauctionFirstStageStartTime: null,
    callauctionSecondStageStartTime: null,
    callauctionThirdStageStartTime: null,
    tradingStartTime: null,
  };
}
