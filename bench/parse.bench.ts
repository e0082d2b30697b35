/**
 * Parsing + normalising one full page per exchange (what the engine does with every body:
 * `JSON.parse`, then the adapter's `parseCandles`), against a plain `JSON.parse` of the same body.
 * The bodies come from the simulator, in each exchange's wire format.
 */
import type { ExchangeId, RawCandle } from "../src/domain/candle.ts";
import { EXCHANGES } from "../src/exchanges/index.ts";
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
  { exchange: "binance", symbol: "BTCUSDT", coin: "BTC", rows: 1000, path: (s, e) => `/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${s}&endTime=${e - 1}&limit=1000` },
  { exchange: "kraken", symbol: "XXBTZUSD", coin: "BTC", rows: 720, path: (s) => `/kraken/0/public/OHLC?pair=XXBTZUSD&interval=1&since=${s / 1000 - 60}` },
  { exchange: "kucoin", symbol: "BTC-USDT", coin: "BTC", rows: 1500, path: (s, e) => `/kucoin/api/v1/market/candles?symbol=BTC-USDT&type=1min&startAt=${s / 1000}&endAt=${e / 1000 - 1}` },
  { exchange: "poloniex", symbol: "BTC_USDT", coin: "BTC", rows: 500, path: (s, e) => `/poloniex/markets/BTC_USDT/candles?interval=MINUTE_1&startTime=${s}&endTime=${e - 1}&limit=500` },
];

export interface ParseCase {
  exchange: ExchangeId;
  body: string;
  rows: number;
  parse: () => RawCandle[];
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
    const parse = () => adapter.parseCandles(JSON.parse(body), { market, intervalMinutes: 1 });
    const candles = parse();
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
    cases.push({ exchange: page.exchange, body, rows: page.rows, parse, baseline: () => JSON.parse(body) });
  }
  return cases;
}

export async function runParseBench(ctx: BenchContext): Promise<Section> {
  const cases = await prepareParse();
  const section: Section = { id: "parse", title: "Parsing + normalising one full page", rows: [], notes: [] };
  section.notes.push("Subject: `JSON.parse(body)` then the adapter's `parseCandles` (zod wire schema + mapping to `RawCandle`), as the engine does with every answer. Baseline: `JSON.parse(body)` alone. Bodies are served by the simulator in each exchange's wire format.");
  if (!ctx.timing) return section;
  const options: TimingOptions = ctx.quick ? { rounds: 1, timeMs: 100, iterations: 10, warmupIterations: 5 } : { rounds: 5, timeMs: 200, iterations: 20, warmupIterations: 20 };
  for (const c of cases) {
    const result = await compare({ fn: c.baseline }, { fn: c.parse }, options);
    section.rows.push({
      what: `${c.exchange}: ${c.rows} rows (${(c.body.length / 1024).toFixed(0)} KiB)`,
      figure: `${fmtMs(result.subject.p50Ms)} (${fmtRate(c.rows / (result.subject.p50Ms / 1000))} candles/s)`,
      baseline: `${fmtMs(result.baseline.p50Ms)} JSON.parse`,
      ratio: fmtRatio(result.ratio),
    });
    ctx.figures[`parse.${c.exchange}.ratio`] = result.ratio;
    ctx.figures[`parse.${c.exchange}.ms`] = result.subject.p50Ms;
  }
  return section;
}
