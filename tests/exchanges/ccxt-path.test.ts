/**
 * The ccxt path end to end: ccxt's classes for all seven simulated exchanges (the native four forced
 * onto ccxt by `exchange_adapters`), our paging, retries, aggregation and feed-forward, real HTTP to
 * the simulator, rows compared with the simulator's own data.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { executeBackfill, parseBackfillArgs } from "../../src/cli/backfill-command.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { createCcxtAdapter } from "../../src/exchanges/ccxt.ts";
import type { DatabaseSink } from "../../src/sinks/database.ts";
import { renderRow } from "../../src/sinks/csv-format.ts";
import { createCcxtClient, openCcxtExchange, rebaseUrls } from "../../src/http/ccxt-client.ts";
import { exchangeRows, renderExchangeTable } from "../../src/exchanges/catalog-table.ts";
import { ExchangeSchemaError, UnknownSymbolError } from "../../src/errors.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { startSimulator } from "../../src/simulator/server.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { systemClock } from "../../src/clock.ts";
import { SIM_EXCHANGE_IDS, type SimExchangeId } from "../../src/simulator/market-data.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";
import { createAutoClock } from "../helpers/clocks.ts";
import { duplicates, expectedRow, mismatches, readCsvDir } from "../helpers/oracle.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";

const NOW = Date.parse("2024-05-04T00:00:30Z");
const FROM = Date.parse("2024-05-03T18:00:00Z");
const COINS = ["BTC", "ETH", "DOGE"];
const NATIVE = new Set<string>(NATIVE_EXCHANGE_IDS);

let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.close();
  harnesses = [];
});

/** A harness collecting `exchanges` through ccxt, each pointed at its simulated service. */
async function ccxtHarness(exchanges: readonly SimExchangeId[], interval: string, extra = "", intercept?: (url: string) => Response | undefined): Promise<Harness> {
  const adapters = exchanges.filter((e) => NATIVE.has(e)).map((e) => `  ${e}: ccxt`);
  const yaml = [
    `bucketing_interval: ${interval}`,
    `exchanges: [${exchanges.join(", ")}]`,
    ...(adapters.length > 0 ? ["exchange_adapters:", ...adapters] : []),
    "n_coins_to_poll: 0",
    `list_coins_to_poll: [${COINS.join(", ")}]`,
    extra,
  ].join("\n");
  const h = await startHarness({ startMs: NOW, yaml, intercept, ccxtIds: exchanges.filter((e) => !NATIVE.has(e)) });
  harnesses.push(h);
  return h;
}

async function backfill(h: Harness, argv: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await executeBackfill(h.runtime, parseBackfillArgs(argv, h.clock.now()), new AbortController().signal, (t) => (out += t), false);
  return { code, out };
}

describe("ccxt path", () => {
  describe.each([...SIM_EXCHANGE_IDS])("%s through ccxt", (exchange) => {
    test.each([1, 5, 7, 60])(
      "a backfill at %im saves the simulator's buckets exactly, the forming one never, quiet ones fed forward",
      async (minutes) => {
        const h = await ccxtHarness([exchange], `${minutes}m`);
        expect(h.runtime.adapters[0]!.kind).toBe("ccxt");
        const { code, out } = await backfill(h, ["--from", new Date(FROM).toISOString()]);
        expect(out).toContain("failed ranges 0");
        expect(code).toBe(0);
        const rows = readCsvDir(join(h.dir, "csv"));
        expect(duplicates(rows)).toEqual([]);
        expect(mismatches(rows)).toEqual([]);
        const size = minutes * MINUTE_MS;
        const first = Math.ceil(FROM / size) * size;
        // The last closed bucket: its end plus settle is before now; the one after is still forming.
        const last = Math.floor((NOW - 5000) / size) * size - size;
        for (const coin of COINS) {
          const opens = rows.filter((r) => r.coin === coin).map((r) => r.openTimeMs);
          expect(opens.length).toBe((last - first) / size + 1);
          expect(Math.max(...opens)).toBe(last);
        }
        if (minutes === 1) expect(rows.some((r) => r.line.endsWith(",0,1") && r.coin === "DOGE")).toBe(true);
        const stats = h.sim.stats()[exchange];
        expect(stats.rateLimited).toBe(0);
        expect(stats.banned).toBe(0);
      },
      60_000,
    );
  });

  test("server errors, garbage and truncated pages are retried: the end state is exact, nothing read as a quiet minute", async () => {
    const ids = ["okx", "coinbase", "bybit"] as const;
    const h = await ccxtHarness(ids, "1m", "save_to_database: true\ndatabase_connection: sqlite:DBFILE");
    for (const id of ids) h.sim.setFaults(id, { errorRate: 0.05, garbageRate: 0.05, truncateRate: 0.05 });
    const { code, out } = await backfill(h, ["--from", new Date(FROM).toISOString()]);
    expect(out).toContain("failed ranges 0");
    expect(code).toBe(0);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    const last = Math.floor((NOW - 5000) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
    expect(rows.length).toBe(ids.length * COINS.length * ((last - FROM) / MINUTE_MS + 1));
    expect(h.sim.stats().total.errors).toBeGreaterThan(0);
    // The database got the same rows.
    const database = h.runtime.sinks.find((s): s is DatabaseSink => s.name === "database")!;
    for (const id of ids) {
      const saved = await database.readCandles(id, "DOGE", 1, FROM, last);
      expect(saved.map((c) => renderRow(c))).toEqual(rows.filter((r) => r.exchange === id && r.coin === "DOGE").map((r) => r.line));
    }
  }, 60_000);

  test("a live cycle through ccxt saves the last closed bucket into CSV and SQLite alike", async () => {
    const h = await ccxtHarness(["okx", "coinbase", "bybit"], "1m", "save_to_database: true\ndatabase_connection: sqlite:DBFILE");
    const report = await h.tickAt(NOW);
    expect(report.reports.map((r) => [r.exchange, r.seriesFailed])).toEqual([
      ["okx", 0],
      ["coinbase", 0],
      ["bybit", 0],
    ]);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(mismatches(rows)).toEqual([]);
    const open = Math.floor(NOW / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
    for (const exchange of ["okx", "coinbase", "bybit"]) {
      for (const coin of COINS) expect(rows.filter((r) => r.exchange === exchange && r.coin === coin).map((r) => r.openTimeMs)).toEqual([open]);
    }
    const database = h.runtime.sinks.find((s): s is DatabaseSink => s.name === "database")!;
    for (const exchange of ["okx", "coinbase", "bybit"]) {
      for (const coin of COINS) {
        const saved = await database.readCandles(exchange, coin, 1, open, open);
        expect(saved.map((c) => renderRow(c))).toEqual([expectedRow(exchange, coin, 1, open)!]);
      }
    }
  }, 60_000);

  test("a window that keeps failing is retried, then reported, never skipped or invented", async () => {
    let failedAsks = 0;
    const h = await ccxtHarness(["okx"], "1m", "", (url) => {
      if (url.includes("instId=ETH-USDT")) {
        failedAsks++;
        return new Response("<html>502 Bad Gateway</html>", { status: 502 });
      }
      return undefined;
    });
    const { code, out } = await backfill(h, ["--from", new Date(FROM).toISOString()]);
    expect(code).not.toBe(0);
    expect(out).toMatch(/failed ranges [1-9]/);
    // Every attempt of every window, not one ask and a skip.
    expect(failedAsks).toBeGreaterThanOrEqual(2);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(rows.filter((r) => r.coin === "ETH")).toEqual([]);
    expect(rows.filter((r) => r.coin === "BTC").length).toBeGreaterThan(300);
    expect(mismatches(rows)).toEqual([]);
    expect(h.runtime.metrics.render()).toMatch(/cryptointellect_retries_total\{exchange="okx",reason="network"\} [1-9]/);
  }, 60_000);

  test("a rate-limit refusal is waited out, never pushed through", async () => {
    let refused = 0;
    const h = await ccxtHarness(["bybit"], "1m", "", (url) => {
      if (url.includes("/v5/market/kline") && refused < 2) {
        refused++;
        return new Response("access too frequent", { status: 403, headers: { "retry-after": "1" } });
      }
      return undefined;
    });
    const { code } = await backfill(h, ["--from", new Date(FROM).toISOString()]);
    expect(code).toBe(0);
    expect(refused).toBe(2);
    expect(mismatches(readCsvDir(join(h.dir, "csv")))).toEqual([]);
    expect(h.runtime.metrics.render()).toMatch(/cryptointellect_rate_limited_total\{exchange="bybit"\} 2/);
  }, 60_000);
});

describe("ccxt adapter", () => {
  test("api_base_urls replaces scheme and host of every ccxt URL and keeps each path", () => {
    const api = { rest: "https://www.okx.com", nested: { public: "https://api.{hostname}/v5", x: 1 } };
    expect(rebaseUrls(api, "http://127.0.0.1:9700/okx/")).toEqual({ rest: "http://127.0.0.1:9700/okx", nested: { public: "http://127.0.0.1:9700/okx/v5", x: 1 } });
  });

  test("asks OKX's candles endpoint under the given base, within its page limit of 300", () => {
    const opened = openCcxtExchange({ id: "okx", baseUrl: "http://127.0.0.1:9700/okx", fetch, clock: systemClock, metrics: createMetrics() })!;
    const adapter = createCcxtAdapter({ id: "okx", name: "OKX", exchange: opened.exchange });
    expect(adapter.maxCandlesPerRequest).toBe(300);
    expect(adapter.nativeIntervals).toEqual(expect.arrayContaining([1, 5, 15, 60, 1440]));
    const spec = adapter.candlesRequest({ coin: "BTC", symbol: "BTC/USDT", quote: "USDT" }, 1, 0, 1000 * MINUTE_MS);
    expect(spec.query).toMatchObject({ symbol: "BTC/USDT", timeframe: "1m", since: 0, limit: 300 });
    const urls = JSON.stringify(opened.exchange.urls.api);
    expect(urls).toContain("http://127.0.0.1:9700/okx");
    expect(urls).not.toContain("okx.com");
  });
});

describe("ccxt client on every simulated exchange", () => {
  let sim: ReturnType<typeof startSimulator>;
  beforeAll(() => {
    sim = startSimulator({ port: 0 });
  });
  afterAll(() => sim.stop());

  test.each([...SIM_EXCHANGE_IDS])("%s: a market delisted after the listing was read fails as an unknown symbol, and a garbage page as a schema error", async (id) => {
    sim.reset();
    const clock = systemClock;
    const opened = openCcxtExchange({ id, baseUrl: sim.baseUrls[id], fetch, clock, metrics: createMetrics() })!;
    const adapter = createCcxtAdapter({ id, name: id, exchange: opened.exchange });
    const client = createCcxtClient({ id, ...opened, clock, logger: silentLogger, metrics: createMetrics(), maxAttempts: 2, backoff: { baseMs: 1, capMs: 2 } });
    const markets = await client.request(adapter.marketsRequest(), (body) => adapter.parseMarkets(body, ["USDT", "USD"]));
    const btc = markets.find((m) => m.coin === "BTC")!;
    expect(btc).toBeDefined();
    const open = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 10 * MINUTE_MS;
    const spec = adapter.candlesRequest(btc, 1, open, open + 5 * MINUTE_MS);
    const parse = (body: unknown) => adapter.parseCandles(body, { market: btc, intervalMinutes: 1 });
    expect((await client.request(spec, parse)).length).toBeGreaterThan(0);
    sim.setFaults(id, { delisted: ["BTC"] });
    expect(await client.request(spec, parse).catch((e: unknown) => e)).toBeInstanceOf(UnknownSymbolError);
    sim.setFaults(id, { garbageRate: 1 });
    expect(await client.request(spec, parse).catch((e: unknown) => e)).toBeInstanceOf(ExchangeSchemaError);
  });
});

describe("cryptointellect exchanges", () => {
  test("lists the native four first, then the ccxt exchanges with candles, with their page limits", () => {
    const rows = exchangeRows();
    expect(rows.slice(0, 4).map((r) => [r.id, r.kind])).toEqual(NATIVE_EXCHANGE_IDS.map((id) => [id, "native"]));
    expect(rows.find((r) => r.id === "kraken")!.history).toBe("720 candles, older from trades");
    const okx = rows.find((r) => r.id === "okx")!;
    expect(okx).toMatchObject({ name: "OKX", kind: "ccxt", pageLimit: 300 });
    expect(rows.find((r) => r.id === "coinbase")!.name).toBe("Coinbase");
    expect(rows.length).toBeGreaterThan(60);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    const table = renderExchangeTable(rows);
    expect(table).toMatch(/^okx +OKX +ccxt +1m /m);
    expect(exchangeRows({ nativeOnly: true }).map((r) => r.id)).toEqual([...NATIVE_EXCHANGE_IDS]);
  });
});

describe("ccxt pacing", () => {
  test("Coinbase's candle calls are spaced by ccxt's endpoint cost: under 10 a second, near it", async () => {
    const clock = createAutoClock(Date.parse("2024-05-04T00:00:30Z"));
    const sim = startSimulator({ port: 0, clock });
    try {
      const sentAt: number[] = [];
      const counting = (input: string | URL | Request, init?: RequestInit) => {
        if (String(input).includes("/candles")) sentAt.push(clock.now());
        return fetch(input, init);
      };
      const opened = openCcxtExchange({ id: "coinbase", baseUrl: sim.baseUrls.coinbase, fetch: counting, clock, metrics: createMetrics() })!;
      const adapter = createCcxtAdapter({ id: "coinbase", name: "Coinbase", exchange: opened.exchange });
      const client = createCcxtClient({ id: "coinbase", ...opened, clock, logger: silentLogger, metrics: createMetrics() });
      const markets = await client.request(adapter.marketsRequest(), (b) => adapter.parseMarkets(b, ["USD"]));
      const btc = markets.find((m) => m.coin === "BTC")!;
      const open = Math.floor(clock.now() / MINUTE_MS) * MINUTE_MS - 10 * MINUTE_MS;
      const spec = adapter.candlesRequest(btc, 1, open, open + 5 * MINUTE_MS);
      for (let i = 0; i < 30; i++) await client.request(spec, (b) => adapter.parseCandles(b, { market: btc, intervalMinutes: 1 }));
      // The busiest second of virtual time holds at most 10 candle calls, and the pace is above 8 a second.
      let busiest = 0;
      for (let i = 0, j = 0; i < sentAt.length; i++) {
        while (sentAt[i]! - sentAt[j]! >= 1000) j++;
        busiest = Math.max(busiest, i - j + 1);
      }
      expect(busiest).toBeLessThanOrEqual(10);
      expect((sentAt.length - 1) / ((sentAt.at(-1)! - sentAt[0]!) / 1000)).toBeGreaterThan(8);
      expect(sim.stats().coinbase.rateLimited).toBe(0);
    } finally {
      await sim.stop();
    }
  });
});
