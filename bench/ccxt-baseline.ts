/**
 * The end-to-end baseline: the same candles fetched with the `ccxt` package from the same simulator,
 * ccxt's built-in rate limiter on (`enableRateLimit: true`), one exchange instance per exchange,
 * every page of every coin requested at once (ccxt's throttler queues them), then the same CSV
 * written: 1-minute buckets, quiet minutes fed forward from the previous close, one file per day.
 *
 * ccxt is pointed at the simulator by overriding each instance's `urls.api`; a fetch guard refuses
 * anything but loopback, so nothing can leave the machine.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import ccxt, { type Exchange, type OHLCV, type Trade } from "ccxt";
import type { Candle } from "../src/domain/candle.ts";
import type { NativeExchangeId as ExchangeId } from "../src/exchanges/index.ts";
import type { Market } from "../src/exchanges/types.ts";
import type { SimServiceId } from "../src/simulator/server.ts";
import { renderCsvFiles } from "./candles.ts";

const MINUTE = 60_000;
/** The same look-back our pipeline takes for the close before the first bucket. */
export const SEED_MINUTES = 60;

export interface CcxtExchangeRun {
  exchange: ExchangeId;
  /** loadMarkets. */
  setupMs: number;
  /** From the common start of the fetch phase to this exchange's CSV written. */
  elapsedMs: number;
  candles: number;
  /** HTTP requests ccxt sent (through the guard). */
  requests: number;
  /** Kraken: pages of Trades, OHLC calls. */
  tradesCalls: number;
  ohlcCalls: number;
  /** Kraken: each pair's calls and when its last one returned (from the common start). */
  krakenPairs: PairCalls[];
}

/** One Kraken pair's calls in a backfill, and when its last call returned. */
export interface PairCalls {
  calls: number;
  doneMs: number;
}

export interface CcxtRun {
  exchanges: CcxtExchangeRun[];
  /** Requests the loopback guard refused (must be 0: ccxt must only talk to the simulator). */
  refused: number;
  ccxtVersion: string;
}

export interface CcxtRunOptions {
  baseUrls: Record<SimServiceId, string>;
  markets: ReadonlyMap<ExchangeId, readonly Market[]>;
  /** First and last bucket open to save (inclusive). */
  fromOpenMs: number;
  toOpenMs: number;
  csvDirectory: string;
}

type Ohlc = [number, number, number, number, number, number];

function createInstance(exchange: ExchangeId, baseUrl: string, count: () => void, refuse: (url: string) => never): Exchange {
  const options = { enableRateLimit: true };
  let ex: Exchange;
  switch (exchange) {
    case "binance":
      ex = new ccxt.binance({ ...options, options: { fetchMarkets: { types: ["spot"] } } });
      ex.urls.api = { ...ex.urls.api, public: `${baseUrl}/api/v3`, v1: `${baseUrl}/api/v1` };
      break;
    case "kraken":
      ex = new ccxt.kraken(options);
      ex.urls.api = { ...ex.urls.api, public: baseUrl };
      break;
    case "kucoin":
      // Spot only, and no fees from allTickers: not needed for candles, and not served by the simulator.
      ex = new ccxt.kucoin({ ...options, options: { fetchMarkets: { types: ["spot"], fetchTickersFees: false } } });
      ex.urls.api = { ...ex.urls.api, public: baseUrl };
      break;
    case "poloniex": {
      const polo = new ccxt.poloniex(options);
      polo.urls.api = { ...polo.urls.api, spot: baseUrl };
      // Spot markets only: its swap listing lives on another host.
      polo.fetchMarkets = (params) => polo.fetchSpotMarkets(params);
      ex = polo;
      break;
    }
  }
  // Currencies are not needed for candles, and each exchange lists them on an endpoint of its own.
  ex.has["fetchCurrencies"] = false;
  ex.fetchImplementation = (url: string, init: RequestInit) => {
    const host = new URL(url).hostname;
    if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") refuse(url);
    count();
    return fetch(url, init);
  };
  return ex;
}

/** Pages of at most `perPage` minutes covering [startMs, endMs). */
function pages(startMs: number, endMs: number, perPage: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = startMs; s < endMs; s += perPage * MINUTE) out.push([s, Math.min(endMs, s + perPage * MINUTE)]);
  return out;
}

/** One coin's 1-minute candles in [startMs, endMs) from the exchange's candles endpoint, pages concurrent. */
async function fetchMinutes(ex: Exchange, exchange: ExchangeId, symbol: string, startMs: number, endMs: number): Promise<OHLCV[]> {
  // Each page bounded on both ends: Poloniex answers a longer range with its most recent candles, and
  // KuCoin's endAt is inclusive (ccxt's own endAt would make a 1501st candle and lose the first).
  const perPage = exchange === "binance" ? 1000 : exchange === "kucoin" ? 1500 : 500;
  const results = await Promise.all(
    pages(startMs, endMs, perPage).map(([s, e]) =>
      exchange === "kucoin" ? ex.fetchOHLCV(symbol, "1m", s, perPage, { endAt: e / 1000 - 1 }) : ex.fetchOHLCV(symbol, "1m", s, perPage, { until: e - 1 }),
    ),
  );
  return results.flat();
}

/** Kraken: OHLC serves the last 720 minutes; older minutes are built from Trades, paged with its `last` cursor. */
async function fetchKrakenMinutes(ex: Exchange, symbol: string, startMs: number, endMs: number, calls: { trades: number; ohlc: number }): Promise<OHLCV[]> {
  calls.ohlc++;
  const recent = (await ex.fetchOHLCV(symbol, "1m", startMs)).filter((c) => c[0]! >= startMs && c[0]! + MINUTE <= endMs);
  const oldestServed = recent.length > 0 ? recent[0]![0]! : endMs;
  if (oldestServed <= startMs) return recent;
  const trades: Trade[] = [];
  let cursor: string | undefined;
  for (;;) {
    calls.trades++;
    const page = cursor === undefined ? await ex.fetchTrades(symbol, startMs, 1000) : await ex.fetchTrades(symbol, undefined, 1000, { since: cursor });
    if (page.length === 0) break;
    for (const t of page) if (t.timestamp !== undefined && t.timestamp >= startMs && t.timestamp < oldestServed) trades.push(t);
    const last = page.at(-1)!;
    // ccxt appends Kraken's `last` cursor to the last trade's raw row.
    const info = last.info as unknown[];
    const next = String(info.at(-1));
    if ((last.timestamp ?? Infinity) >= oldestServed || next === cursor) break;
    cursor = next;
  }
  const built = ex.buildOHLCVC(trades, "1m", startMs).map((c) => [c[0], c[1], c[2], c[3], c[4], c[5]] as OHLCV);
  return [...built, ...recent];
}

/** Saveable candles in [fromOpenMs, toOpenMs]: traded minutes as they are, quiet ones fed forward, none before a known close. */
export function toCandles(exchange: ExchangeId, coin: string, minutes: readonly OHLCV[], fromOpenMs: number, toOpenMs: number): Candle[] {
  const byOpen = new Map<number, Ohlc>();
  for (const m of minutes) byOpen.set(m[0]!, [m[0]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!]);
  let previousClose: number | undefined;
  for (let t = fromOpenMs - SEED_MINUTES * MINUTE; t < fromOpenMs; t += MINUTE) {
    const m = byOpen.get(t);
    if (m && m[5] > 0) previousClose = m[4];
  }
  const out: Candle[] = [];
  for (let t = fromOpenMs; t <= toOpenMs; t += MINUTE) {
    const m = byOpen.get(t);
    if (m && m[5] > 0) {
      out.push({ openTimeMs: t, open: m[1], high: m[2], low: m[3], close: m[4], volume: m[5], exchange, coin, intervalMinutes: 1, filled: false });
      previousClose = m[4];
    } else if (previousClose !== undefined) {
      const p = previousClose;
      out.push({ openTimeMs: t, open: p, high: p, low: p, close: p, volume: 0, exchange, coin, intervalMinutes: 1, filled: true });
    }
  }
  return out;
}

/** One CSV file per day, rows by time then coin, as the CSV sink lays them out. */
export function writeCsv(directory: string, candles: readonly Candle[]): void {
  for (const [name, text] of renderCsvFiles(candles)) writeFileSync(join(directory, name), text);
}

export async function runCcxtBackfill(options: CcxtRunOptions): Promise<CcxtRun> {
  let refused = 0;
  const refuse = (url: string): never => {
    refused++;
    throw new TypeError(`ccxt baseline: refused a request off loopback (${new URL(url).hostname})`);
  };
  const exchanges = [...options.markets.keys()];
  const requests = new Map<ExchangeId, number>(exchanges.map((e) => [e, 0]));
  const instances = new Map<ExchangeId, Exchange>();
  const setup = new Map<ExchangeId, number>();
  await Promise.all(
    exchanges.map(async (exchange) => {
      const ex = createInstance(exchange, options.baseUrls[exchange], () => requests.set(exchange, requests.get(exchange)! + 1), refuse);
      const t0 = performance.now();
      await ex.loadMarkets();
      setup.set(exchange, performance.now() - t0);
      instances.set(exchange, ex);
    }),
  );
  const startMs = options.fromOpenMs - SEED_MINUTES * MINUTE;
  const endMs = options.toOpenMs + MINUTE;
  const t0 = performance.now();
  const runs = await Promise.all(
    exchanges.map(async (exchange): Promise<CcxtExchangeRun> => {
      const ex = instances.get(exchange)!;
      const before = requests.get(exchange)!;
      const calls = { trades: 0, ohlc: 0 };
      const krakenPairs: PairCalls[] = [];
      const perCoin = await Promise.all(
        options.markets.get(exchange)!.map(async (market) => {
          const symbol = ex.safeMarket(market.symbol).symbol;
          if (!symbol || ex.markets?.[symbol] === undefined) throw new Error(`ccxt ${exchange} does not know the market ${market.symbol}`);
          let minutes: OHLCV[];
          if (exchange === "kraken") {
            const mine = { trades: 0, ohlc: 0 };
            minutes = await fetchKrakenMinutes(ex, symbol, startMs, endMs, mine);
            krakenPairs.push({ calls: mine.trades + mine.ohlc, doneMs: performance.now() - t0 });
            calls.trades += mine.trades;
            calls.ohlc += mine.ohlc;
          } else {
            minutes = await fetchMinutes(ex, exchange, symbol, startMs, endMs);
          }
          return toCandles(exchange, market.coin, minutes, options.fromOpenMs, options.toOpenMs);
        }),
      );
      const candles = perCoin.flat();
      writeCsv(options.csvDirectory, candles);
      return {
        exchange,
        setupMs: setup.get(exchange)!,
        elapsedMs: performance.now() - t0,
        candles: candles.length,
        requests: requests.get(exchange)! - before,
        tradesCalls: calls.trades,
        ohlcCalls: calls.ohlc,
        krakenPairs,
      };
    }),
  );
  return { exchanges: runs, refused, ccxtVersion: ccxt.version };
}
