import { MINUTE_MS } from "../domain/interval.ts";
import { bucketBack, bucketFloor, currentRow, everyMinutes, MONDAY_WEEKS, rowsFrom, type BucketScheme, type SeriesRow } from "./candle-series.ts";
import { createAsciiWriter, type AsciiWriter } from "../ascii-writer.ts";
import { fixed } from "./decimal-text.ts";
import type { SimMarket } from "./listings.ts";
import { getSeries, minuteTicks, priceDecimals, SIM_LISTED_FROM_MS, vwapTicks, type SimSeries, type TickCandle } from "./price-model.ts";
import { wireTime, type SimCandleQuery } from "./candle-log.ts";
import { createDecayingCounters } from "./rate-window.ts";
import { isDelisted, param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";
import { minuteTrades } from "./trades.ts";
import { createSimUniverse, type SimUniverse } from "./universe.ts";

/**
 * Kraken spot: `/0/public/OHLC`, `/0/public/Trades`, `/0/public/AssetPairs`, `/0/public/Time`.
 * Errors come inside HTTP 200 (`{"error":["EQuery:Unknown asset pair"]}`). OHLC serves only the 720
 * most recent entries and always ends with the candle still in progress. OHLC and Trades are
 * throttled per pair, everything else per IP: a counter rises by one per call and decays by one per
 * second, and a call that would take it above 3 is refused with `EGeneral:Too many requests`.
 * @see https://docs.kraken.com/api-reference/market-data/get-ohlc-data
 */
export const KRAKEN_OHLC_ENTRIES = 720;
export const KRAKEN_MAX_TRADES = 1000;
/** Calls a counter may hold (each decays after a second); refused calls add to it up to the penalty cap. */
export const KRAKEN_COUNTER_MAX = 3;
const PENALTY_CALLS = 3;
const INTERVALS = new Set([1, 5, 15, 30, 60, 240, 1440, 10080, 21600]);
const TRADES_SINCE_SECONDS_BELOW = 10n ** 13n;

const failure = (message: string): SimReply => reply(200, { error: [message] }, {}, "error");
const invalidArguments = () => failure("EGeneral:Invalid arguments");
const unknownPair = () => failure("EQuery:Unknown asset pair");

function schemeOf(minutes: number): BucketScheme {
  return minutes === 10080 ? MONDAY_WEEKS : everyMinutes(minutes);
}

export function createKrakenService(seed: number, universe: SimUniverse = createSimUniverse()): SimService {
  const counters = createDecayingCounters(1);

  /** The tradable-or-not market a `pair` names, unless delisted by a fault. */
  function marketOf(req: SimRequest): SimMarket | undefined {
    const pair = param(req.query, "pair");
    const market = pair === undefined ? undefined : universe.findMarket("kraken", pair);
    return market && !isDelisted(req.faults, market.coin) ? market : undefined;
  }

  function ohlc(req: SimRequest, market: SimMarket, series: SimSeries): SimReply {
    const intervalText = param(req.query, "interval") ?? "1";
    const minutes = /^[0-9]+$/.test(intervalText) ? Number(intervalText) : Number.NaN;
    const sinceText = param(req.query, "since");
    if (!INTERVALS.has(minutes) || (sinceText !== undefined && !/^-?[0-9]+$/.test(sinceText))) return invalidArguments();
    const sinceSeconds = sinceText === undefined ? Number.NEGATIVE_INFINITY : Number(sinceText);
    const scheme = schemeOf(minutes);
    const window = { series, scheme, nowMs: req.nowMs, omitEmpty: req.faults.omitEmpty ?? false };
    const currentOpen = bucketFloor(scheme, req.nowMs);
    const rows = rowsFrom(window, bucketBack(scheme, currentOpen, KRAKEN_OHLC_ENTRIES - 1), currentOpen, KRAKEN_OHLC_ENTRIES);
    // The candle in progress always comes last, even before its first trade.
    if (rows.at(-1)?.openTimeMs !== currentOpen) {
      const current = currentRow(window);
      if (current !== null) rows.push(current);
    }
    const shown = rows.filter((row, i) => row.openTimeMs / 1000 > sinceSeconds || i === rows.length - 1);
    const last = bucketBack(scheme, currentOpen, 1) / 1000;
    const w = createAsciiWriter(shown.length * 110 + 64);
    w.text(`{"error":[],"result":{${JSON.stringify(market.symbol)}:[`);
    shown.forEach((row, i) => {
      if (i > 0) w.text(",");
      writeOhlcRow(w, series, row);
    });
    w.text(`],"last":${last}}}`);
    return reply(200, w.bytes());
  }

  function trades(req: SimRequest, market: SimMarket, series: SimSeries): SimReply {
    const sinceText = param(req.query, "since") ?? "0";
    const countText = param(req.query, "count") ?? String(KRAKEN_MAX_TRADES);
    if (!/^[0-9]{1,25}$/.test(sinceText) || !/^[0-9]{1,4}$/.test(countText)) return invalidArguments();
    const count = Number(countText);
    if (count < 1 || count > KRAKEN_MAX_TRADES) return invalidArguments();
    let sinceNs = BigInt(sinceText);
    // Whole seconds are accepted too (ccxt sends them); 0 means from the start of the market.
    if (sinceNs < TRADES_SINCE_SECONDS_BELOW) sinceNs *= 1_000_000_000n;
    const startNs = BigInt(SIM_LISTED_FROM_MS) * 1_000_000n;
    const fromMs = Number((sinceNs > startNs ? sinceNs : startNs) / 1_000_000n);
    const nowTenthMs = req.nowMs * 10;
    const rows: string[] = [];
    let lastNs = sinceNs;
    for (let minute = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS; minute <= req.nowMs && rows.length < count; minute += MINUTE_MS) {
      const candle: TickCandle | null = minuteTicks(series, minute);
      if (candle === null) continue;
      for (const t of minuteTrades(series, candle)) {
        if (t.timeTenthMs > nowTenthMs) break;
        const ns = BigInt(t.timeTenthMs) * 100_000n;
        if (ns <= sinceNs) continue;
        rows.push(`["${fixed(t.price, series.decimals)}","${fixed(t.volumeUnits, 4, 8)}",${t.timeTenthMs / 10_000},"${t.side}","${t.orderType}","",${t.id}]`);
        lastNs = ns;
        if (rows.length >= count) break;
      }
    }
    return reply(200, `{"error":[],"result":{${JSON.stringify(market.symbol)}:[${rows.join(",")}],"last":"${lastNs}"}}`);
  }

  function assetPairs(req: SimRequest): SimReply {
    const listed = universe.listings.kraken.filter((m) => !isDelisted(req.faults, m.coin));
    const wanted = param(req.query, "pair");
    let markets = listed;
    if (wanted !== undefined) {
      const found = wanted.split(",").map((name) => listed.find((m) => m.symbol === name || m.altname === name));
      if (found.some((m) => m === undefined)) return unknownPair();
      markets = found.filter((m): m is SimMarket => m !== undefined);
    }
    const result: Record<string, unknown> = {};
    for (const m of markets) result[m.symbol] = assetPair(m);
    // Kraken also lists tokenized stocks (`aclass_base: tokenized_asset`): not coins, no candles here.
    if (wanted === undefined) for (const stock of TOKENIZED_STOCKS) result[`${stock}USD`] = tokenizedStockPair(stock);
    return reply(200, { error: [], result });
  }

  /** Throttle: per pair for OHLC and Trades, per IP otherwise. Returns the refusal, if any. */
  function throttle(req: SimRequest, key: string): SimReply | undefined {
    const max = KRAKEN_COUNTER_MAX * (req.faults.rateLimitScale ?? 1);
    if (counters.level(key, req.nowMs) + 1 > max) {
      counters.add(key, req.nowMs, 1, max + PENALTY_CALLS);
      return reply(200, { error: ["EGeneral:Too many requests"] }, {}, "rateLimited");
    }
    counters.add(key, req.nowMs, 1, Number.POSITIVE_INFINITY);
    return undefined;
  }

  return {
    handle(req) {
      switch (req.path) {
        case "/0/public/OHLC":
        case "/0/public/Trades": {
          const market = marketOf(req);
          const refused = throttle(req, market ? `pair:${market.symbol}` : "ip");
          if (refused) return refused;
          if (param(req.query, "pair") === undefined) return invalidArguments();
          const series = market ? getSeries("kraken", market.coin, seed) : undefined;
          if (!market || !series) return unknownPair();
          return req.path === "/0/public/OHLC" ? ohlc(req, market, series) : trades(req, market, series);
        }
        case "/0/public/AssetPairs":
          return throttle(req, "ip") ?? assetPairs(req);
        case "/0/public/Time":
          return throttle(req, "ip") ?? reply(200, { error: [], result: { unixtime: Math.floor(req.nowMs / 1000), rfc1123: new Date(req.nowMs).toUTCString() } });
        default:
          return undefined;
      }
    },
    reset: () => counters.clear(),
    candleQuery: ohlcQuery,
  };
}

/** OHLC has no upper bound: it always ends with the candle in progress. */
function ohlcQuery(path: string, query: URLSearchParams): SimCandleQuery | undefined {
  if (path !== "/0/public/OHLC") return undefined;
  return { symbol: param(query, "pair") ?? null, interval: param(query, "interval") ?? "1", startMs: wireTime(query, "since", 1000), endMs: null };
}

/** `[time(s), open, high, low, close, vwap, volume(base), count]`; a row without trades has vwap "0.00000". */
function writeOhlcRow(w: AsciiWriter, s: SimSeries, row: SeriesRow): void {
  const d = s.decimals;
  const price = (ticks: number) => {
    w.text('"');
    w.decimal(ticks, d, d);
    w.text('",');
  };
  const c = row.candle;
  w.text("[");
  w.int(row.openTimeMs / 1000);
  w.text(",");
  if (c === null) {
    for (let i = 0; i < 4; i++) price(row.previousClose);
    w.text('"0.00000","0.00000000",0]');
    return;
  }
  price(c.open);
  price(c.high);
  price(c.low);
  price(c.close);
  price(vwapTicks(s, c));
  w.text('"');
  w.decimal(c.volumeUnits, 4, 8);
  w.text('",');
  w.int(c.trades);
  w.text("]");
}

/** Tokenized stocks Kraken lists beside its coins (xStocks). `NEOx` shares a letter stem with a coin. */
export const TOKENIZED_STOCKS = ["AAPLx", "TSLAx", "NEOx"] as const;

function tokenizedStockPair(stock: string) {
  return {
    altname: `${stock}USD`,
    wsname: `${stock}/USD`,
    aclass_base: "tokenized_asset",
    base: stock,
    aclass_quote: "currency",
    quote: "ZUSD",
    lot: "unit",
    cost_decimals: 5,
    pair_decimals: 2,
    lot_decimals: 8,
    lot_multiplier: 1,
    leverage_buy: [],
    leverage_sell: [],
    fees: [[0, 0.4]],
    fees_maker: [[0, 0.25]],
    fee_volume_currency: "ZUSD",
    margin_call: 80,
    margin_stop: 40,
    ordermin: "0.1",
    costmin: "0.5",
    tick_size: "0.01",
    status: "online",
  };
}

function assetPair(m: SimMarket) {
  const decimals = priceDecimals(m.coin);
  return {
    altname: m.altname,
    wsname: m.wsname,
    aclass_base: "currency",
    base: m.baseAsset,
    aclass_quote: "currency",
    quote: m.quoteAsset,
    lot: "unit",
    cost_decimals: 5,
    pair_decimals: decimals,
    lot_decimals: 8,
    lot_multiplier: 1,
    leverage_buy: [],
    leverage_sell: [],
    fees: [
      [0, 0.4],
      [10000, 0.35],
      [50000, 0.24],
    ],
    fees_maker: [
      [0, 0.25],
      [10000, 0.2],
      [50000, 0.14],
    ],
    fee_volume_currency: "ZUSD",
    margin_call: 80,
    margin_stop: 40,
    ordermin: "0.0001",
    costmin: "0.5",
    tick_size: fixed(1, decimals),
    status: m.status,
  };
}
