/**
 * /health and /metrics during outages, against the in-process service and simulator: every exchange
 * unreachable (a DNS failure: fetch throws before any answer) must show as failed series and failed
 * cycles, never as a quiet `errors: 0`; a sink failing in one cycle counts once, not once per
 * exchange, and is `degraded` until it has failed three cycles in a row (SPEC section 8).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { HealthSnapshot } from "../../src/collector/health.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";
import { createCsvSink } from "../../src/sinks/csv.ts";
import type { CandleSink } from "../../src/sinks/types.ts";
import { capture, sweepSecretsHere } from "./helpers/capture.ts";
import { type Harness, type HarnessOptions, startHarness } from "../helpers/harness.ts";
import { checkStore, NO_PROBLEMS } from "./helpers/store-check.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
const DUE = T0 + 5000;
const COINS = ["BTC", "ETH", "DOGE"];
const YAML = `bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [${COINS.join(", ")}]\n`;
const due = (i: number) => DUE + i * MINUTE_MS;
const target = (i: number) => T0 + (i - 1) * MINUTE_MS;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(label: string, extra: Partial<HarnessOptions> = {}): Promise<Harness> {
  h = await startHarness({ startMs: DUE, yaml: YAML, label, ...extra });
  return h;
}

async function health(hh: Harness): Promise<{ status: number; json: HealthSnapshot }> {
  const response = await hh.runtime.app.request("/health");
  const text = await response.text();
  capture("health", text);
  return { status: response.status, json: JSON.parse(text) as HealthSnapshot };
}

/** The value of one sample of /metrics (0 when absent). */
async function sample(hh: Harness, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await hh.runtime.app.request("/metrics")).text();
  const want = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${want}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** Throws as fetch does when a host name does not resolve. */
function dnsFailure(url: string): never {
  throw new TypeError(`getaddrinfo ENOTFOUND ${new URL(url).hostname}`);
}

describe("every exchange unreachable (DNS failure)", () => {
  test("from the start: /health counts every series of every exchange as failed, with the listing error, and /metrics no cycle as ok", async () => {
    const hh = await harness("dns-down", { intercept: (url) => (url.includes("/coingecko") ? undefined : dnsFailure(url)), http: { maxAttempts: 2 } });
    const cycles = 3;
    for (let i = 0; i < cycles; i++) {
      const report = await hh.tickAt(due(i));
      expect(report.reports).toHaveLength(NATIVE_EXCHANGE_IDS.length);
      for (const r of report.reports) {
        expect(r.seriesOk).toBe(0);
        expect(r.seriesFailed).toBe(COINS.length);
        expect(r.error).toContain("market listing failed");
      }
    }
    const { status, json } = await health(hh);
    expect(status).toBe(503);
    expect(json.status).toBe("down");
    for (const e of NATIVE_EXCHANGE_IDS) {
      const ex = json.exchanges[e]!;
      expect(ex.errors).toBe(cycles * COINS.length);
      expect(ex.lastError).toContain(`${COINS.length} of ${COINS.length} series failed`);
      expect(ex.lastError).toContain("market listing failed");
      expect(ex.lastSuccess).toBeNull();
      expect(ex.lagBuckets).toBeGreaterThan(0);
    }
    expect(await sample(hh, "cryptointellect_cycles_total", { outcome: "ok" })).toBe(0);
    expect(await sample(hh, "cryptointellect_cycles_total", { outcome: "failed" })).toBe(cycles);
    for (const e of NATIVE_EXCHANGE_IDS) {
      expect(await sample(hh, "cryptointellect_listing_failures_total", { exchange: e })).toBe(cycles);
      expect(await sample(hh, "cryptointellect_failed_ranges_total", { exchange: e })).toBe(cycles * COINS.length);
    }
  }, 60_000);

  test("after a start that went well: the lag keeps growing, the cycles are failed, and once the network is back it all catches up", async () => {
    let down = false;
    const hh = await harness("dns-down-later", { intercept: (url) => (down && !url.includes("/coingecko") ? dnsFailure(url) : undefined), http: { maxAttempts: 2 } });
    for (let i = 0; i <= 2; i++) await hh.tickAt(due(i));
    expect((await health(hh)).json.status).toBe("ok");
    down = true;
    const lags: number[] = [];
    for (let i = 3; i <= 5; i++) {
      const report = await hh.tickAt(due(i));
      for (const r of report.reports) expect(r.seriesFailed).toBe(COINS.length);
      lags.push((await health(hh)).json.exchanges.binance!.lagBuckets);
    }
    expect(lags[2]!).toBeGreaterThan(lags[0]!);
    const { json } = await health(hh);
    expect(json.status).toBe("down");
    for (const e of NATIVE_EXCHANGE_IDS) expect(json.exchanges[e]!.errors).toBe(3 * COINS.length);
    expect(await sample(hh, "cryptointellect_cycles_total", { outcome: "failed" })).toBe(3);
    expect(await sample(hh, "cryptointellect_cycles_total", { outcome: "ok" })).toBe(3);
    down = false;
    await hh.tickAt(due(6));
    expect(checkStore(hh.csvDir, hh.runtime.service.tracked(), 1, target(0), target(6))).toEqual(NO_PROBLEMS);
  }, 60_000);
});

describe("a sink failing while four exchanges write to it", () => {
  /** The CSV sink, with writes that fail while `broken.now` is set (a full disk). */
  function flakyCsv(broken: { now: boolean }) {
    return (dir: string, logger: Parameters<typeof createCsvSink>[0]["logger"]): CandleSink[] => {
      const csv = createCsvSink({ directory: join(dir, "csv"), logger, lookbackDays: 2 });
      return [
        {
          name: "csv",
          open: () => csv.open(),
          lastSaved: (...a) => csv.lastSaved(...a),
          write: (candles) => (broken.now ? Promise.reject(new Error("ENOSPC: no space left on device, write")) : csv.write(candles)),
          missingRanges: (...a) => csv.missingRanges(...a),
          firstSaved: (...a) => csv.firstSaved(...a),
          close: () => csv.close(),
        },
      ];
    };
  }

  test("one failed cycle is one failure and degraded; down only after three cycles in a row; ok again once it writes", async () => {
    const broken = { now: false };
    const hh = await harness("sink-cycles", { sinks: flakyCsv(broken) });
    for (let i = 0; i <= 2; i++) await hh.tickAt(due(i));
    expect((await health(hh)).json.status).toBe("ok");
    broken.now = true;
    for (let i = 3; i <= 5; i++) {
      const report = await hh.tickAt(due(i));
      // Every exchange wrote to the sink and was refused...
      expect(report.reports.filter((r) => r.sinks.csv?.ok === false)).toHaveLength(NATIVE_EXCHANGE_IDS.length);
      // ...which is still one failed cycle of the sink.
      const failedCycles = i - 2;
      const { status, json } = await health(hh);
      expect(json.sinks.csv).toMatchObject({ consecutiveFailures: failedCycles, errors: failedCycles });
      expect(json.sinks.csv!.lastError).toContain("ENOSPC");
      expect(json.reasons).toContain(`csv sink: ${failedCycles} failed cycle(s)`);
      expect(json.status).toBe(failedCycles < 3 ? "degraded" : "down");
      expect(status).toBe(failedCycles < 3 ? 200 : 503);
    }
    broken.now = false;
    await hh.tickAt(due(6));
    const { json } = await health(hh);
    expect(json.status).toBe("ok");
    expect(json.sinks.csv).toMatchObject({ consecutiveFailures: 0, errors: 3 });
    expect(checkStore(hh.csvDir, hh.runtime.service.tracked(), 1, target(0), target(6))).toEqual(NO_PROBLEMS);
  }, 60_000);
});

sweepSecretsHere();
