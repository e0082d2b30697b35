/**
 * The service in-process against the simulator on a shared virtual clock: half an hour of 1-minute
 * cycles with 30 coins on all four exchanges, with no rate-limit refusal; one exchange failing every
 * request while the others keep their schedule; feed-forward the same whether or not empty candles
 * are omitted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MINUTE_MS } from "../src/domain/interval.ts";
import { type Harness, startHarness } from "./helpers/harness.ts";
import { duplicates, mismatches, readCsvDir } from "./helpers/oracle.ts";
import { NATIVE_EXCHANGE_IDS } from "../src/exchanges/index.ts";
import { simMinute } from "../src/simulator/market-data.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("service", () => {
  test("30 one-minute cycles with 30 coins on all four exchanges: every bucket saved, no rate-limit refusal", async () => {
    h = await startHarness({ startMs: T0 + 5000, yaml: "bucketing_interval: 1m\nn_coins_to_poll: 30\nlist_coins_to_poll: []\n" });
    for (let i = 0; i <= 30; i++) {
      const report = await h.tickAt(T0 + i * MINUTE_MS + 5000);
      expect(report.reports).toHaveLength(4);
    }
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    const tracked = h.runtime.service.tracked();
    for (const [exchange, markets] of tracked) {
      expect(markets.length).toBeGreaterThan(10);
      for (const m of markets) {
        const n = rows.filter((r) => r.exchange === exchange && r.coin === m.coin).length;
        expect(n).toBe(31);
      }
    }
    expect(h.sim.stats().total.rateLimited).toBe(0);
    expect(h.sim.stats().total.banned).toBe(0);
    const health = h.runtime.health.snapshot(h.clock.now());
    expect(health.status).toBe("ok");
  }, 120_000);

  test("an exchange failing every request never holds up the others, and nothing is fabricated for it", async () => {
    h = await startHarness({ startMs: T0 + 5000, yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH, DOGE]\n" });
    await h.tickAt(T0 + 5000);
    h.sim.setFaults("kucoin", { outage: true });
    for (let i = 1; i <= 4; i++) {
      const report = await h.tickAt(T0 + i * MINUTE_MS + 5000);
      const kucoin = report.reports.find((r) => r.exchange === "kucoin")!;
      expect(kucoin.seriesFailed).toBe(3);
      for (const other of report.reports.filter((r) => r.exchange !== "kucoin")) {
        expect(other.seriesFailed).toBe(0);
        expect(other.targetOpenMs).toBe(T0 + (i - 1) * MINUTE_MS);
      }
    }
    let rows = readCsvDir(join(h.dir, "csv"));
    expect(rows.filter((r) => r.exchange === "kucoin").every((r) => r.openTimeMs === T0 - MINUTE_MS)).toBe(true);
    expect(h.runtime.health.snapshot(h.clock.now()).status).toBe("degraded");
    expect(h.runtime.metrics.render()).toContain('cryptointellect_failed_ranges_total{exchange="kucoin"}');

    // The outage ends: the next cycle catches up every missed bucket.
    h.sim.setFaults("kucoin", {});
    await h.tickAt(T0 + 5 * MINUTE_MS + 5000);
    rows = readCsvDir(join(h.dir, "csv"));
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    for (const coin of ["BTC", "ETH", "DOGE"]) {
      const opens = rows.filter((r) => r.exchange === "kucoin" && r.coin === coin).map((r) => (r.openTimeMs - T0) / MINUTE_MS);
      expect(opens).toEqual([-1, 0, 1, 2, 3, 4]);
    }
  }, 60_000);

  test("empty buckets are fed forward identically whether the exchange omits them or sends zero volume", async () => {
    h = await startHarness({
      startMs: T0 + 5000,
      yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [DOGE, NEO, OP]\nexchanges: [binance, kucoin]\ncatch_up_limit: 3h\n",
    });
    // Seed one bucket, then catch up three hours at once.
    await h.tickAt(T0 + 5000);
    await h.tickAt(T0 + 180 * MINUTE_MS + 5000);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(mismatches(rows)).toEqual([]);
    const filled = rows.filter((r) => r.line.endsWith(",0,1"));
    expect(filled.some((r) => r.exchange === "kucoin")).toBe(true);
    expect(filled.some((r) => r.exchange === "binance")).toBe(true);
    for (const ex of ["binance", "kucoin"]) {
      for (const coin of ["DOGE", "NEO", "OP"]) expect(rows.filter((r) => r.exchange === ex && r.coin === coin)).toHaveLength(181);
    }
  }, 60_000);
});

describe("service at larger intervals", () => {
  test.each(["5m", "7m", "1h"])(
    "catches up %s buckets on all four exchanges exactly as the simulator has them",
    async (interval) => {
      h = await startHarness({
        startMs: T0 + 5000,
        yaml: `bucketing_interval: ${interval}\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH, DOGE, NEO, OP]\ncatch_up_limit: 10h\n`,
      });
      await h.tickAt(T0 + 5000);
      await h.tickAt(T0 + 9 * 60 * MINUTE_MS + 5000);
      const rows = readCsvDir(join(h.dir, "csv"));
      expect(duplicates(rows)).toEqual([]);
      expect(mismatches(rows)).toEqual([]);
      const minutes = Number.parseInt(interval, 10) * (interval.endsWith("h") ? 60 : 1);
      const expected = Math.floor((9 * 60) / minutes) + 1;
      for (const exchange of NATIVE_EXCHANGE_IDS) {
        for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP"]) {
          const n = rows.filter((r) => r.exchange === exchange && r.coin === coin).length;
          expect(n).toBeGreaterThanOrEqual(expected - 1);
          expect(n).toBeLessThanOrEqual(expected + 1);
        }
      }
      expect(rows.some((r) => r.exchange === "kraken" && r.coin === "BTC")).toBe(true);
      expect(rows.some((r) => r.coin === "XBT" || r.coin === "XDG")).toBe(false);
      expect(h.sim.stats().total.rateLimited).toBe(0);
    },
    60_000,
  );

  test("Kraken's 1-minute catch-up beyond its 720 most recent candles: the cycle saves what OHLC serves, the repair rebuilds the rest from trades", async () => {
    h = await startHarness({ startMs: T0 + 5000, yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC]\nexchanges: [kraken]\ncatch_up_limit: 1d\n" });
    await h.tickAt(T0 + 5000);
    const report = await h.tickAt(T0 + 20 * 60 * MINUTE_MS + 5000);
    expect(report.reports[0]!.seriesFailed).toBe(0);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(mismatches(rows)).toEqual([]);
    // Every minute from the first saved one to the newest closed one: 20 hours and one minute.
    expect(rows.length).toBe(20 * 60 + 1);
    expect(duplicates(rows)).toEqual([]);
    expect(h.lines.some((l) => l.includes("left for backfill"))).toBe(true);
    expect(h.lines.some((l) => l.includes("gap repair done"))).toBe(true);
  }, 60_000);
});

describe("Kraken omitting quiet minutes (the omitEmpty fault)", () => {
  test("the live cycle saves every minute, a quiet first minute of its window fed forward, none left for backfill", async () => {
    const coins = ["DOGE", "NEO", "TIA"];
    h = await startHarness({ startMs: T0 + 5000, yaml: `bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [${coins.join(", ")}]\nexchanges: [kraken]\n` });
    h.sim.setFaults("kraken", { omitEmpty: true });
    const minutes = 30;
    for (let i = 0; i <= minutes; i++) await h.tickAt(T0 + i * MINUTE_MS + 5000);
    // The span holds quiet minutes, each the first (and only) minute of a cycle's window.
    let quiet = 0;
    for (const coin of coins) for (let i = 0; i < minutes; i++) if (simMinute("kraken", coin, T0 + i * MINUTE_MS) === null) quiet++;
    expect(quiet).toBeGreaterThan(3);
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    for (const coin of coins) {
      const opens = rows.filter((r) => r.coin === coin).map((r) => (r.openTimeMs - T0) / MINUTE_MS);
      expect(opens).toEqual(Array.from({ length: minutes + 1 }, (_, i) => i - 1));
    }
    expect(rows.filter((r) => r.line.endsWith(",0,1")).length).toBeGreaterThanOrEqual(quiet);
    expect(h.lines.filter((l) => l.includes("left for backfill"))).toEqual([]);
  }, 60_000);
});

describe("live gap repair", () => {
  test("fills, without user action, buckets a cycle left missing, and never reaches before the saved span", async () => {
    let broken = false;
    h = await startHarness({ startMs: T0 + 5000, yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, NEO]\nexchanges: [binance]\n" });
    await h.tickAt(T0 + 5000);
    // Punch a hole in the store: delete two saved minutes of NEO from the CSV file.
    await h.tickAt(T0 + 10 * MINUTE_MS + 5000);
    const file = join(h.dir, "csv", "2024-05-01_binance_1m.csv");
    const text = await Bun.file(file).text();
    const holed = text
      .split("\n")
      .filter((l) => !(l.includes(",NEO,") && (l.startsWith("2024-05-01T09:04:00Z") || l.startsWith("2024-05-01T09:05:00Z"))))
      .join("\n");
    await Bun.write(file, holed);
    broken = true;
    // A fresh runtime (a restart) reads the store again; its first cycle runs the repair.
    await h.runtime.close();
    const { createRuntime } = await import("../src/collector/runtime.ts");
    const runtime = createRuntime(h.runtime.config, { clock: h.clock, fetch: h.clock.track((i, init) => fetch(i, init)), logger: h.logger });
    await runtime.open();
    h.clock.set(T0 + 11 * MINUTE_MS + 5000);
    await runtime.service.tick(h.clock.now());
    await runtime.close();
    const rows = readCsvDir(join(h.dir, "csv"));
    expect(broken).toBe(true);
    expect(mismatches(rows)).toEqual([]);
    expect(duplicates(rows)).toEqual([]);
    const neo = rows.filter((r) => r.coin === "NEO").map((r) => (r.openTimeMs - T0) / MINUTE_MS);
    expect(neo).toEqual([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(h.lines.some((l) => l.includes("gap repair done"))).toBe(true);
    // Nothing before the first saved bucket was fetched into the store.
    expect(Math.min(...rows.map((r) => r.openTimeMs))).toBe(T0 - MINUTE_MS);
  }, 60_000);
});

describe("coin universe in the service", () => {
  test("skips a coin no exchange lists with one log line, and reloads the ranking and listings daily", async () => {
    h = await startHarness({ startMs: T0 + 5000, yaml: "bucketing_interval: 1h\nn_coins_to_poll: 2\nlist_coins_to_poll: [Safemoon, Neo]\ncatch_up_limit: 2h\n" });
    await h.tickAt(T0 + 5000);
    await h.tickAt(T0 + 60 * MINUTE_MS + 5000);
    const count = (text: string) => h!.lines.filter((l) => l.includes(text)).length;
    expect(count("not listed on any enabled exchange")).toBe(1);
    expect(count("coin=SFM")).toBe(1);
    expect(count("coin universe loaded")).toBe(1);
    const coins = [...h.runtime.service.tracked().get("binance")!].map((m) => m.coin).sort();
    expect(coins).toEqual(["BTC", "ETH", "NEO"]);
    await h.tickAt(T0 + 25 * 60 * MINUTE_MS + 5000);
    expect(count("coin universe loaded")).toBe(2);
    expect(count("not listed on any enabled exchange")).toBe(2);
  }, 60_000);
});
