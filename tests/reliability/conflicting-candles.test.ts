/**
 * An exchange answering two different candles for the same open time, against the in-process
 * service and simulator: a quality failure (logged, counted in /metrics), the window fetched again,
 * and, when every answer disagrees, the bucket left missing and reported, never one copy picked.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { CONFLICT_RETRIES } from "../../src/pipeline/fetch-range.ts";
import { readCsvDir } from "../helpers/oracle.ts";
import { sweepSecretsHere } from "./helpers/capture.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";
import { checkStore, NO_PROBLEMS } from "./helpers/store-check.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
const DUE = T0 + 5000;
const due = (i: number) => DUE + i * MINUTE_MS;
const target = (i: number) => T0 + (i - 1) * MINUTE_MS;
/** The minute Binance answers twice for BTC: the newest closed bucket of the cycle due at 2. */
const DISPUTED = target(2);
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Binance klines for BTC with the disputed minute repeated at the end, its close changed, in the first `answers` answers holding it. */
async function harness(label: string, answers: number): Promise<{ hh: Harness; disputedAnswers: () => number }> {
  let seen = 0;
  const hh = await startHarness({
    startMs: DUE,
    label,
    yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH]\nexchanges: [binance]\n",
    intercept: async (url, pass) => {
      if (!url.includes("/binance/api/v3/klines") || !url.includes("symbol=BTCUSDT")) return undefined;
      const rows = (await (await pass()).json()) as unknown[][];
      const row = rows.find((r) => r[0] === DISPUTED);
      if (!row || seen++ >= answers) return Response.json(rows);
      return Response.json([...rows, row.map((v, i) => (i === 4 ? String(Number(v) * 1.001) : v))]);
    },
  });
  h = hh;
  return { hh, disputedAnswers: () => seen };
}

function metric(text: string, name: string, exchange: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{exchange="${exchange}"} `));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

describe("two different candles for one open time in an answer", () => {
  test("in every answer: counted and logged each time, the window retried, the bucket left missing and reported, the rest saved", async () => {
    const { hh, disputedAnswers } = await harness("conflict-persists", Infinity);
    const rejected: number[] = [];
    for (let i = 0; i <= 4; i++) {
      const report = await hh.tickAt(due(i));
      rejected.push(report.reports[0]!.rejected);
    }
    // Cycles 2 and 3 fetched the disputed minute (3 still resumed from the last saved bucket before
    // it); each asked 1 + CONFLICT_RETRIES times and reported the bucket once.
    expect(disputedAnswers()).toBe(2 * (1 + CONFLICT_RETRIES));
    expect(rejected).toEqual([0, 0, 1, 1, 0]);
    const text = await (await hh.runtime.app.request("/metrics")).text();
    expect(metric(text, "cryptointellect_conflicting_candles_total", "binance")).toBe(2 * (1 + CONFLICT_RETRIES));
    expect(metric(text, "cryptointellect_rejected_candles_total", "binance")).toBe(2);
    expect(hh.lines.filter((l) => l.includes("fetching the window again")).length).toBe(2 * CONFLICT_RETRIES);
    expect(hh.lines.filter((l) => l.includes("in every answer; those buckets are left missing")).length).toBe(2);
    expect(hh.lines.some((l) => l.includes("candle failed quality checks") && l.includes("different candles for this open time"))).toBe(true);
    // Neither copy saved, nothing fed forward in its place; every other bucket there and exact.
    const rows = readCsvDir(hh.csvDir);
    expect(rows.filter((r) => r.coin === "BTC" && r.openTimeMs === DISPUTED)).toEqual([]);
    const problems = checkStore(rows, hh.runtime.service.tracked(), 1, target(0), target(4));
    expect(problems.duplicates).toEqual([]);
    expect(problems.mismatches).toEqual([]);
    expect(problems.coverage).toEqual([`binance BTC: missing ${new Date(DISPUTED).toISOString().slice(5, 16)}`]);
  }, 60_000);

  test("in one answer only: counted and logged, the retry's answer saved, nothing missing", async () => {
    const { hh, disputedAnswers } = await harness("conflict-once", 1);
    for (let i = 0; i <= 3; i++) {
      const report = await hh.tickAt(due(i));
      expect(report.reports[0]!.rejected).toBe(0);
    }
    expect(disputedAnswers()).toBe(2);
    const text = await (await hh.runtime.app.request("/metrics")).text();
    expect(metric(text, "cryptointellect_conflicting_candles_total", "binance")).toBe(1);
    expect(metric(text, "cryptointellect_rejected_candles_total", "binance")).toBe(0);
    expect(hh.lines.filter((l) => l.includes("fetching the window again")).length).toBe(1);
    expect(checkStore(hh.csvDir, hh.runtime.service.tracked(), 1, target(0), target(3))).toEqual(NO_PROBLEMS);
  }, 60_000);
});

sweepSecretsHere();
