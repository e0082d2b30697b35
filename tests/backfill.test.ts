/**
 * Backfill against the simulator, in-process on a virtual clock: exact history on all four
 * exchanges (Kraken's older part rebuilt from trades), resumable after interruptions with the same
 * end result, failed ranges reported and then repaired, no rate-limit refusal.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { executeBackfill, parseBackfillArgs } from "../src/cli/backfill-command.ts";
import { MINUTE_MS } from "../src/domain/interval.ts";
import { UsageError } from "../src/errors.ts";
import { type Harness, startHarness } from "./helpers/harness.ts";
import { duplicates, expectedCandle, expectedRow, mismatches, readCsvDir } from "./helpers/oracle.ts";
import { NATIVE_EXCHANGE_IDS } from "../src/exchanges/index.ts";

const NOW = Date.parse("2024-05-04T00:00:30Z");
const FROM = Date.parse("2024-05-01T00:00:00Z");
const COINS = "[BTC, ETH, DOGE, NEO, OP]";
let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.close();
  harnesses = [];
});

async function harness(interval: string, extra = "", intercept?: (url: string) => Response | Promise<Response> | undefined): Promise<Harness> {
  const h = await startHarness({ startMs: NOW, yaml: `bucketing_interval: ${interval}\nn_coins_to_poll: 0\nlist_coins_to_poll: ${COINS}\n${extra}`, intercept });
  harnesses.push(h);
  return h;
}

async function backfill(h: Harness, argv: string[], signal = new AbortController().signal): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await executeBackfill(h.runtime, parseBackfillArgs(argv, h.clock.now()), signal, (t) => (out += t), false);
  return { code, out };
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), "utf8");
  return out;
}

describe("backfill", () => {
  test.each(["1m", "15m", "7m"])(
    "3 days of %s candles on 4 exchanges × 5 coins match the simulator exactly",
    async (interval) => {
      const h = await harness(interval);
      const { code, out } = await backfill(h, ["--from", "2024-05-01"]);
      expect(out).toContain("failed ranges 0");
      expect(code).toBe(0);
      const rows = readCsvDir(join(h.dir, "csv"));
      expect(duplicates(rows)).toEqual([]);
      expect(mismatches(rows)).toEqual([]);
      const minutes = interval === "1m" ? 1 : interval === "15m" ? 15 : 7;
      const size = minutes * MINUTE_MS;
      // The bucket holding --from is the first: at 7m (which does not divide a day) it opened before midnight.
      const first = Math.floor(FROM / size) * size;
      const last = Math.floor((NOW - 5000) / size) * size - size;
      const expected = (last - first) / size + 1;
      for (const exchange of NATIVE_EXCHANGE_IDS) {
        for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP"]) {
          const opens = rows.filter((r) => r.exchange === exchange && r.coin === coin).map((r) => r.openTimeMs);
          expect(opens.length).toBe(expected);
          expect(Math.min(...opens)).toBe(first);
        }
      }
      // Kraken's OHLC keeps 720 candles: at 1m most of the range came from its trades.
      if (interval === "1m") expect(h.lines.some((l) => l.includes("Trades"))).toBe(false);
      expect(h.sim.stats().total.rateLimited).toBe(0);
      expect(h.sim.stats().total.banned).toBe(0);
    },
    120_000,
  );

  test("interrupted three times and resumed, it ends identical to an uninterrupted run", async () => {
    const reference = await harness("1m", "exchanges: [binance, kucoin, kraken]\n");
    expect((await backfill(reference, ["--from", "2024-05-02T12:00:00Z"])).code).toBe(0);
    const want = snapshot(join(reference.dir, "csv"));

    const h = await harness("1m", "exchanges: [binance, kucoin, kraken]\n");
    // Slow answers, so that each interruption lands mid-run, after some rows and before the end.
    for (const id of ["binance", "kucoin", "kraken"] as const) h.sim.setFaults(id, { latencyMs: [5, 15] });
    const csv = join(h.dir, "csv");
    const rowCount = () => {
      try {
        return readCsvDir(csv).length;
      } catch {
        return 0;
      }
    };
    const partials: number[] = [];
    for (let i = 0; i < 3; i++) {
      const stop = new AbortController();
      const before = rowCount();
      const run = backfill(h, ["--from", "2024-05-02T12:00:00Z"], stop.signal);
      const deadline = Date.now() + 20_000;
      while (rowCount() <= before && Date.now() < deadline) await Bun.sleep(5);
      await Bun.sleep(Math.random() * 30);
      stop.abort();
      // The first stop lands right after the first rows; a later one may find the run already done.
      const code = (await run).code;
      if (i === 0) expect(code).toBe(1);
      else expect([0, 1]).toContain(code);
      partials.push(rowCount());
    }
    const final = await backfill(h, ["--from", "2024-05-02T12:00:00Z"]);
    expect(final.code).toBe(0);
    expect(snapshot(join(h.dir, "csv"))).toEqual(want);
    // The first stop came after the first rows and long before the end.
    expect(partials[0]!).toBeGreaterThan(0);
    expect(partials[0]!).toBeLessThan(readCsvDir(join(h.dir, "csv")).length);
  }, 120_000);

  test("with 5% server errors and one exchange out for part of the run, failures are reported and --repair completes the store", async () => {
    // KuCoin goes down after its first 4 candle pages, for the rest of this run.
    let kucoinPages = 0;
    let outage = true;
    const h = await harness("1m", "exchanges: [binance, kucoin, poloniex]\n", (url) =>
      url.includes("/kucoin/api/v1/market/candles") && ++kucoinPages > 4 && outage ? new Response("down", { status: 503 }) : undefined,
    );
    for (const id of ["binance", "kucoin", "poloniex"] as const) h.sim.setFaults(id, { errorRate: 0.05 });
    const first = await backfill(h, ["--from", "2024-05-02T00:00:00Z"]);
    expect(first.code).toBe(1);
    expect(first.out).toContain("--repair");
    expect(first.out).toMatch(/kucoin .*failed ranges [1-9]/);
    let rows = readCsvDir(join(h.dir, "csv"));
    expect(mismatches(rows)).toEqual([]); // nothing fabricated while it failed

    for (const id of ["binance", "kucoin", "poloniex"] as const) h.sim.setFaults(id, {});
    outage = false;
    const repair = await backfill(h, ["--repair"]);
    expect(repair.code).toBe(0);
    rows = readCsvDir(join(h.dir, "csv"));
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    const reference = await harness("1m", "exchanges: [binance, kucoin, poloniex]\n");
    await backfill(reference, ["--from", "2024-05-02T00:00:00Z"]);
    expect(snapshot(join(h.dir, "csv"))).toEqual(snapshot(join(reference.dir, "csv")));
    expect(h.sim.stats().total.rateLimited).toBe(0);
  }, 120_000);
});

describe("backfill seams", () => {
  // Two adjacent ranges, as a cluster cuts a backfill into chunks run side by side.
  const SEAM = Date.parse("2024-05-02T00:20:00Z");
  test("the later range looks back for a close only where its first bucket had no trade; nothing is fetched twice otherwise", async () => {
    // On the simulator KuCoin's NEO had no trade in the seam's minute; BTC and ETH traded in every minute.
    expect(expectedCandle("kucoin", "NEO", 1, SEAM)?.filled).toBe(true);
    for (const coin of ["BTC", "ETH"]) expect(expectedCandle("kucoin", coin, 1, SEAM)?.filled).toBe(false);
    const h = await harness("1m", "exchanges: [kucoin]\n");
    expect((await backfill(h, ["--from", "2024-05-02T00:00:00Z", "--to", "2024-05-02T00:20:00Z"])).code).toBe(0);
    const before = h.sim.candleRequests().length;
    const { code, out } = await backfill(h, ["--from", "2024-05-02T00:20:00Z", "--to", "2024-05-02T02:00:00Z"]);
    expect(out).toContain("failed ranges 0");
    expect(code).toBe(0);
    const later = h.sim.candleRequests().slice(before);
    const of = (coin: string) => later.filter((r) => r.symbol === `${coin}-USDT`);
    // The seam's first bucket traded: one request from the seam on, none before it.
    for (const coin of ["BTC", "ETH"]) expect(of(coin).map((r) => r.startMs)).toEqual([SEAM]);
    // It did not: the range from the seam, then a look-back that ends before the seam.
    const neo = of("NEO");
    expect(neo.some((r) => r.startMs === SEAM)).toBe(true);
    expect(neo.some((r) => r.startMs! < SEAM && r.endMs! < SEAM)).toBe(true);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    // The quiet bucket at the seam is saved, fed forward from the close the look-back found.
    const seamRow = rows.find((r) => r.coin === "NEO" && r.openTimeMs === SEAM);
    expect(seamRow?.line).toBe(expectedRow("kucoin", "NEO", 1, SEAM)!);
    for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP"]) expect(rows.filter((r) => r.coin === coin).length).toBe(120);
  }, 30_000);
});

describe("backfill jobs of one instance", () => {
  // A cluster instance's lane: the chunks of a series one after another (src/cluster/backfill-jobs.ts).
  const CHUNKS = [0, 1, 2].map((i) => ({ fromOpenMs: Date.parse("2024-05-02T00:00:00Z") + i * 4 * 3_600_000 }));
  const jobOf = (coin: string, fromOpenMs: number) => ({ exchange: "kraken", coin, intervalMinutes: 1, fromOpenMs, toOpenMs: fromOpenMs + 4 * 3_600_000 - MINUTE_MS });
  const trades = (h: Harness) => h.sim.stats().kraken.requests;

  test("the next chunk of a series goes on from where the last one ended: fewer trades pages, the same rows", async () => {
    // Kraken's minutes of two days ago come from its trades, paged with a cursor.
    const lane = await harness("1m", "exchanges: [kraken]\n");
    const apart = await harness("1m", "exchanges: [kraken]\n");
    await lane.runtime.service.refreshUniverse();
    await apart.runtime.service.refreshUniverse();
    const coins = ["BTC", "ETH", "DOGE", "NEO", "OP"];
    const [lane0, apart0] = [trades(lane), trades(apart)];
    for (const { fromOpenMs } of CHUNKS) for (const coin of coins) await lane.runtime.service.backfillRange(jobOf(coin, fromOpenMs));
    // Newest first: no chunk starts where the one before it ended, as when other instances did those.
    for (const { fromOpenMs } of [...CHUNKS].reverse()) for (const coin of coins) await apart.runtime.service.backfillRange(jobOf(coin, fromOpenMs));
    const laneCalls = trades(lane) - lane0;
    const apartCalls = trades(apart) - apart0;
    const a = readCsvDir(join(lane.dir, "csv"));
    const b = readCsvDir(join(apart.dir, "csv"));
    for (const rows of [a, b]) {
      expect(duplicates(rows)).toEqual([]);
      expect(mismatches(rows)).toEqual([]);
      expect(rows.length).toBe(coins.length * 3 * 240);
    }
    // Two seams a coin, at each a partial page (or a look-back for a quiet first minute) saved, but
    // where a page happened to end near the seam: at least one call a coin (8 of 10 seams here).
    expect(apartCalls - laneCalls).toBeGreaterThanOrEqual(coins.length);
  }, 60_000);
});

describe("backfill range", () => {
  // NOW is 2024-05-04T00:00:30Z: at 5m the newest closed bucket opens at 23:55.
  test.each([
    ["2024-05-03T23:50:26Z", ["2024-05-03T23:50:00.000Z", "2024-05-03T23:55:00.000Z"]],
    ["2024-05-03T23:50:00Z", ["2024-05-03T23:50:00.000Z", "2024-05-03T23:55:00.000Z"]],
    ["2024-05-03T23:54:59Z", ["2024-05-03T23:50:00.000Z", "2024-05-03T23:55:00.000Z"]],
    ["2024-05-03T23:55:01Z", ["2024-05-03T23:55:00.000Z"]],
  ])(
    "--from %s at 5m includes the bucket holding that instant",
    async (from, opens) => {
      const h = await harness("5m", "exchanges: [binance]\n");
      const { code, out } = await backfill(h, ["--from", from]);
      expect(out).toContain("failed ranges 0");
      expect(code).toBe(0);
      const rows = readCsvDir(join(h.dir, "csv"));
      expect(mismatches(rows)).toEqual([]);
      for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP"]) {
        expect(rows.filter((r) => r.coin === coin).map((r) => new Date(r.openTimeMs).toISOString())).toEqual(opens);
      }
    },
    30_000,
  );
});

describe("backfill pacing", () => {
  // Each slice is one page per series and is written when its answer is in; later slices are
  // fetched meanwhile. With a fixed 4 slices ahead, Poloniex's 500-row pages (6 for 2 days) left
  // the last 2 waiting on the first one's answer and write, so Poloniex finished last of all.
  test("about 4000 candles a series are in flight: all 6 Poloniex pages of 2 days a coin are asked for before any is answered", async () => {
    let holding = true;
    const held: (() => void)[] = [];
    let asked = 0;
    const h = await harness("1m", "exchanges: [poloniex]\n", (url) => {
      if (!holding || !url.includes("/candles")) return undefined;
      asked++;
      return new Promise<Response>((resolve) => held.push(() => resolve(fetch(url))));
    });
    const run = backfill(h, ["--from", "2024-05-02"]);
    // Wait (real time) until no further page is asked for, then let them all through.
    let seen = -1;
    while (seen !== asked) {
      seen = asked;
      await Bun.sleep(300);
    }
    const inFlight = asked;
    holding = false;
    for (const release of held) release();
    const { code, out } = await run;
    expect(code).toBe(0);
    expect(out).toContain("failed ranges 0");
    // 2 days = 2880 minutes: 6 pages of 500 for each of 5 coins (every first minute traded: no look-back).
    expect(inFlight).toBe(5 * 6);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(rows.length).toBe(5 * 2880);
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
  }, 60_000);
});

describe("backfill arguments", () => {
  const now = Date.parse("2024-05-04T00:00:00Z");
  test("reads dates as YYYY-MM-DD or ISO 8601 in UTC, and lists of exchanges and coins", () => {
    expect(parseBackfillArgs(["--from", "2024-05-01", "--to", "2024-05-02T12:30:00Z", "--exchange", "Binance,kraken", "--coin", "BTC,ETH"], now)).toEqual({
      fromMs: Date.parse("2024-05-01T00:00:00Z"),
      toMs: Date.parse("2024-05-02T12:30:00Z"),
      exchanges: ["binance", "kraken"],
      coins: ["BTC", "ETH"],
      repair: false,
    });
    expect(parseBackfillArgs(["--from=2024-05-01T06:00"], now).fromMs).toBe(Date.parse("2024-05-01T06:00:00Z"));
    expect(parseBackfillArgs(["--repair"], now).repair).toBe(true);
  });
  test.each([
    [["--from", "2024-05-03", "--to", "2024-05-01"], "before --to"],
    [["--from", "2030-01-01"], "future"],
    [["--from", "2024-05-01", "--to", "2031-01-01"], "future"],
    [["--from", "yesterday"], "not a date"],
    [["--from", "2024-05-01", "--exchange", "bit/finex"], "not an exchange id"],
    [["--from", "2024-05-01", "--coin", "../etc"], "not a coin name"],
    [["--to", "2024-05-01"], "--from DATE is required"],
    [["--from"], "needs a value"],
    [["--from", "2024-05-01", "--frobnicate"], "unexpected argument"],
  ])("refuses %p", (argv, message) => {
    expect(() => parseBackfillArgs(argv, now)).toThrow(UsageError);
    expect(() => parseBackfillArgs(argv, now)).toThrow(message);
  });
});

describe("backfill into PostgreSQL", () => {
  test("3 days of 1m candles for 4 exchanges × 5 coins land in CSV and PostgreSQL, identical to the simulator; again adds nothing", async () => {
    const { serverAvailable, testDatabase } = await import("./db/servers.ts");
    if (!(await serverAvailable("postgres"))) return;
    const db = testDatabase("postgres");
    try {
      const h = await harness("1m", `save_to_database: true\ndatabase_connection: "${db.url}"\n`);
      expect((await backfill(h, ["--from", "2024-05-01", "--to", "2024-05-04"])).code).toBe(0);
      const sink = h.runtime.sinks.find((s) => s.name === "database") as import("../src/sinks/database.ts").DatabaseSink;
      const { expectedCandle } = await import("./helpers/oracle.ts");
      const last = Date.parse("2024-05-03T23:59:00Z");
      let total = 0;
      for (const exchange of NATIVE_EXCHANGE_IDS) {
        for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP"]) {
          const rows = await sink.readCandles(exchange, coin, 1, FROM, last);
          expect(rows.length).toBe((last - FROM) / MINUTE_MS + 1);
          for (const r of rows) {
            const want = expectedCandle(exchange, coin, 1, r.openTimeMs)!;
            expect([r.open, r.high, r.low, r.close, r.filled]).toEqual([want.open, want.high, want.low, want.close, want.filled]);
            expect(Math.abs(r.volume - want.volume)).toBeLessThan(1e-9 * Math.max(1, want.volume));
          }
          total += rows.length;
        }
      }
      expect(total).toBe(readCsvDir(join(h.dir, "csv")).length);
      expect(mismatches(readCsvDir(join(h.dir, "csv")))).toEqual([]);
      const again = await backfill(h, ["--from", "2024-05-01", "--to", "2024-05-04"]);
      expect(again.out).toContain("0 buckets missing");
      expect(again.out).not.toMatch(/ [1-9]\d* buckets missing/);
      expect(h.sim.stats().total.rateLimited).toBe(0);
    } finally {
      await db.drop();
    }
  }, 180_000);
});
