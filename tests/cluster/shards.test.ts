import { describe, expect, test } from "bun:test";
import { MAX_SHARD_SERIES, planShards, shardSize, TARGET_SHARDS } from "../../src/cluster/shards.ts";

describe("shard planning", () => {
  test("every series in exactly one shard, in the tracked order, each job saying how many shards its exchange has", () => {
    const coins = Array.from({ length: 37 }, (_, i) => `C${i}`);
    const jobs = planShards(60_000, [
      { exchange: "binance", coins },
      { exchange: "kraken", coins: ["BTC"] },
    ]);
    const binance = jobs.filter((j) => j.exchange === "binance");
    expect(binance.flatMap((j) => j.coins)).toEqual(coins);
    expect(binance.every((j) => j.of === binance.length && j.dueMs === 60_000)).toBe(true);
    expect(binance.length).toBeLessThanOrEqual(TARGET_SHARDS);
    expect(jobs.filter((j) => j.exchange === "kraken")).toEqual([{ exchange: "kraken", coins: ["BTC"], dueMs: 60_000, of: 1 }]);
  });

  test("the cut depends on the series only, and a shard never exceeds the most one instance fetches in a bucket", () => {
    expect(shardSize(1)).toBe(1);
    expect(shardSize(16)).toBe(1);
    expect(shardSize(30)).toBe(2);
    expect(shardSize(100_000)).toBe(MAX_SHARD_SERIES);
    const coins = Array.from({ length: 30 }, (_, i) => `C${i}`);
    expect(planShards(1, [{ exchange: "kucoin", coins }]).map((j) => j.coins)).toEqual(planShards(2, [{ exchange: "kucoin", coins }]).map((j) => j.coins));
  });
});
