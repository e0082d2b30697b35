/**
 * /metrics is complete (SPEC section 8): after cycles with faults (retried 5xx, 429s, a 418 ban, a
 * rejected candle, quiet buckets fed forward), every family is there with values that agree with
 * what the faults were and with what the store holds.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { readCsvDir } from "../helpers/oracle.ts";
import { capture, sweepSecretsHere } from "./helpers/capture.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
const DUE = T0 + 5000;
let h: Harness | undefined;
afterAll(async () => h?.close());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): { samples: Sample[]; typed: Set<string>; bad: string[] } {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  const bad: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\w+) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      typed.add(type[1]!);
      continue;
    }
    if (/^# HELP \w+ .+$/.test(line)) continue;
    const m = /^(\w+)(?:\{((?:\w+="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+]+)$/.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, typed, bad };
}

describe("/metrics", () => {
  test("after cycles with faults, every metric family is present with sensible values", async () => {
    let kucoinRefusals = 0;
    let banned = false;
    h = await startHarness({
      startMs: DUE,
      label: "metrics",
      yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH, DOGE]\n",
      intercept: async (url, pass, now) => {
        if (url.includes("/kucoin/api/v1/market/candles") && kucoinRefusals < 2 && now >= DUE + MINUTE_MS) {
          kucoinRefusals++;
          return Response.json({ code: "429000", msg: "Too Many Requests" }, { status: 429, headers: { "Retry-After": "2" } });
        }
        if (url.includes("/binance/api/v3/klines") && !banned && now >= DUE + 3 * MINUTE_MS) {
          banned = true;
          return new Response("{}", { status: 418, headers: { "Retry-After": "600" } });
        }
        if (url.includes("/poloniex/markets/ETH_USDT/candles") && now >= DUE + 2 * MINUTE_MS && now < DUE + 3 * MINUTE_MS) {
          // The newest candle with a negative volume: rejected by the quality checks.
          const rows = (await (await pass()).json()) as unknown[][];
          return Response.json(rows.map((r, i) => (i === rows.length - 1 ? [...r.slice(0, 5), "-3", ...r.slice(6)] : r)));
        }
        return undefined;
      },
    });
    h.sim.setFaults("kraken", { errorRate: 0.3 });
    const cycles = 5;
    for (let i = 0; i < cycles; i++) await h.tickAt(DUE + i * MINUTE_MS);
    const response = await h.runtime.app.request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    capture("metrics", text);
    const { samples, typed, bad } = parse(text);
    expect(bad).toEqual([]);
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
    const has = (name: string, labels: Record<string, string>) => samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    for (const family of [
      "cryptointellect_cycles_total",
      "cryptointellect_requests_total",
      "cryptointellect_retries_total",
      "cryptointellect_rate_limited_total",
      "cryptointellect_bans_total",
      "cryptointellect_banned",
      "cryptointellect_rows_written_total",
      "cryptointellect_filled_buckets_total",
      "cryptointellect_rejected_candles_total",
      "cryptointellect_failed_ranges_total",
      "cryptointellect_listing_failures_total",
      "cryptointellect_conflicting_candles_total",
      "cryptointellect_sink_errors_total",
      "cryptointellect_lag_buckets",
      "cryptointellect_last_success_timestamp_seconds",
      "cryptointellect_save_delay_seconds",
    ]) {
      expect(typed.has(family)).toBe(true);
    }
    // The save delay: a histogram per exchange and sink, every live bucket the REST cycles saved counted.
    for (const e of ["kraken", "kucoin", "poloniex"]) {
      const count = value("cryptointellect_save_delay_seconds_count", { exchange: e, sink: "csv", source: "rest" });
      expect(count).toBeGreaterThan(0);
      expect(value("cryptointellect_save_delay_seconds_bucket", { exchange: e, sink: "csv", source: "rest", le: "+Inf" })).toBe(count);
    }
    // Cycles: one per tick; the ban made some partial.
    expect(value("cryptointellect_cycles_total")).toBe(cycles);
    expect(value("cryptointellect_cycles_total", { outcome: "partial" })).toBeGreaterThan(0);
    // Requests: per exchange and status, agreeing with what the simulator and the interceptor answered.
    for (const e of NATIVE_EXCHANGE_IDS) expect(value("cryptointellect_requests_total", { exchange: e, status: "200" })).toBeGreaterThan(0);
    expect(value("cryptointellect_requests_total", { exchange: "kucoin", status: "429" })).toBe(2);
    expect(value("cryptointellect_requests_total", { exchange: "binance", status: "418" })).toBe(1);
    const krakenErrors = samples
      .filter((s) => s.name === "cryptointellect_requests_total" && s.labels.exchange === "kraken" && /^5\d\d$/.test(s.labels.status ?? ""))
      .reduce((n, s) => n + s.value, 0);
    expect(krakenErrors).toBe(h.sim.stats().kraken.errors);
    // Retries: the 5xx on Kraken and the 429s on KuCoin, with reasons.
    expect(value("cryptointellect_retries_total", { exchange: "kraken" })).toBeGreaterThan(0);
    expect(value("cryptointellect_retries_total", { exchange: "kucoin", reason: "rate-limited" })).toBe(2);
    expect(value("cryptointellect_rate_limited_total", { exchange: "kucoin" })).toBe(2);
    // The ban: counted once, the gauge up, and Binance's lag growing while the others are current.
    expect(value("cryptointellect_bans_total", { exchange: "binance" })).toBe(1);
    expect(value("cryptointellect_banned", { exchange: "binance" })).toBe(1);
    expect(value("cryptointellect_lag_buckets", { exchange: "binance" })).toBeGreaterThan(0);
    for (const e of ["kraken", "kucoin", "poloniex"]) expect(has("cryptointellect_lag_buckets", { exchange: e })).toBe(true);
    expect(value("cryptointellect_failed_ranges_total", { exchange: "binance" })).toBeGreaterThan(0);
    // Rows written per sink agree with the CSV store, and so do the fed-forward buckets.
    const rows = readCsvDir(h.csvDir);
    for (const e of NATIVE_EXCHANGE_IDS) {
      const mine = rows.filter((r) => r.exchange === e);
      expect(value("cryptointellect_rows_written_total", { sink: "csv", exchange: e })).toBe(mine.length);
      expect(value("cryptointellect_filled_buckets_total", { exchange: e })).toBe(mine.filter((r) => r.line.endsWith(",0,1")).length);
    }
    expect(value("cryptointellect_filled_buckets_total")).toBeGreaterThan(0);
    expect(value("cryptointellect_rejected_candles_total", { exchange: "poloniex" })).toBe(1);
    // Last success: a Unix time in seconds on the virtual clock.
    for (const e of ["kraken", "kucoin", "poloniex"]) {
      const t = value("cryptointellect_last_success_timestamp_seconds", { exchange: e });
      expect(t * 1000).toBeGreaterThan(DUE);
      expect(t * 1000).toBeLessThanOrEqual(h.clock.now());
    }
  }, 60_000);
});

sweepSecretsHere();
