/**
 * Backfill against a cluster, as jobs every instance works on: the command cuts the range into one
 * job per exchange, coin and chunk of time and enqueues them to `backfill-<exchange>`; each instance
 * takes them one at a time per exchange, beside its live shard jobs. Planning is pure; the watch
 * (job states, who is alive, how long jobs may wait) reads the coordination database.
 */
import postgres from "postgres";
import type { Clock } from "../clock.ts";
import type { BucketRange } from "../domain/gaps.ts";
import { baseIntervalFor, MINUTE_MS } from "../domain/interval.ts";
import { BOSS_SCHEMA, LANE_BAND, type QueueKeeping, type QueueWork, readInstances } from "./coordinator.ts";

/**
 * Buckets per job unless the exchange's cut says otherwise: a UTC day at 1m (5 days at 5m, 60 at
 * 1h). Chunks sit on multiples of their length since the epoch, so a range is always cut the same
 * way and a job's key names the same buckets on every run.
 */
export const CHUNK_BUCKETS = 1440;
/**
 * Buckets per job on exchanges that serve history in pages of candles: four UTC days at 1m, 4 to
 * 12 pages of one series, fetched several at once: a job takes seconds, an instance that dies loses
 * little. Day-chunks cost a job's overhead (taking it, a missing-range query, a transaction, the
 * acknowledgement) three times as often: on the bench box a three-instance backfill of these
 * exchanges alone took 6.5 s with them, 5.0 s with four-day chunks (one instance: 3.5-3.9 s; this
 * machine's two cores, not the exchanges' limits, bound that run).
 */
export const PAGED_CHUNK_BUCKETS = 4 * CHUNK_BUCKETS;
/**
 * Minutes per job where the history comes from trades, paged one call after another on a budget
 * per pair and IP (Kraken, 0.9 calls/s a pair): 2 hours. Small, so that every IP works on a pair at
 * once (a day-chunk left a pair's day to one IP) and lanes (below) even out in small steps at the
 * end; within a lane the chunks of a pair follow each other at no extra cost (on the bench 4-hour
 * chunks gave 2.4-2.6x one instance, 2-hour ones 2.6-2.8x).
 */
export const TRADES_CHUNK_MINUTES = 120;

/** How one exchange's range is cut. */
export interface ExchangeChunking {
  /** Buckets per chunk (on multiples of this length since the epoch). */
  chunkBuckets: number;
  /**
   * Where an endpoint serves only its newest candles (Kraken's 720): a bucket open at or a little
   * before the start of that depth. From there to the range's end is one job (one request: each returns everything up
   * to now, so two jobs would fetch the same buckets twice); the chunk before it ends there.
   */
  recentFromOpenMs?: number;
  /**
   * Lanes (the instances alive, for history from trades): a series' chunks are cut into this many
   * runs of consecutive chunks, and the jobs ordered first chunk of every lane, then the second.
   * Each instance then walks one lane: its next job of a pair starts where its last one ended, so
   * the trades pager goes on from where it stopped (no partial page at the seam, no look-back),
   * and the lanes meet only at their ends.
   */
  lanes?: number;
}

/**
 * The cut for an exchange: small chunks in `instances` lanes where history is rebuilt from
 * trades, one job for a recent-only window; four-day chunks, oldest first, otherwise.
 */
export function chunkingFor(
  adapter: { trades?: unknown; recentCandlesOnly?: number; nativeIntervals: readonly number[] },
  intervalMinutes: number,
  nowMs: number,
  instances: number,
): ExchangeChunking {
  if (!adapter.trades) return { chunkBuckets: PAGED_CHUNK_BUCKETS };
  const chunking: ExchangeChunking = { chunkBuckets: Math.max(1, Math.floor(TRADES_CHUNK_MINUTES / intervalMinutes)), lanes: Math.max(1, instances) };
  if (adapter.recentCandlesOnly === undefined) return chunking;
  const baseMs = baseIntervalFor(adapter, intervalMinutes) * MINUTE_MS;
  const depthFromMs = Math.floor(nowMs / baseMs) * baseMs - (adapter.recentCandlesOnly - 1) * baseMs;
  // On a whole hour of buckets at or before the depth's start, so that every other job is older than
  // the depth (trades only: no second request of the recent endpoint) and a run again within the
  // hour names the same job. The recent job fetches its first hour or so from trades, and what the
  // depth moved past while it waited.
  const alignMs = intervalMinutes * MINUTE_MS * Math.max(1, Math.ceil(60 / intervalMinutes));
  return { ...chunking, recentFromOpenMs: Math.floor(depthFromMs / alignMs) * alignMs };
}

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
  /** The series (a coin of the exchange's queue): an instance runs one job of a series at a time. */
  group: string;
  /** Taken before jobs of a lower one (lane positions, ExchangeChunking.lanes); absent: 0. */
  priority?: number;
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
  /** Per exchange, how its range is cut; absent: day-chunks (CHUNK_BUCKETS). */
  chunking?: Readonly<Record<string, ExchangeChunking>>;
}

export const backfillQueueName = (exchange: string) => `backfill-${exchange}`;

/**
 * How an instance works an exchange's backfill jobs. Where history comes from trades, paced per
 * pair (Kraken): in lanes (see `chunkingFor`), one job per pair up to 32, so every pair moves on every IP. Elsewhere 2: a job
 * is a few pages fetched at the exchange's pace (several in flight within the job), and more jobs at
 * once only crowd the machine and the database: on the 2-core bench box, 8 at once made the
 * three-instance backfill 2.2-2.3x one instance's, 2 at once 2.5-2.8x (bench/RESULTS.md).
 */
export function backfillQueueWork(adapter: { trades?: unknown }): QueueWork {
  return adapter.trades ? { inFlight: 32, lanes: true } : { inFlight: 2, lanes: false };
}

/** `binance|BTC|1m|2024-03-08T00:00:00.000Z..2024-03-08T23:59:00.000Z|fill`: readable in a summary. */
export function backfillJobKey(job: BackfillJob): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  return `${job.exchange}|${job.coin}|${job.intervalMinutes}m|${iso(job.fromOpenMs)}..${iso(job.toOpenMs)}|${job.repair ? "repair" : "fill"}`;
}

/**
 * The jobs of a backfill, oldest chunk first (every series of a chunk before the next chunk, so the
 * store fills from the past forward as a single backfill does), or by lane position where the
 * exchange has lanes. The chunks of a series cover [firstOpenMs, lastOpenMs] exactly, without overlap.
 */
export function planBackfillJobs(input: BackfillPlanInput): PlannedJob[] {
  const sizeMs = input.intervalMinutes * MINUTE_MS;
  const cut = (exchange: string) => input.chunking?.[exchange] ?? { chunkBuckets: CHUNK_BUCKETS };
  const ranked: { job: PlannedJob; rank: number }[] = [];
  for (const s of input.series) {
    const { chunkBuckets, recentFromOpenMs, lanes } = cut(s.exchange);
    const chunkMs = chunkBuckets * sizeMs;
    const recentFrom = Math.max(input.firstOpenMs, recentFromOpenMs ?? Number.POSITIVE_INFINITY);
    const cuts: BucketRange[] = [];
    for (let chunk = Math.floor(input.firstOpenMs / chunkMs) * chunkMs; chunk <= input.lastOpenMs && chunk < recentFrom; chunk += chunkMs)
      cuts.push({ fromOpenMs: Math.max(input.firstOpenMs, chunk), toOpenMs: Math.min(input.lastOpenMs, chunk + chunkMs - sizeMs, recentFrom - sizeMs) });
    if (recentFrom <= input.lastOpenMs) cuts.push({ fromOpenMs: recentFrom, toOpenMs: input.lastOpenMs });
    const jobs: PlannedJob[] = [];
    for (const { fromOpenMs, toOpenMs } of cuts) {
      if (fromOpenMs > toOpenMs) continue;
      if (s.missing && !s.missing.some((r) => r.fromOpenMs <= toOpenMs && r.toOpenMs >= fromOpenMs)) continue;
      const data: BackfillJob = { exchange: s.exchange, coin: s.coin, intervalMinutes: input.intervalMinutes, fromOpenMs, toOpenMs, repair: input.repair };
      jobs.push({ queue: backfillQueueName(s.exchange), singletonKey: backfillJobKey(data), group: s.coin, data });
    }
    if (lanes === undefined || lanes < 2) {
      for (const job of jobs) ranked.push({ job, rank: job.data.fromOpenMs });
      continue;
    }
    // Lane l holds chunks [start(l), start(l + 1)); its p-th chunk is taken in round p. Lanes hold
    // about equal work: a chunk weighs its length, the recent-only job (one request) a quarter chunk.
    const weights = jobs.map(({ data }) => (data.fromOpenMs >= recentFrom ? chunkMs / 4 : data.toOpenMs + sizeMs - data.fromOpenMs));
    const before = [0];
    for (const w of weights) before.push(before.at(-1)! + w);
    const total = before.at(-1)!;
    const starts = [0];
    for (let lane = 1; lane < lanes; lane++) {
      const want = (lane * total) / lanes;
      let i = starts.at(-1)!;
      while (i < jobs.length && Math.abs(before[i + 1]! - want) <= Math.abs(before[i]! - want)) i++;
      starts.push(i);
    }
    starts.push(jobs.length);
    for (let lane = 0; lane < lanes; lane++) {
      for (let i = starts[lane]!; i < starts[lane + 1]!; i++) {
        const position = i - starts[lane]!;
        jobs[i]!.priority = (lane + 1) * LANE_BAND - Math.min(position, LANE_BAND - 1);
        ranked.push({ job: jobs[i]!, rank: position * lanes + lane });
      }
    }
  }
  // The sort is stable: series keep their order within a rank.
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.job);
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
