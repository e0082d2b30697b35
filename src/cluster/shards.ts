/**
 * How a tick's work is cut into jobs, pure. A shard is a run of one exchange's series in the
 * order of the tracked list; the cut depends only on the series (not on how many instances are
 * up), so a shard's key names the same series across ticks and an instance joining or leaving never
 * puts one series in two shards at once.
 */
import type { ShardJob } from "./coordinator.ts";

/** Shards per exchange when there are enough series: enough for a fair share among a few instances. */
export const TARGET_SHARDS = 16;
/** Most series in one shard: one instance fetches it in a fraction of a bucket within any exchange's budget. */
export const MAX_SHARD_SERIES = 100;

export function shardSize(series: number): number {
  return Math.max(1, Math.min(MAX_SHARD_SERIES, Math.ceil(series / TARGET_SHARDS)));
}

export function planShards(dueMs: number, exchanges: readonly { exchange: string; coins: readonly string[] }[]): ShardJob[] {
  const jobs: ShardJob[] = [];
  for (const { exchange, coins } of exchanges) {
    const size = shardSize(coins.length);
    const of = Math.ceil(coins.length / size);
    for (let i = 0; i < coins.length; i += size) jobs.push({ exchange, coins: coins.slice(i, i + size), dueMs, of });
  }
  return jobs;
}
