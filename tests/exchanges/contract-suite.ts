/**
 * The contract every exchange adapter keeps, run against each one (as drizzle runs one suite against
 * every driver). The whole path is real: the adapter, the HTTP engine, the pager and the simulator
 * on a loopback port, on a shared virtual clock so rate-limit waits cost no real time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { RawCandle } from "../../src/domain/candle.ts";
import { bucketOpen, MINUTE_MS } from "../../src/domain/interval.ts";
import { ExchangeSchemaError, UnknownSymbolError } from "../../src/errors.ts";
import type { ExchangeAdapter, Market } from "../../src/exchanges/types.ts";
import { createExchangeClient, type ExchangeClient } from "../../src/http/client.ts";
import type { RateLimit } from "../../src/http/limiter.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { fetchRange, fetchWindow, UnreachableRangeError, type FetchRangeOptions } from "../../src/pipeline/fetch-range.ts";
import { simListing, simMinute } from "../../src/simulator/market-data.ts";
import { startSimulator, type RunningSimulator, type SimServiceId } from "../../src/simulator/server.ts";
import { createAutoClock } from "../helpers/clocks.ts";
import { fixture } from "./fixture.ts";

export interface ContractOptions {
  /** A symbol in the exchange's own format that it does not list. */
  unknownSymbol: string;
  /**
   * The published ceiling for candle requests on one market, per second (Binance 6000 weight a
   * minute at 2 a request = 50; KuCoin 2000 per 30 s at 3 = 22.2; Poloniex 200; Kraken 1 per pair).
   */
  candleRequestsPerSecond: number;
  /** The span the published limit is counted over (Binance 60 s, KuCoin 30 s, Poloniex and Kraken 1 s). */
  limitWindowMs: number;
  /** Candle requests in the rate-limit test: enough to cross two of the exchange's windows. */
  rateTestRequests: number;
}

/** Mid-minute, so every exchange has a candle in progress. */
const NOW_MS = Date.UTC(2024, 5, 1, 12, 30, 25, 500);
const QUOTES = ["USDT", "USD"] as const;
/** Share of the published ceiling a budget must use. */
const MIN_USE = 0.85;

/** What the listing should give: per coin, the first preferred quote among tradable markets. */
function expectedMarkets(adapter: ExchangeAdapter): Market[] {
  const best = new Map<string, Market>();
  const rank = (quote: string) => (QUOTES as readonly string[]).indexOf(quote);
  for (const m of simListing(adapter.id)) {
    if (!m.tradable || rank(m.quote) < 0) continue;
    const current = best.get(m.coin);
    if (!current || rank(m.quote) < rank(current.quote)) best.set(m.coin, { coin: m.coin, symbol: m.symbol, quote: m.quote });
  }
  return [...best.values()].sort((a, b) => a.coin.localeCompare(b.coin));
}

function expectWellFormed(candles: readonly RawCandle[], intervalMinutes: number): void {
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i]!;
    if (i > 0) expect(c.openTimeMs).toBeGreaterThan(candles[i - 1]!.openTimeMs);
    expect(c.openTimeMs % (intervalMinutes * MINUTE_MS)).toBe(0);
    expect(c.low).toBeLessThanOrEqual(Math.min(c.open, c.close));
    expect(c.high).toBeGreaterThanOrEqual(Math.max(c.open, c.close));
    expect(c.volume).toBeGreaterThanOrEqual(0);
  }
}

export function runContractSuite(adapter: ExchangeAdapter, options: ContractOptions): void {
  const simId = adapter.id as SimServiceId;
  describe(`${adapter.id} adapter contract`, () => {
    const clock = createAutoClock(NOW_MS);
    let sim: RunningSimulator;
    let markets: Market[] = [];
    let btc: Market;

    beforeAll(async () => {
      sim = startSimulator({ clock, port: 0 });
      const { client } = connect();
      markets = await client.request(adapter.marketsRequest(), (body) => adapter.parseMarkets(body, QUOTES));
      btc = markets.find((m) => m.coin === "BTC")!;
    });
    afterAll(async () => {
      await sim.stop();
    });
    beforeEach(() => {
      clock.set(NOW_MS);
      sim.reset();
    });

    /** A client through the engine with real fetch, recording each URL, each page window and each parsed page. */
    function connect(override: Partial<ExchangeAdapter> = {}) {
      const urls: URL[] = [];
      const sentAt: number[] = [];
      const windows: { startMs: number; endMs: number }[] = [];
      const parsed: RawCandle[][] = [];
      const subject: ExchangeAdapter = {
        ...adapter,
        ...override,
        candlesRequest(market, intervalMinutes, startMs, endMs) {
          windows.push({ startMs, endMs });
          return adapter.candlesRequest(market, intervalMinutes, startMs, endMs);
        },
        parseCandles(body, context) {
          const candles = adapter.parseCandles(body, context);
          parsed.push(candles);
          return candles;
        },
      };
      const client: ExchangeClient = createExchangeClient({
        adapter: subject,
        baseUrl: sim.baseUrls[simId],
        fetch: (input, init) => {
          urls.push(new URL(String(input)));
          sentAt.push(clock.now());
          return fetch(input, init);
        },
        clock,
        logger: silentLogger,
        metrics: createMetrics(),
        random: () => 0.5,
        maxAttempts: 2,
        backoff: { baseMs: 10, capMs: 100 },
      });
      return { client, adapter: subject, urls, sentAt, windows, parsed };
    }

    function rangeOptions(c: ReturnType<typeof connect>, market: Market, candles: number): FetchRangeOptions {
      const toOpenMs = bucketOpen(NOW_MS, 1) - MINUTE_MS;
      return { client: c.client, adapter: c.adapter, market, intervalMinutes: 1, fromOpenMs: toOpenMs - (candles - 1) * MINUTE_MS, toOpenMs, nowMs: NOW_MS };
    }

    async function collect(range: FetchRangeOptions): Promise<RawCandle[]> {
      const out: RawCandle[] = [];
      for await (const w of fetchRange(range)) {
        if (!w.ok) throw w.error;
        out.push(...w.candles);
      }
      return out;
    }

    /** A range of 2.5 pages, or as much as the exchange serves at all. */
    const rangeCandles = () => Math.min(Math.floor(adapter.maxCandlesPerRequest * 2.5), (adapter.recentCandlesOnly ?? Infinity) - 2);

    describe("markets", () => {
      test("lists one tradable market per coin with the preferred quote, named by the common ticker", () => {
        expect(markets).toEqual(expectedMarkets(adapter));
      });

      test("never names a coin by an exchange alias (XBT, XDG, X/Z-prefixed keys)", () => {
        const coins = markets.map((m) => m.coin);
        expect(coins).toContain("BTC");
        for (const alias of ["XBT", "XXBT", "XDG", "XXDG", "XETH", "ZUSD"]) expect(coins).not.toContain(alias);
        for (const m of markets) expect(m.coin).toMatch(/^[A-Z0-9]+$/);
      });

      test("leaves out markets that are halted, delisted or disabled", () => {
        const halted = simListing(adapter.id)
          .filter((m) => !m.tradable)
          .map((m) => m.symbol);
        expect(halted.length).toBeGreaterThan(0);
        for (const symbol of halted) expect(markets.map((m) => m.symbol)).not.toContain(symbol);
      });
    });

    describe("candles over the engine", () => {
      test("a range of several pages comes back sorted, unique, aligned and consistent", async () => {
        const c = connect();
        const candles = await collect(rangeOptions(c, btc, rangeCandles()));
        expect(candles.length).toBeGreaterThan(rangeCandles() / 2);
        expectWellFormed(candles, 1);
      });

      test("every value equals the simulator's data, and a minute without trades is absent or a zero row", async () => {
        const c = connect();
        const range = rangeOptions(c, btc, rangeCandles());
        const candles = await collect(range);
        const byOpen = new Map(candles.map((k) => [k.openTimeMs, k]));
        let traded = 0;
        for (let t = range.fromOpenMs; t <= range.toOpenMs; t += MINUTE_MS) {
          const truth = simMinute(adapter.id, btc.coin, t);
          const got = byOpen.get(t);
          if (truth) {
            traded++;
            expect(got).toEqual(truth);
          } else if (got) {
            expect(got.volume).toBe(0);
            expect(new Set([got.open, got.high, got.low, got.close]).size).toBe(1);
          }
        }
        expect(traded).toBeGreaterThan(0);
        for (const k of candles) expect(k.openTimeMs).toBeGreaterThanOrEqual(range.fromOpenMs);
      });

      test("pages stay within the page limit: each request spans at most one page and gets at most one page", async () => {
        const c = connect();
        const n = rangeCandles();
        await collect(rangeOptions(c, btc, n));
        expect(c.windows.length).toBe(Math.ceil(n / adapter.maxCandlesPerRequest));
        for (const w of c.windows) expect(w.endMs - w.startMs).toBeLessThanOrEqual(adapter.maxCandlesPerRequest * MINUTE_MS);
        for (const page of c.parsed) expect(page.length).toBeLessThanOrEqual(adapter.maxCandlesPerRequest);
        expect(c.urls.length).toBe(c.windows.length);
      });

      test("drops the candle still in progress", async () => {
        const c = connect();
        const candles = await collect(rangeOptions(c, btc, 30));
        const openNow = bucketOpen(NOW_MS, 1);
        expect(candles.at(-1)!.openTimeMs).toBeLessThan(openNow);
        for (const k of candles) expect(k.openTimeMs + MINUTE_MS).toBeLessThanOrEqual(NOW_MS);
        // Exchanges that always send it (Kraken) did send it: the engine dropped it.
        if (adapter.recentCandlesOnly !== undefined) expect(c.parsed.flat().some((k) => k.openTimeMs === openNow)).toBe(true);
      });

      if (adapter.recentCandlesOnly !== undefined) {
        test("a range older than the exchange serves fails as unreachable without asking for it", async () => {
          const c = connect();
          const recent = adapter.recentCandlesOnly!;
          const results = [];
          for await (const w of fetchRange(rangeOptions(c, btc, recent + 100))) results.push(w);
          const first = results[0]!;
          expect(first.ok).toBe(false);
          if (!first.ok) expect(first.error).toBeInstanceOf(UnreachableRangeError);
          expect(results.slice(1).every((w) => w.ok)).toBe(true);
          const oldest = bucketOpen(NOW_MS, 1) - (recent - 1) * MINUTE_MS;
          for (const w of c.windows) expect(w.startMs).toBeGreaterThanOrEqual(oldest);
        });
      }

      test("an unknown symbol fails at once with an UnknownSymbolError naming it", async () => {
        const c = connect();
        const unknown: Market = { coin: "NOPE", symbol: options.unknownSymbol, quote: btc.quote };
        const window = { fromOpenMs: bucketOpen(NOW_MS, 1) - 10 * MINUTE_MS, toOpenMs: bucketOpen(NOW_MS, 1) - MINUTE_MS };
        const error = await fetchWindow(rangeOptions(c, unknown, 10), window).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnknownSymbolError);
        expect((error as Error).message).toContain(options.unknownSymbol);
        expect(c.urls.length).toBe(1);
      });

      test("a market delisted after the listing was read fails with an UnknownSymbolError", async () => {
        sim.setFaults(simId, { delisted: ["BTC"] });
        const c = connect();
        const error = await collect(rangeOptions(c, btc, 10)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnknownSymbolError);
      });

      test("a body that is not JSON ends as a schema error, never as data", async () => {
        sim.setFaults(simId, { garbageRate: 1 });
        const c = connect();
        const error = await collect(rangeOptions(c, btc, 10)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ExchangeSchemaError);
      });
    });

    describe("wire fixtures", () => {
      const context = () => ({ market: btc, intervalMinutes: 1 });

      test("the hand-written candles fixture maps to consistent candles", () => {
        const candles = adapter.parseCandles(fixture(adapter.id, "candles.json"), context());
        expect(candles.length).toBeGreaterThan(1);
        expectWellFormed(
          [...candles].sort((a, b) => a.openTimeMs - b.openTimeMs),
          1,
        );
      });

      test("a mangled row is an ExchangeSchemaError, not a partial result", () => {
        expect(() => adapter.parseCandles(fixture(adapter.id, "candles-mangled.json"), context())).toThrow(ExchangeSchemaError);
      });

      test.each([
        ["a string", "oops"],
        ["null", null],
        ["an empty object", {}],
      ])("%s as the body is an ExchangeSchemaError", (_name, body) => {
        expect(() => adapter.parseCandles(body, context())).toThrow(ExchangeSchemaError);
      });
    });

    describe("rate limits", () => {
      test("requests at full speed are never refused and use at least 85% of the published limit", async () => {
        const c = connect();
        const openNow = bucketOpen(NOW_MS, 1);
        for (let i = 0; i < options.rateTestRequests; i++) {
          const spec = adapter.candlesRequest(btc, 1, openNow - 5 * MINUTE_MS, openNow);
          await c.client.request(spec, (body) => adapter.parseCandles(body, { market: btc, intervalMinutes: 1 }));
        }
        const stats = sim.stats()[simId];
        expect(stats.rateLimited).toBe(0);
        expect(stats.banned).toBe(0);
        // No span of the limit's length, wherever it starts, holds more than the published limit.
        const times = c.sentAt;
        expect(times.length).toBe(options.rateTestRequests);
        let busiest = 0;
        for (let i = 0, j = 0; i < times.length; i++) {
          while (times[i]! - times[j]! >= options.limitWindowMs) j++;
          busiest = Math.max(busiest, i - j + 1);
        }
        expect(busiest).toBeLessThanOrEqual((options.candleRequestsPerSecond * options.limitWindowMs) / 1000);
        // Sustained: the requests sent before the last one, over the time until it.
        const last = times.at(-1)!;
        const perSecond = times.filter((t) => t < last).length / ((last - times[0]!) / 1000);
        expect(perSecond).toBeGreaterThanOrEqual(MIN_USE * options.candleRequestsPerSecond);
      }, 60_000);

      test("the simulator would refuse a budget twice as fast (the test can fail)", async () => {
        // Without the used-weight header too: it alone would pause Binance before the limit.
        const { usedWeightHeader: _ignored, ...budget } = adapter.budget;
        const faster = (limit: RateLimit, rate: number, burst: number): RateLimit =>
          "windowMs" in limit ? { ...limit, unitsPerWindow: limit.unitsPerWindow * rate } : { refillPerSecond: limit.refillPerSecond * rate, burst: limit.burst * burst };
        const c = connect({
          budget: { ...budget, ...faster(budget, 2, 2), ...(budget.perKey ? { perKey: faster(budget.perKey, 2, 4) } : {}) },
        });
        const openNow = bucketOpen(NOW_MS, 1);
        for (let i = 0; i < options.rateTestRequests && sim.stats()[simId].rateLimited === 0; i++) {
          const spec = adapter.candlesRequest(btc, 1, openNow - 5 * MINUTE_MS, openNow);
          await c.client.request(spec, (body) => adapter.parseCandles(body, { market: btc, intervalMinutes: 1 })).catch(() => undefined);
        }
        expect(sim.stats()[simId].rateLimited).toBeGreaterThan(0);
      }, 60_000);
    });
  });
}
