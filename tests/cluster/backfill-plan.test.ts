/** How a backfill is cut into jobs for a cluster: pure, no database. */
import { describe, expect, test } from "bun:test";
import { backfillExpireSeconds, backfillJobKey, CHUNK_BUCKETS, type PlannedJob, planBackfillJobs } from "../../src/cluster/backfill-jobs.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";

const at = (iso: string) => Date.parse(iso);
const SERIES = [
  { exchange: "binance", coin: "BTC" },
  { exchange: "binance", coin: "ETH" },
  { exchange: "kraken", coin: "BTC" },
];

/** Every bucket open a series' jobs cover, failing on a bucket covered twice. */
function covered(jobs: readonly PlannedJob[], exchange: string, coin: string): number[] {
  const opens: number[] = [];
  for (const j of jobs.filter((j) => j.data.exchange === exchange && j.data.coin === coin)) {
    const size = j.data.intervalMinutes * MINUTE_MS;
    for (let t = j.data.fromOpenMs; t <= j.data.toOpenMs; t += size) opens.push(t);
  }
  expect(new Set(opens).size).toBe(opens.length);
  return opens.sort((a, b) => a - b);
}

describe("backfill jobs", () => {
  test.each([
    [1, "2024-03-06T17:23:00Z", "2024-03-09T04:10:00Z"],
    [5, "2024-01-01T00:00:00Z", "2024-01-20T11:55:00Z"],
    [7, "2024-02-29T23:55:00Z", "2024-03-02T00:06:00Z"],
    [60, "2023-06-01T00:00:00Z", "2024-06-01T00:00:00Z"],
    [1, "2024-03-08T09:30:00Z", "2024-03-08T11:29:00Z"],
  ])("at %im, chunks cover [first, last] exactly once per series", (interval, first, last) => {
    const size = interval * MINUTE_MS;
    const firstOpenMs = Math.floor(at(first) / size) * size;
    const lastOpenMs = Math.floor(at(last) / size) * size;
    const jobs = planBackfillJobs({ intervalMinutes: interval, firstOpenMs, lastOpenMs, repair: false, series: SERIES });
    const want: number[] = [];
    for (let t = firstOpenMs; t <= lastOpenMs; t += size) want.push(t);
    for (const s of SERIES) expect(covered(jobs, s.exchange, s.coin)).toEqual(want);
    for (const j of jobs) {
      expect(j.data.toOpenMs - j.data.fromOpenMs).toBeLessThan(CHUNK_BUCKETS * size);
      // Inside one chunk of the grid, whatever the range.
      expect(Math.floor(j.data.fromOpenMs / (CHUNK_BUCKETS * size))).toBe(Math.floor(j.data.toOpenMs / (CHUNK_BUCKETS * size)));
      expect(j.queue).toBe(`backfill-${j.data.exchange}`);
    }
  });

  test("at 1m a chunk is a UTC day, oldest first, every series of a day before the next day", () => {
    const jobs = planBackfillJobs({ intervalMinutes: 1, firstOpenMs: at("2024-03-07T12:00:00Z"), lastOpenMs: at("2024-03-09T05:59:00Z"), repair: false, series: SERIES });
    expect(jobs.map((j) => [j.data.exchange, j.data.coin, new Date(j.data.fromOpenMs).toISOString(), new Date(j.data.toOpenMs).toISOString()])).toEqual([
      ["binance", "BTC", "2024-03-07T12:00:00.000Z", "2024-03-07T23:59:00.000Z"],
      ["binance", "ETH", "2024-03-07T12:00:00.000Z", "2024-03-07T23:59:00.000Z"],
      ["kraken", "BTC", "2024-03-07T12:00:00.000Z", "2024-03-07T23:59:00.000Z"],
      ["binance", "BTC", "2024-03-08T00:00:00.000Z", "2024-03-08T23:59:00.000Z"],
      ["binance", "ETH", "2024-03-08T00:00:00.000Z", "2024-03-08T23:59:00.000Z"],
      ["kraken", "BTC", "2024-03-08T00:00:00.000Z", "2024-03-08T23:59:00.000Z"],
      ["binance", "BTC", "2024-03-09T00:00:00.000Z", "2024-03-09T05:59:00.000Z"],
      ["binance", "ETH", "2024-03-09T00:00:00.000Z", "2024-03-09T05:59:00.000Z"],
      ["kraken", "BTC", "2024-03-09T00:00:00.000Z", "2024-03-09T05:59:00.000Z"],
    ]);
  });

  test("keys are stable across runs, distinct per series, chunk and mode, and readable", () => {
    const input = { intervalMinutes: 1, firstOpenMs: at("2024-03-07T00:00:00Z"), lastOpenMs: at("2024-03-08T23:59:00Z"), repair: false, series: SERIES };
    const keys = planBackfillJobs(input).map((j) => j.singletonKey);
    expect(planBackfillJobs(input).map((j) => j.singletonKey)).toEqual(keys);
    expect(new Set(keys).size).toBe(keys.length);
    // A series' keys do not depend on which other series are in the run.
    const alone = planBackfillJobs({ ...input, series: [SERIES[1]!] }).map((j) => j.singletonKey);
    expect(alone.every((k) => keys.includes(k))).toBe(true);
    const repair = planBackfillJobs({ ...input, repair: true }).map((j) => j.singletonKey);
    expect(repair.some((k) => keys.includes(k))).toBe(false);
    expect(keys[0]).toBe("binance|BTC|1m|2024-03-07T00:00:00.000Z..2024-03-07T23:59:00.000Z|fill");
    expect(backfillJobKey(planBackfillJobs({ ...input, repair: true })[0]!.data)).toEndWith("|repair");
  });

  test("with the missing runs given, only the chunks holding a missing bucket become jobs, still whole chunks", () => {
    const jobs = planBackfillJobs({
      intervalMinutes: 1,
      firstOpenMs: at("2024-03-06T00:00:00Z"),
      lastOpenMs: at("2024-03-08T23:59:00Z"),
      repair: true,
      series: [
        { exchange: "binance", coin: "BTC", missing: [{ fromOpenMs: at("2024-03-07T23:59:00Z"), toOpenMs: at("2024-03-08T00:00:00Z") }] },
        { exchange: "binance", coin: "ETH", missing: [] },
      ],
    });
    expect(jobs.map((j) => j.singletonKey)).toEqual([
      "binance|BTC|1m|2024-03-07T00:00:00.000Z..2024-03-07T23:59:00.000Z|repair",
      "binance|BTC|1m|2024-03-08T00:00:00.000Z..2024-03-08T23:59:00.000Z|repair",
    ]);
  });

  test("an empty range gives no job", () => {
    expect(planBackfillJobs({ intervalMinutes: 1, firstOpenMs: at("2024-03-08T00:01:00Z"), lastOpenMs: at("2024-03-08T00:00:00Z"), repair: false, series: SERIES })).toEqual([]);
  });

  test.each([
    [1, 600],
    [10, 60],
    [100, 60],
  ])("a job may run ten minutes of a clock at speed %d (at least a real minute): %d s", (speed, seconds) => {
    expect(backfillExpireSeconds({ speed })).toBe(seconds);
  });
});
