import { CALENDAR_MONTHS, everyMinutes, MONDAY_WEEKS, rowsUpTo, type BucketScheme, type SeriesRow } from "./candle-series.ts";
import { createAsciiWriter, type AsciiWriter } from "../ascii-writer.ts";
import type { SimMarket } from "./listings.ts";
import { unitAt } from "./noise.ts";
import { getSeries, priceDecimals, vwapTicks, type SimSeries } from "./price-model.ts";
import { wireTime, type SimCandleQuery } from "./candle-log.ts";
import { createFixedWindow } from "./rate-window.ts";
import { isDelisted, param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";
import { createSimUniverse, type SimUniverse } from "./universe.ts";

/**
 * Poloniex spot (v3): `/markets`, `/markets/{symbol}`, `/markets/{symbol}/candles`, `/timestamp`.
 * When the range holds more than `limit` candles, the MOST RECENT `limit` of it come back, oldest
 * first. Rows have 14 fields, low and high first. 200 requests per second (fixed window), then 429.
 * @see https://api-docs.poloniex.com/spot/api/public/market-data#candles
 */
export const POLONIEX_MAX_LIMIT = 500;
export const POLONIEX_DEFAULT_LIMIT = 100;
export const POLONIEX_REQUESTS_PER_SECOND = 200;
/** The code answered for an unknown symbol (the real one is unconfirmed). */
export const POLONIEX_UNKNOWN_SYMBOL_CODE = 21711;

const INTERVALS: Record<string, BucketScheme> = {
  MINUTE_1: everyMinutes(1),
  MINUTE_5: everyMinutes(5),
  MINUTE_10: everyMinutes(10),
  MINUTE_15: everyMinutes(15),
  MINUTE_30: everyMinutes(30),
  HOUR_1: everyMinutes(60),
  HOUR_2: everyMinutes(120),
  HOUR_4: everyMinutes(240),
  HOUR_6: everyMinutes(360),
  HOUR_12: everyMinutes(720),
  DAY_1: everyMinutes(1440),
  DAY_3: everyMinutes(3 * 1440),
  WEEK_1: MONDAY_WEEKS,
  MONTH_1: CALENDAR_MONTHS,
};

const failure = (status: number, code: number, message: string) => reply(status, { code, message });
const unknownSymbol = () => failure(400, POLONIEX_UNKNOWN_SYMBOL_CODE, "Invalid symbol!");

export function createPoloniexService(seed: number, universe: SimUniverse = createSimUniverse()): SimService {
  const perSecond = createFixedWindow(1000);

  /** The market a path segment names (tradable or not), unless delisted by a fault. */
  function marketOf(req: SimRequest, symbol: string): SimMarket | undefined {
    const market = universe.findMarket("poloniex", symbol);
    return market && !isDelisted(req.faults, market.coin) ? market : undefined;
  }

  function candles(req: SimRequest, symbol: string): SimReply {
    const q = req.query;
    const intervalName = param(q, "interval");
    if (intervalName === undefined) return failure(400, 602, "Missing Required Parameters: interval");
    const scheme = INTERVALS[intervalName];
    if (scheme === undefined) return failure(400, 601, "Invalid Parameter: interval");
    const market = marketOf(req, symbol);
    const series = market ? getSeries("poloniex", market.coin, seed) : undefined;
    if (!series) return unknownSymbol();
    const numbers: Record<string, number> = {};
    for (const name of ["limit", "startTime", "endTime"]) {
      const text = param(q, name);
      if (text === undefined) continue;
      if (!/^[0-9]{1,16}$/.test(text)) return failure(400, 601, `Invalid Parameter: ${name}`);
      numbers[name] = Number(text);
    }
    const limit = numbers.limit ?? POLONIEX_DEFAULT_LIMIT;
    if (limit < 1 || limit > POLONIEX_MAX_LIMIT) return failure(400, 601, "Invalid Parameter: limit");
    const window = { series, scheme, nowMs: req.nowMs, omitEmpty: req.faults.omitEmpty ?? false };
    const rows = rowsUpTo(window, numbers.startTime ?? 0, numbers.endTime ?? req.nowMs, limit);
    const w = createAsciiWriter(rows.length * 200 + 2);
    w.text("[");
    rows.forEach((row, i) => {
      if (i > 0) w.text(",");
      writeCandle(w, series, row, intervalName, req.nowMs);
    });
    w.text("]");
    return reply(200, w.bytes());
  }

  function markets(req: SimRequest, symbol: string | undefined): SimReply {
    if (symbol !== undefined) {
      const market = marketOf(req, symbol);
      return market ? reply(200, [marketInfo(market)]) : unknownSymbol();
    }
    return reply(200, universe.listings.poloniex.filter((m) => !isDelisted(req.faults, m.coin)).map(marketInfo));
  }

  function route(req: SimRequest): SimReply | undefined {
    if (req.path === "/timestamp") return reply(200, { serverTime: req.nowMs });
    // The futures (v3) product list, which ccxt's poloniex class loads beside the spot markets: we simulate spot only.
    if (req.path === SWAP_INSTRUMENTS) return reply(200, { code: "200", msg: "Success", data: [] });
    if (req.path === "/markets") return markets(req, undefined);
    const match = /^\/markets\/([^/]+)(\/candles)?$/.exec(req.path);
    if (!match) return undefined;
    const symbol = decodeURIComponent(match[1]!);
    return match[2] ? candles(req, symbol) : markets(req, symbol);
  }

  return {
    handle(req) {
      const limit = Math.max(1, Math.round(POLONIEX_REQUESTS_PER_SECOND * (req.faults.rateLimitScale ?? 1)));
      if (perSecond.used(req.nowMs) + 1 > limit) {
        return isKnownPath(req.path) ? failure(429, 429, "Too many requests, please try again later") : undefined;
      }
      const out = route(req);
      if (out) perSecond.add(req.nowMs, 1);
      return out;
    },
    reset: () => perSecond.clear(),
    candleQuery: candlesQuery,
  };
}

function candlesQuery(path: string, query: URLSearchParams): SimCandleQuery | undefined {
  const match = /^\/markets\/([^/]+)\/candles$/.exec(path);
  if (!match) return undefined;
  return { symbol: decodeURIComponent(match[1]!), interval: param(query, "interval") ?? null, startMs: wireTime(query, "startTime"), endMs: wireTime(query, "endTime") };
}

const SWAP_INSTRUMENTS = "/v3/market/allInstruments";

function isKnownPath(path: string): boolean {
  return path === "/timestamp" || path === SWAP_INSTRUMENTS || path === "/markets" || /^\/markets\/[^/]+(\/candles)?$/.test(path);
}

/**
 * `[low, high, open, close, amount(quote), quantity(base), buyTakerAmount, buyTakerQuantity,
 * tradeCount, ts, weightedAverage, interval, startTime, closeTime]`.
 */
function writeCandle(w: AsciiWriter, s: SimSeries, row: SeriesRow, interval: string, nowMs: number): void {
  const d = s.decimals;
  const price = (ticks: number) => {
    w.text('"');
    w.decimal(ticks, d, d);
    w.text('",');
  };
  // When the candle was last pushed: now for the open one, a few seconds after the close otherwise.
  const ts = row.inProgress ? nowMs : Math.min(nowMs, row.endMs + Math.floor(unitAt(s.key, row.openTimeMs / 60_000, 30) * 5000));
  const c = row.candle;
  w.text("[");
  if (c === null) {
    for (let i = 0; i < 4; i++) price(row.previousClose);
    w.text('"0","0","0","0",0,');
    w.int(ts);
    w.text(",");
    price(row.previousClose);
  } else {
    price(c.low);
    price(c.high);
    price(c.open);
    price(c.close);
    w.text('"');
    w.approx(c.quoteVolume, 4, 4);
    w.text('","');
    w.decimal(c.volumeUnits, 4, 6);
    w.text('","');
    w.approx((c.quoteVolume * c.takerBuyUnits) / c.volumeUnits, 4, 4);
    w.text('","');
    w.decimal(c.takerBuyUnits, 4, 6);
    w.text('",');
    w.int(c.trades);
    w.text(",");
    w.int(ts);
    w.text(",");
    price(vwapTicks(s, c));
  }
  w.text(`"${interval}",`);
  w.int(row.openTimeMs);
  w.text(",");
  w.int(row.endMs - 1);
  w.text("]");
}

function marketInfo(m: SimMarket) {
  const priceScale = priceDecimals(m.coin);
  return {
    symbol: m.symbol,
    baseCurrencyName: m.baseAsset,
    quoteCurrencyName: m.quoteAsset,
    displayName: `${m.baseAsset}/${m.quoteAsset}`,
    state: m.status,
    visibleStartTime: 1659018816626,
    tradableStartTime: 1659018816626,
    symbolTradeLimit: {
      symbol: m.symbol,
      priceScale,
      quantityScale: 4,
      amountScale: 4,
      minQuantity: "0.0001",
      minAmount: "1",
      maxQuantity: "10000000",
      maxAmount: "20000000",
      highestBid: "0",
      lowestAsk: "0",
    },
    crossMargin: { supportCrossMargin: false, maxLeverage: 1 },
  };
}
