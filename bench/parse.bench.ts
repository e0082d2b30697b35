/**
 * Parsing + normalising one full page per exchange (what the engine does with every body: the
 * adapter's text scanner where it has one, else `JSON.parse` and `parseCandles`), against a plain
 * `JSON.parse` of the same body; and the same with the fast paths off (`JSON.parse` + the zod
 * schemas), for reference. The bodies come from the simulator, in each exchange's wire format.
 */
import type { RawCandle } from "../src/domain/candle.ts";
import type { NativeExchangeId as ExchangeId } from "../src/exchanges/index.ts";
import { NATIVE_EXCHANGES as EXCHANGES } from "../src/exchanges/index.ts";
import type { ExchangeAdapter, Market } from "../src/exchanges/types.ts";
import { createSimulator } from "../src/simulator/server.ts";
import { findSimMarket, simMinute } from "../src/simulator/market-data.ts";
import { compare, type TimingOptions } from "./compare.ts";
import type { BenchContext, Section } from "./results.ts";
import { check, fmtMs, fmtRatio, fmtRate } from "./results.ts";

/** A fixed instant, so the bodies (and the figures) are the same on every run. */
const PAGE_NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 30);
const MINUTE = 60_000;

interface PageSpec {
  exchange: ExchangeId;
  symbol: string;
  coin: string;
  rows: number;
  path: (startMs: number, endMs: number) => string;
}

/** One full page each: Binance 1000 klines, Kraken 720 OHLC rows, KuCoin 1500, Poloniex 500. */
const PAGES: PageSpec[] = [
  {
    exchange: "binance",
    symbol: "BTCUSDT",
    coin: "BTC",
    rows: 1000,
    path: (s, e) => `/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${s}&endTime=${e - 1}&limit=1000`,
  },
  { exchange: "kraken", symbol: "XXBTZUSD", coin: "BTC", rows: 720, path: (s) => `/kraken/0/public/OHLC?pair=XXBTZUSD&interval=1&since=${s / 1000 - 60}` },
  {
    exchange: "kucoin",
    symbol: "BTC-USDT",
    coin: "BTC",
    rows: 1500,
    path: (s, e) => `/kucoin/api/v1/market/candles?symbol=BTC-USDT&type=1min&startAt=${s / 1000}&endAt=${e / 1000 - 1}`,
  },
  {
    exchange: "poloniex",
    symbol: "BTC_USDT",
    coin: "BTC",
    rows: 500,
    path: (s, e) => `/poloniex/markets/BTC_USDT/candles?interval=MINUTE_1&startTime=${s}&endTime=${e - 1}&limit=500`,
  },
];

export interface ParseCase {
  exchange: ExchangeId;
  body: string;
  rows: number;
  parse: () => RawCandle[];
  /** JSON.parse and the zod schemas, every fast path off. */
  schemaParse: () => RawCandle[];
  /** Whether the engine's path reads this page without JSON.parse. */
  scanned: boolean;
  baseline: () => unknown;
}

/** Fetches each page from an in-process simulator and checks that parsing it gives the right candles. */
export async function prepareParse(): Promise<ParseCase[]> {
  // KuCoin omits quiet minutes by default; ask for every row so that its page is a full 1500.
  const sim = createSimulator({ clock: { now: () => PAGE_NOW_MS, sleep: async () => {} }, faults: { kucoin: { omitEmpty: false } } });
  const cases: ParseCase[] = [];
  for (const page of PAGES) {
    const adapter: ExchangeAdapter = EXCHANGES[page.exchange]!;
    const currentOpen = Math.floor(PAGE_NOW_MS / MINUTE) * MINUTE;
    // Kraken serves the most recent 720 minutes (the open one last); the others a closed window.
    const endMs = currentOpen;
    const startMs = endMs - page.rows * MINUTE;
    const response = await sim.fetch(new Request(`http://sim${page.path(startMs, endMs)}`));
    const body = await response.text();
    check(response.status === 200, `${page.exchange} page: status ${response.status}`);
    const sim_ = findSimMarket(page.exchange, page.symbol);
    check(sim_ !== undefined, `${page.exchange} ${page.symbol} is not listed by the simulator`);
    const market: Market = { coin: page.coin, symbol: page.symbol, quote: sim_!.quote };
    const context = { market, intervalMinutes: 1 };
    // As the engine (src/http/client.ts) does with a successful body.
    const parse = () => adapter.parseCandlesText?.(body, context) ?? adapter.parseCandles(JSON.parse(body), context);
    const schemaParse = () => {
      adapter.wire!.fast = false;
      try {
        return adapter.parseCandles(JSON.parse(body), context);
      } finally {
        adapter.wire!.fast = true;
      }
    };
    const candles = parse();
    const scanned = adapter.parseCandlesText?.(body, context) !== undefined;
    check(scanned === (adapter.parseCandlesText !== undefined), `${page.exchange}: the text scanner ${scanned ? "read" : "did not read"} the page`);
    check(Bun.deepEquals(schemaParse(), candles, true), `${page.exchange}: the fast path and the schemas give different candles`);
    check(candles.length === page.rows, `${page.exchange}: parsed ${candles.length} candles, expected ${page.rows}`);
    // Every closed minute must be the simulator's own candle (Kraken's last row is the open minute).
    let compared = 0;
    for (const c of candles) {
      if (c.openTimeMs >= currentOpen) continue;
      const want = simMinute(page.exchange, page.coin, c.openTimeMs);
      if (want === null) {
        check(c.volume === 0, `${page.exchange} ${new Date(c.openTimeMs).toISOString()}: a quiet minute with volume ${c.volume}`);
      } else {
        check(
          c.open === want.open && c.high === want.high && c.low === want.low && c.close === want.close && c.volume === want.volume,
          `${page.exchange} ${new Date(c.openTimeMs).toISOString()}: parsed ${JSON.stringify(c)}, simulator says ${JSON.stringify(want)}`,
        );
      }
      compared++;
    }
    check(compared >= page.rows - 1, `${page.exchange}: only ${compared} closed minutes compared`);
    cases.push({ exchange: page.exchange, body, rows: page.rows, parse, schemaParse, scanned, baseline: () => JSON.parse(body) });
  }
  return cases;
}

export async function runParseBench(ctx: BenchContext): Promise<Section> {
  const cases = await prepareParse();
  const section: Section = { id: "parse", title: "Parsing + normalising one full page", rows: [], notes: [] };
  section.notes.push(
    "Subject: what the engine does with every successful answer: the adapter's row scanner reads the text (`parseCandlesText`, src/exchanges/row-scanner.ts: Binance, KuCoin, Poloniex) or, where there is none or it gives up, `JSON.parse(body)` then `parseCandles` (plain checks, falling back to the zod schema for the error). Baseline: `JSON.parse(body)` alone. Reference rows: `JSON.parse` + the zod schemas with every fast path off (what every page cost before). Both paths are checked to give the same candles, and the candles to be the simulator's. Bodies are served by the simulator in each exchange's wire format.",
  );
  if (!ctx.timing) return section;
  const options: TimingOptions = ctx.quick ? { rounds: 1, timeMs: 100, iterations: 10, warmupIterations: 5 } : { rounds: 5, timeMs: 200, iterations: 20, warmupIterations: 20 };
  for (const c of cases) {
    const result = await compare({ fn: c.baseline }, { fn: c.parse }, options);
    section.rows.push({
      what: `${c.exchange}: ${c.rows} rows (${(c.body.length / 1024).toFixed(0)} KiB)${c.scanned ? ", scanned from the text" : ", JSON.parse + checks"}`,
      figure: `${fmtMs(result.subject.p50Ms)} (${fmtRate(c.rows / (result.subject.p50Ms / 1000))} candles/s)`,
      baseline: `${fmtMs(result.baseline.p50Ms)} JSON.parse`,
      ratio: fmtRatio(result.ratio),
    });
    ctx.figures[`parse.${c.exchange}.ratio`] = result.ratio;
    ctx.figures[`parse.${c.exchange}.ms`] = result.subject.p50Ms;
    const schemas = await compare({ fn: c.baseline }, { fn: c.schemaParse }, options);
    section.rows.push({
      what: `${c.exchange}: the same page, JSON.parse + zod schemas (fast paths off)`,
      figure: `${fmtMs(schemas.subject.p50Ms)} (${fmtRate(c.rows / (schemas.subject.p50Ms / 1000))} candles/s)`,
      baseline: `${fmtMs(schemas.baseline.p50Ms)} JSON.parse`,
      ratio: fmtRatio(schemas.ratio),
    });
  }
  return section;
}
