/** How a backfill is cut into jobs for a cluster: pure, no database. */
import { describe, expect, test } from "bun:test";
import { backfillExpireSeconds, backfillJobKey, CHUNK_BUCKETS, chunkingFor, type PlannedJob, planBackfillJobs } from "../../src/cluster/backfill-jobs.ts";
import { NATIVE_EXCHANGES } from "../../src/exchanges/index.ts";
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

  test("where history comes from trades (Kraken): 2-hour chunks in lanes, one job from the hour before the recent-only window on; four-day chunks elsewhere", () => {
    const now = at("2024-03-09T10:20:30Z");
    const kraken = chunkingFor(NATIVE_EXCHANGES.kraken, 1, now, 3);
    // Kraken's OHLC keeps 720 minutes: from 22:21 on; the recent job starts on the hour before.
    expect(kraken).toEqual({ chunkBuckets: 120, lanes: 3, recentFromOpenMs: at("2024-03-08T22:00:00Z") });
    expect(chunkingFor(NATIVE_EXCHANGES.binance, 1, now, 3)).toEqual({ chunkBuckets: 4 * CHUNK_BUCKETS });
    // At 1h Kraken's OHLC reaches back 720 hours: the recent job starts 30 days back.
    expect(chunkingFor(NATIVE_EXCHANGES.kraken, 60, now, 2)).toEqual({ chunkBuckets: 2, lanes: 2, recentFromOpenMs: at("2024-02-08T11:00:00Z") });
    const jobs = planBackfillJobs({
      intervalMinutes: 1,
      firstOpenMs: at("2024-03-07T09:00:00Z"),
      lastOpenMs: at("2024-03-09T09:59:00Z"),
      repair: false,
      series: [{ exchange: "kraken", coin: "BTC" }],
      chunking: { kraken },
    });
    const iso = (ms: number) => new Date(ms).toISOString().slice(5, 16);
    const span = (j: PlannedJob) => `${iso(j.data.fromOpenMs)}/${iso(j.data.toOpenMs)}`;
    // Cut: 09:00-09:59 (to the grid), 2-hour chunks up to the recent job, then 22:00 to the end in one.
    const byTime = [...jobs].sort((a, b) => a.data.fromOpenMs - b.data.fromOpenMs);
    expect(byTime.length).toBe(1 + 18 + 1);
    expect(span(byTime[0]!)).toBe("03-07T09:00/03-07T09:59");
    expect(byTime.slice(1, -1).every((j) => j.data.toOpenMs - j.data.fromOpenMs === 119 * MINUTE_MS && j.data.fromOpenMs % (120 * MINUTE_MS) === 0)).toBe(true);
    expect(span(byTime.at(-1)!)).toBe("03-08T22:00/03-09T09:59");
    expect(covered(jobs, "kraken", "BTC").length).toBe(49 * 60);
    // Three lanes: runs of consecutive chunks, of about equal length (the recent job counts a quarter
    // chunk), priorities counting down from the top of the lane's band in time order.
    const laneOf = (j: PlannedJob) => Math.floor((j.priority! - 1) / 100_000);
    expect(byTime.map(laneOf)).toEqual([...byTime.map(laneOf)].sort((a, b) => a - b));
    const hours = [0, 1, 2].map((lane) =>
      byTime.filter((j) => laneOf(j) === lane).reduce((h, j) => h + (j === byTime.at(-1) ? 0.5 : (j.data.toOpenMs - j.data.fromOpenMs + MINUTE_MS) / 3_600_000), 0),
    );
    expect(Math.max(...hours) - Math.min(...hours)).toBeLessThanOrEqual(2);
    for (const lane of [0, 1, 2]) {
      const mine = byTime.filter((j) => laneOf(j) === lane);
      expect(mine.map((j) => j.priority)).toEqual(mine.map((_, i) => (lane + 1) * 100_000 - i));
    }
    // Taken in rounds: each lane's first chunk, then each lane's second.
    expect(jobs.slice(0, 3).map(laneOf)).toEqual([0, 1, 2]);
    expect(jobs.slice(0, 3).map((j) => j.priority! % 100_000)).toEqual([0, 0, 0]);
    expect(jobs.every((j) => j.group === "BTC")).toBe(true);
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
