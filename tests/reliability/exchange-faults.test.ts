/**
 * Exchange faults against the in-process service and simulator on one virtual clock: 5xx bursts,
 * timeouts, truncated and garbage bodies, an hour-long outage, 429 with Retry-After, a Binance 418
 * ban, a market delisted mid-run and a coin newly in the top N. After each: no candle lost once the
 * fault ends, none fabricated during it, none duplicated.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { NativeExchangeId as ExchangeId } from "../../src/exchanges/index.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";
import type { HealthSnapshot } from "../../src/collector/health.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import type { Faults } from "../../src/simulator/faults.ts";
import { readCsvDir } from "../helpers/oracle.ts";
import { type Harness, type HarnessOptions, startHarness } from "../helpers/harness.ts";
import { checkStore, NO_PROBLEMS } from "./helpers/store-check.ts";
import { sweepSecretsHere } from "./helpers/capture.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
const DUE = T0 + 5000;
const EXCHANGES: readonly ExchangeId[] = [...NATIVE_EXCHANGE_IDS];
const YAML = "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH, DOGE]\n";
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(label: string, extra: Partial<HarnessOptions> = {}): Promise<Harness> {
  h = await startHarness({ startMs: DUE, yaml: YAML, label, ...extra });
  return h;
}

/** Newest closed bucket of the cycle due at minute `i` after T0. */
const target = (i: number) => T0 + (i - 1) * MINUTE_MS;
const due = (i: number) => DUE + i * MINUTE_MS;

function setAll(hh: Harness, faults: Faults) {
  for (const id of EXCHANGES) hh.sim.setFaults(id, faults);
}

describe("exchange faults", () => {
  test.each<[string, Faults, HarnessOptions["http"], string]>([
    ["5xx bursts", { errorRate: 0.6 }, undefined, "http-5"],
    ["timeouts", { timeoutRate: 0.3 }, { timeoutMs: 250 }, "timeout"],
    ["truncated bodies", { truncateRate: 0.6 }, undefined, "unparseable"],
    ["garbage bodies", { garbageRate: 0.6 }, undefined, "unparseable"],
  ])(
    "%s: nothing fabricated or duplicated during them, nothing lost once they end",
    async (name, faults, http, reason) => {
      const hh = await harness(`faults-${name}`, { http });
      await hh.tickAt(due(0));
      setAll(hh, faults);
      let failedSeries = 0;
      for (let i = 1; i <= 8; i++) {
        const report = await hh.tickAt(due(i));
        failedSeries += report.reports.reduce((n, r) => n + r.seriesFailed, 0);
        const during = checkStore(hh.csvDir, new Map(), 1, 0, -1);
        expect(during.duplicates).toEqual([]);
        expect(during.mismatches).toEqual([]);
      }
      expect(hh.sim.stats().total.errors).toBeGreaterThan(10);
      expect(hh.lines.some((l) => l.includes("retrying") && l.includes(`reason=${reason}`))).toBe(true);
      if (name !== "timeouts") expect(failedSeries).toBeGreaterThan(0); // the fault did cost buckets for a while
      setAll(hh, {});
      await hh.tickAt(due(9));
      expect(checkStore(hh.csvDir, hh.runtime.service.tracked(), 1, target(0), target(9))).toEqual(NO_PROBLEMS);
    },
    60_000,
  );

  // BUG (src/collector/service.ts, refresh() awaited by tick()): every exchange's cycle waits until all market
  // listings are loaded, so one exchange whose listing request hangs holds up every other exchange
  // until its retries give up (15 s timeout × 5 attempts with the defaults), at startup and at each
  // daily refresh. README: one slow or failing exchange never delays another.
  test("an exchange whose listing request hangs does not hold up the others' cycles", async () => {
    const hh = await harness("hanging-listing", { http: { timeoutMs: 1500 } });
    hh.sim.setFaults("kucoin", { timeoutRate: 1 });
    const tick = hh.tickAt(due(0));
    const started = performance.now();
    while (performance.now() - started < 3000 && !existsSync(join(hh.csvDir, "2024-05-01_binance_1m.csv"))) await Bun.sleep(20);
    expect(existsSync(join(hh.csvDir, "2024-05-01_binance_1m.csv"))).toBe(true);
    await tick;
  }, 60_000);

  test("one exchange out for an hour: the others keep every bucket, it catches up the whole hour after", async () => {
    const hh = await harness("outage-hour");
    await hh.tickAt(due(0));
    hh.sim.setFaults("kucoin", { outage: true });
    for (let i = 1; i <= 60; i++) {
      const report = await hh.tickAt(due(i));
      expect(report.reports.find((r) => r.exchange === "kucoin")!.seriesFailed).toBe(3);
    }
    const tracked = hh.runtime.service.tracked();
    const others = new Map([...tracked].filter(([e]) => e !== "kucoin"));
    const rows = readCsvDir(hh.csvDir);
    expect(
      checkStore(
        rows.filter((r) => r.exchange !== "kucoin"),
        others,
        1,
        target(0),
        target(60),
      ),
    ).toEqual(NO_PROBLEMS);
    // Nothing invented for the exchange that was down.
    expect(rows.filter((r) => r.exchange === "kucoin").every((r) => r.openTimeMs === target(0))).toBe(true);
    const health = (await (await hh.runtime.app.request("/health")).json()) as HealthSnapshot;
    expect(health.status).toBe("degraded");
    expect(health.reasons.join(" ")).toContain("kucoin");
    hh.sim.setFaults("kucoin", {});
    await hh.tickAt(due(61));
    expect(checkStore(hh.csvDir, tracked, 1, target(0), target(61))).toEqual(NO_PROBLEMS);
  }, 60_000);

  test("429 with Retry-After: nothing is sent to that exchange until the wait is over, nothing is lost", async () => {
    let refusals = 0;
    const hh = await harness("retry-after", {
      recordRequests: true,
      intercept: (url, _pass, now) => {
        if (url.includes("/kucoin/api/v1/market/candles") && now >= due(2) && refusals < 3) {
          refusals++;
          return Response.json({ code: "429000", msg: "Too Many Requests" }, { status: 429, headers: { "Retry-After": "7" } });
        }
        return undefined;
      },
    });
    for (let i = 0; i <= 4; i++) await hh.tickAt(due(i));
    const kucoin = hh.requests.filter((r) => r.url.includes("/kucoin/"));
    const lastRefusal = kucoin.findLastIndex((r) => r.status === 429);
    expect(lastRefusal).toBeGreaterThan(0);
    for (const r of kucoin.slice(lastRefusal + 1)) expect(r.atMs).toBeGreaterThanOrEqual(kucoin[lastRefusal]!.atMs + 7000);
    expect(hh.runtime.metrics.get("cryptointellect_rate_limited_total", { exchange: "kucoin" })).toBe(3);
    expect(checkStore(hh.csvDir, hh.runtime.service.tracked(), 1, target(0), target(4))).toEqual(NO_PROBLEMS);
  }, 60_000);

  test("a Binance 418 ban: no call to Binance until it ends, the others go on, /health and /metrics report it", async () => {
    let banned = false;
    const hh = await harness("ban-418", {
      recordRequests: true,
      intercept: (url, _pass, now) => {
        if (url.includes("/binance/api/v3/klines") && now >= due(3) && !banned) {
          banned = true;
          return Response.json({ code: -1003, msg: "Way too many requests; IP banned." }, { status: 418, headers: { "Retry-After": "300" } });
        }
        return undefined;
      },
    });
    for (let i = 0; i <= 5; i++) await hh.tickAt(due(i));
    const health = (await (await hh.runtime.app.request("/health")).json()) as HealthSnapshot;
    expect(health.exchanges.binance?.bannedUntil).not.toBeNull();
    expect(health.reasons.join(" ")).toContain("binance: banned until");
    const metrics = await (await hh.runtime.app.request("/metrics")).text();
    expect(metrics).toContain('cryptointellect_banned{exchange="binance"} 1');
    expect(metrics).toContain('cryptointellect_bans_total{exchange="binance"} 1');
    const tracked = hh.runtime.service.tracked();
    const others = new Map([...tracked].filter(([e]) => e !== "binance"));
    expect(
      checkStore(
        readCsvDir(hh.csvDir).filter((r) => r.exchange !== "binance"),
        others,
        1,
        target(0),
        target(5),
      ),
    ).toEqual(NO_PROBLEMS);

    for (let i = 6; i <= 10; i++) await hh.tickAt(due(i));
    const binance = hh.requests.filter((r) => r.url.includes("/binance/"));
    const ban = binance.findIndex((r) => r.status === 418);
    expect(ban).toBeGreaterThanOrEqual(0);
    const after = binance.slice(ban + 1).filter((r) => r.atMs > binance[ban]!.atMs);
    expect(after.length).toBeGreaterThan(0);
    for (const r of after) expect(r.atMs).toBeGreaterThanOrEqual(binance[ban]!.atMs + 300_000);
    expect(checkStore(hh.csvDir, tracked, 1, target(0), target(10))).toEqual(NO_PROBLEMS);
    expect(await (await hh.runtime.app.request("/metrics")).text()).toContain('cryptointellect_banned{exchange="binance"} 0');
  }, 60_000);

  test("a market delisted mid-run: its series stops without invented rows, the rest go on, the next listing drops it", async () => {
    const hh = await harness("delisted", { yaml: YAML + "catch_up_limit: 1h\n" });
    for (let i = 0; i <= 2; i++) await hh.tickAt(due(i));
    hh.sim.setFaults("binance", { delisted: ["DOGE"] });
    for (let i = 3; i <= 6; i++) await hh.tickAt(due(i));
    const rows = readCsvDir(hh.csvDir);
    const tracked = hh.runtime.service.tracked();
    expect(Math.max(...rows.filter((r) => r.exchange === "binance" && r.coin === "DOGE").map((r) => r.openTimeMs))).toBe(target(2));
    const rest = new Map([...tracked].map(([e, ms]) => [e, ms.filter((m) => !(e === "binance" && m.coin === "DOGE"))] as const));
    expect(
      checkStore(
        rows.filter((r) => !(r.exchange === "binance" && r.coin === "DOGE")),
        rest,
        1,
        target(0),
        target(6),
      ),
    ).toEqual(NO_PROBLEMS);
    expect(hh.lines.some((l) => l.includes("exchange=binance") && l.includes("coin=DOGE") && l.includes("unknown symbol"))).toBe(true);

    // A day later the listings are reloaded: DOGE is no longer collected on Binance, and said so once.
    const day = due(24 * 60);
    await hh.tickAt(day);
    expect(
      hh.runtime.service
        .tracked()
        .get("binance")!
        .some((m) => m.coin === "DOGE"),
    ).toBe(false);
    expect(hh.lines.some((l) => l.includes("coins not listed on this exchange") && l.includes("exchange=binance") && l.includes("DOGE"))).toBe(true);
    const later = readCsvDir(hh.csvDir);
    expect(later.filter((r) => r.exchange === "binance" && r.coin === "DOGE" && r.openTimeMs > target(2))).toEqual([]);
    expect(later.filter((r) => r.exchange === "kucoin" && r.coin === "DOGE" && r.openTimeMs === day - 5000 - MINUTE_MS)).toHaveLength(1);
    expect(checkStore(later, new Map(), 1, 0, -1)).toEqual(NO_PROBLEMS);
  }, 60_000);

  test("a coin newly in the top N is collected from the next refresh on, with nothing invented before", async () => {
    let hideEthereum = true;
    const hh = await harness("new-top-coin", {
      yaml: "bucketing_interval: 1m\nn_coins_to_poll: 3\nlist_coins_to_poll: []\ncatch_up_limit: 1h\n",
      intercept: async (url, pass) => {
        if (!url.includes("/coingecko/api/v3/coins/markets") || !hideEthereum) return undefined;
        const ranking = (await (await pass()).json()) as { id: string }[];
        return Response.json(ranking.filter((c) => c.id !== "ethereum"));
      },
    });
    for (let i = 0; i <= 2; i++) await hh.tickAt(due(i));
    expect(readCsvDir(hh.csvDir).some((r) => r.coin === "ETH")).toBe(false);
    expect(readCsvDir(hh.csvDir).some((r) => r.coin === "BNB")).toBe(true);
    hideEthereum = false;
    const refresh = 24 * 60 + 10;
    for (let i = refresh; i <= refresh + 3; i++) await hh.tickAt(due(i));
    const rows = readCsvDir(hh.csvDir);
    const tracked = hh.runtime.service.tracked();
    const eth = new Map([...tracked].map(([e, ms]) => [e, ms.filter((m) => m.coin === "ETH")] as const));
    expect([...eth.values()].flat().length).toBe(4);
    // Fresh series: from the newest closed bucket at the refresh, contiguous, as the simulator has it.
    expect(
      checkStore(
        rows.filter((r) => r.coin === "ETH"),
        eth,
        1,
        target(refresh),
        target(refresh + 3),
      ),
    ).toEqual(NO_PROBLEMS);
    expect(rows.some((r) => r.coin === "BNB" && r.openTimeMs >= target(refresh))).toBe(false);
    expect(checkStore(rows, new Map(), 1, 0, -1)).toEqual(NO_PROBLEMS);
  }, 60_000);
});

sweepSecretsHere();
