/** The summary `backfill` prints after following its jobs on a cluster: pure. */
import { describe, expect, test } from "bun:test";
import { type JobStatus, planBackfillJobs } from "../../src/cluster/backfill-jobs.ts";
import { formatClusterSummary } from "../../src/cli/backfill-command.ts";
import type { ExchangeId } from "../../src/domain/candle.ts";

const range = { intervalMinutes: 1, firstOpenMs: Date.parse("2024-03-07T00:00:00Z"), lastOpenMs: Date.parse("2024-03-08T23:59:00Z"), repair: false };
const binance = planBackfillJobs({
  ...range,
  series: [
    { exchange: "binance", coin: "BTC" },
    { exchange: "binance", coin: "ETH" },
  ],
});
const kraken = planBackfillJobs({
  ...range,
  series: [
    { exchange: "kraken", coin: "BTC", missing: [] },
    { exchange: "kraken", coin: "ETH" },
  ],
});
const byExchange = new Map<ExchangeId, { jobs: typeof binance; chunks: number }>([
  ["binance", { jobs: binance, chunks: 4 }],
  ["kraken", { jobs: kraken, chunks: 4 }],
]);

describe("cluster backfill summary", () => {
  test("counts each exchange's jobs done, failed and still queued, and the chunks found complete", () => {
    const outcome = new Map<string, JobStatus>(binance.map((j) => [j.singletonKey, { state: "done" }]));
    outcome.set(kraken[0]!.singletonKey, { state: "failed", error: "kraken GET /0/public/OHLC: 500" });
    const text = formatClusterSummary(byExchange, outcome, 1);
    expect(text).toBe(
      [
        "backfill summary (1m buckets, 6 jobs for the cluster):",
        "  binance   4 jobs: 4 done, 0 failed",
        "  kraken    2 jobs: 0 done, 1 failed, 1 still queued; 2 of 4 series chunks already complete, not enqueued",
        "    failed kraken|ETH|1m|2024-03-07T00:00:00.000Z..2024-03-07T23:59:00.000Z|fill: kraken GET /0/public/OHLC: 500",
        "Some jobs failed: run the same command again to enqueue what is still missing.",
        "",
      ].join("\n"),
    );
  });

  test("an exchange whose listing could not be loaded is named", () => {
    expect(formatClusterSummary(new Map(), new Map(), 5, ["kucoin"])).toContain("kucoin    market listing could not be loaded: nothing enqueued");
  });
});
