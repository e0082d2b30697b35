/**
 * Backfill against a cluster, as jobs every instance works on: the command cuts the range into one
 * job per exchange, coin and chunk of time and enqueues them to `backfill-<exchange>`; each instance
 * takes them one at a time per exchange, beside its live shard jobs. Planning is pure; the watch
 * (job states, who is alive, how long jobs may wait) reads the coordination database.
 */
import postgres from "postgres";
import type { Clock } from "../clock.ts";
import type { BucketRange } from "../domain/gaps.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import { BOSS_SCHEMA, type QueueKeeping, readInstances } from "./coordinator.ts";

/**
 * Buckets per job: a UTC day at 1m (5 days at 5m, 60 at 1h). That is one to three pages of one
 * series on most exchanges, so a job takes seconds, an instance that dies loses little, and the
 * progress moves often. Chunks sit on multiples of their length since the epoch, so a range is always
 * cut the same way and a job's key names the same buckets on every run.
 */
export const CHUNK_BUCKETS = 1440;

/** One job: the buckets opening in [fromOpenMs, toOpenMs] of one series, fetched where a sink lacks them. */
export interface BackfillJob {
  exchange: string;
  coin: string;
  intervalMinutes: number;
  fromOpenMs: number;
  toOpenMs: number;
  repair: boolean;
}

export interface PlannedJob {
  queue: string;
  /** One job of a key waits at a time (the queue is `stately`): re-running the command adds nothing that still waits. */
  singletonKey: string;
  data: BackfillJob;
}

export interface BackfillPlanInput {
  intervalMinutes: number;
  /** Open time of the first bucket to cover (a bucket boundary). */
  firstOpenMs: number;
  /** Open time of the last bucket to cover. */
  lastOpenMs: number;
  repair: boolean;
  /** The series, in order; with `missing`, only chunks holding a missing bucket become jobs. */
  series: readonly { exchange: string; coin: string; missing?: readonly BucketRange[] }[];
}

export const backfillQueueName = (exchange: string) => `backfill-${exchange}`;

/** `binance|BTC|1m|2024-03-08T00:00:00.000Z..2024-03-08T23:59:00.000Z|fill`: readable in a summary. */
export function backfillJobKey(job: BackfillJob): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  return `${job.exchange}|${job.coin}|${job.intervalMinutes}m|${iso(job.fromOpenMs)}..${iso(job.toOpenMs)}|${job.repair ? "repair" : "fill"}`;
}

/**
 * The jobs of a backfill, oldest chunk first (every series of a chunk before the next chunk, so the
 * store fills from the past forward as a single backfill does). The chunks of a series cover
 * [firstOpenMs, lastOpenMs] exactly, without overlap.
 */
export function planBackfillJobs(input: BackfillPlanInput): PlannedJob[] {
  const sizeMs = input.intervalMinutes * MINUTE_MS;
  const chunkMs = CHUNK_BUCKETS * sizeMs;
  const jobs: PlannedJob[] = [];
  for (let chunk = Math.floor(input.firstOpenMs / chunkMs) * chunkMs; chunk <= input.lastOpenMs; chunk += chunkMs) {
    const fromOpenMs = Math.max(input.firstOpenMs, chunk);
    const toOpenMs = Math.min(input.lastOpenMs, chunk + chunkMs - sizeMs);
    if (fromOpenMs > toOpenMs) continue;
    for (const s of input.series) {
      if (s.missing && !s.missing.some((r) => r.fromOpenMs <= toOpenMs && r.toOpenMs >= fromOpenMs)) continue;
      const data: BackfillJob = { exchange: s.exchange, coin: s.coin, intervalMinutes: input.intervalMinutes, fromOpenMs, toOpenMs, repair: input.repair };
      jobs.push({ queue: backfillQueueName(s.exchange), singletonKey: backfillJobKey(data), data });
    }
  }
  return jobs;
}

/**
 * Real seconds a backfill job may run before another instance takes it over: ten minutes of the
 * clock, at least one real minute. A chunk takes seconds; even Kraken's history rebuilt from trades
 * stays well inside it, and a dead instance's job is picked up again within minutes.
 */
export function backfillExpireSeconds(clock: Pick<Clock, "speed">): number {
  return Math.max(60, Math.round(600 / (clock.speed ?? 1)));
}

export type JobState = "waiting" | "running" | "done" | "failed";

export interface JobStatus {
  state: JobState;
  /** Why the last attempt failed (the handler's error message), when it did. */
  error?: string;
}

/** What the command watches: job states, who is alive, and how long its jobs may wait. */
export interface BackfillWatch {
  /** The newest job of each key; a key without one is absent (its job finished long ago and was deleted). */
  states(queue: string, keys: readonly string[]): Promise<Map<string, JobStatus>>;
  /** Instances whose heartbeat is current. */
  aliveInstances(): Promise<number>;
  close(): Promise<void>;
}

/** Backfill jobs may wait a week (a year of history takes a while), finished ones stay readable a day. */
export const BACKFILL_KEEPING: QueueKeeping = { waitSeconds: 7 * 86_400, finishedSeconds: 86_400 };
/** Keys per state query: a long backfill's thousands of jobs are read in a few statements. */
const KEYS_PER_QUERY = 5000;

const STATES: Record<string, JobState> = { created: "waiting", retry: "waiting", active: "running", completed: "done", failed: "failed", cancelled: "failed" };

export function createBackfillWatch(url: string): BackfillWatch {
  const sql = postgres(url, { max: 1, onnotice: () => {}, idle_timeout: 30, connect_timeout: 10 });
  return {
    async states(queue, keys) {
      const out = new Map<string, JobStatus>();
      for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
        const rows = await sql<{ key: string; state: string; error: string | null }[]>`
          SELECT DISTINCT ON (singleton_key) singleton_key AS key, state::text AS state, output->>'message' AS error
          FROM ${sql(BOSS_SCHEMA)}.job
          WHERE name = ${queue} AND singleton_key = ANY(${keys.slice(i, i + KEYS_PER_QUERY) as string[]}::text[])
          ORDER BY singleton_key, created_on DESC`;
        for (const r of rows) {
          const state = STATES[r.state] ?? "waiting";
          out.set(r.key, state === "failed" ? { state, error: r.error ?? r.state } : { state });
        }
      }
      return out;
    },
    async aliveInstances() {
      return (await readInstances(sql)).filter((r) => r.alive).length;
    },
    async close() {
      await sql.end({ timeout: 2 });
    },
  };
}
