/**
 * The cluster's shared state, on PostgreSQL: pg-boss holds the work (shard jobs, taken by one
 * instance each, retried by another when the one that took it dies, freezes or loses its session),
 * and two small tables of ours say who is there: `instances` (heartbeats, IP group, what each did)
 * and `ticks` (which instance turned a bucket boundary into jobs, so exactly one does).
 *
 * Timing here is the job queue's, in real seconds: a scaled test clock (`speed`) shortens the
 * expiry with the buckets, so a takeover stays within the same number of cycles.
 */
import { hostname } from "node:os";
import { PgBoss } from "pg-boss";
import postgres, { type Sql } from "postgres";
import type { Clock } from "../clock.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";

export const CLUSTER_SCHEMA = "cryptointellect_cluster";
export const BOSS_SCHEMA = "cryptointellect_boss";
/**
 * Real milliseconds between an instance's looks at an empty live queue: an eighth of the job expiry,
 * from a quarter second (a clock sped up in tests) to a second (1m buckets on the real clock: 12 a
 * second for three instances of four exchanges, where 250 ms made 48, a tenth of a core of the
 * database on the bench box while nothing was due).
 */
const livePollMs = (expireInSeconds: number) => Math.max(250, Math.min(1000, (expireInSeconds * 1000) / 8));
/** Real milliseconds between an instance's looks at an empty backfill queue. */
const QUEUE_POLL_MS = 500;
const YIELD_MS = 500;
/**
 * Job priorities per lane (backfill-jobs.ts): lane l's jobs have priorities in
 * [l·LANE_BAND + 1, (l + 1)·LANE_BAND], counting down by position, so that an instance asks for its
 * own lane's next job with a priority range and pg-boss hands them out in order.
 */
export const LANE_BAND = 100_000;
/** An instance whose last heartbeat is older than this many heartbeats is taken for gone. */
const HEARTBEATS_TO_DEATH = 3;

/** One job: a shard of one exchange's series for the cycle due at `dueMs`. */
export interface ShardJob {
  exchange: string;
  coins: string[];
  dueMs: number;
  /** How many shards the exchange's tick has (for an instance's fair part of them). */
  of: number;
}

export interface InstanceRow {
  name: string;
  ipGroup: string;
  host: string;
  pid: number;
  startedAt: Date;
  heartbeatAt: Date;
  alive: boolean;
  shardsDone: number;
  seriesDone: number;
}

export interface CoordinatorOptions {
  url: string;
  instance: string;
  ipGroup: string;
  /** The bucket interval: job expiry and heartbeats are scaled to it. */
  bucketMinutes: number;
  clock: Clock;
  logger: Logger;
  /** False for a command that only enqueues and watches (backfill): it does not join as an instance. */
  member?: boolean;
}

export interface Coordinator {
  start(): Promise<void>;
  /**
   * Enqueues the tick's jobs if no instance has for this due time: true for exactly one instance
   * (the claim and the jobs commit together, so a claim never leaves a tick without its jobs).
   */
  publishTick(dueMs: number, jobs: readonly ShardJob[]): Promise<boolean>;
  /** Takes this exchange's shard jobs one at a time while running; a handler that throws has its job retried. */
  work(exchange: string, handle: (job: ShardJob) => Promise<void>): Promise<void>;
  /**
   * Any other queue (backfill ranges): `enqueue` adds jobs (one per `singletonKey` waiting at a
   * time), `workQueue` runs them, several at once. `expireInSeconds` is real seconds a job may run
   * before another instance takes it over.
   */
  enqueue(queue: string, jobs: readonly QueuedJob[], expireInSeconds: number, keep?: QueueKeeping): Promise<void>;
  /**
   * Runs the queue's jobs, up to `inFlight` at once but never two of one `group` on this instance:
   * jobs of a series paced per pair and IP go to different IPs, not into one queue behind one pair's
   * budget. With `lanes`, it asks for its own lane's next job first (LANE_BAND).
   */
  workQueue<T extends object>(queue: string, expireInSeconds: number, handle: (data: T) => Promise<void>, how: QueueWork): Promise<void>;
  /** Alive instances of this instance's IP group (itself included; at least 1). */
  groupSize(): number;
  stop(): Promise<void>;
}

export const queueName = (exchange: string) => `live-${exchange}`;

/** How an instance works a queue (`workQueue`). */
export interface QueueWork {
  /** Jobs run at once (at most one per group). */
  inFlight: number;
  /** The queue's jobs come in lanes (priorities per LANE_BAND): ask for this instance's own first. */
  lanes: boolean;
}

/**
 * A job for `enqueue`: at most one of a `singletonKey` waits; one of a `group` runs per instance at
 * a time; a higher `priority` is taken first.
 */
export interface QueuedJob {
  data: object;
  singletonKey?: string;
  group?: string;
  priority?: number;
}

/** How long a queue keeps a job waiting, and a finished one readable, in real seconds. */
export interface QueueKeeping {
  waitSeconds: number;
  finishedSeconds: number;
}
/** Live jobs are stale after an hour: a waiting one past that is dropped, a finished one kept an hour. */
const LIVE_KEEPING: QueueKeeping = { waitSeconds: 3600, finishedSeconds: 3600 };

/** Creates the tables once, whoever comes first (the advisory lock serialises concurrent starts). */
export async function ensureClusterTables(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${CLUSTER_SCHEMA}))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${CLUSTER_SCHEMA}`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${CLUSTER_SCHEMA}.instances (
      name text PRIMARY KEY,
      ip_group text NOT NULL,
      host text NOT NULL,
      pid integer NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      heartbeat_at timestamptz NOT NULL DEFAULT now(),
      heartbeat_seconds real NOT NULL,
      shards_done bigint NOT NULL DEFAULT 0,
      series_done bigint NOT NULL DEFAULT 0
    )`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${CLUSTER_SCHEMA}.ticks (
      due_ms bigint PRIMARY KEY,
      instance text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  });
}

export async function readInstances(sql: Sql): Promise<InstanceRow[]> {
  const rows = await sql<
    { name: string; ip_group: string; host: string; pid: number; started_at: Date; heartbeat_at: Date; alive: boolean; shards_done: string; series_done: string }[]
  >`SELECT name, ip_group, host, pid, started_at, heartbeat_at,
      heartbeat_at > now() - make_interval(secs => heartbeat_seconds * ${HEARTBEATS_TO_DEATH}) AS alive,
      shards_done, series_done
    FROM ${sql(CLUSTER_SCHEMA)}.instances ORDER BY name`;
  return rows.map((r) => ({
    name: r.name,
    ipGroup: r.ip_group,
    host: r.host,
    pid: r.pid,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    alive: r.alive,
    shardsDone: Number(r.shards_done),
    seriesDone: Number(r.series_done),
  }));
}

/** Real seconds of the clock's `ms`, at least `min`. */
const realSeconds = (clock: Clock, ms: number, min: number) => Math.max(min, Math.round(ms / (clock.speed ?? 1) / 1000));

export function createCoordinator(options: CoordinatorOptions): Coordinator {
  const { clock, logger } = options;
  const bucketMs = options.bucketMinutes * 60_000;
  // A shard should take seconds; one not done in a third of a bucket is taken over in the same cycle.
  const expireInSeconds = realSeconds(clock, bucketMs / 3, 2);
  const heartbeatSeconds = Math.max(0.5, Math.min(5, expireInSeconds / 4));
  const pollMs = livePollMs(expireInSeconds);
  // pg-boss finds expired jobs within a quarter of the expiry (at most 5 s): a takeover stays in the cycle.
  const upkeepSeconds = Math.max(1, Math.min(5, Math.floor(expireInSeconds / 4)));
  // The step back after a fair part outlasts the others' look at the queue (two of them).
  const yieldMs = Math.max(YIELD_MS, 2 * pollMs);
  const sql = postgres(options.url, { max: 3, onnotice: () => {}, idle_timeout: 30, connect_timeout: 10 });
  const boss = new PgBoss({
    connectionString: options.url,
    schema: BOSS_SCHEMA,
    application_name: `cryptointellect ${options.instance}`,
    max: 4,
    superviseIntervalSeconds: upkeepSeconds,
    monitorIntervalSeconds: upkeepSeconds,
  });
  boss.on("error", (error: unknown) => logger.warn("job queue error", { error: describeError(error) }));
  const queues = new Set<string>();
  let groupAlive = 1;
  let clusterAlive = 1;
  /** This instance's place among the alive ones by name: its lane of a backfill (backfill-jobs.ts). */
  let lane = 0;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let stopped = false;
  let started = false;
  const done = { shards: 0, series: 0 };

  async function beat(): Promise<void> {
    const { shards, series } = done;
    done.shards = 0;
    done.series = 0;
    try {
      await sql`UPDATE ${sql(CLUSTER_SCHEMA)}.instances
        SET heartbeat_at = now(), shards_done = shards_done + ${shards}, series_done = series_done + ${series}
        WHERE name = ${options.instance}`;
      const rows = await readInstances(sql);
      const mine = rows.find((r) => r.name === options.instance);
      groupAlive = Math.max(1, rows.filter((r) => r.alive && r.ipGroup === options.ipGroup).length);
      clusterAlive = Math.max(1, rows.filter((r) => r.alive).length);
      lane = Math.max(
        0,
        rows.filter((r) => r.alive).findIndex((r) => r.name === options.instance),
      );
      if (!mine) await register();
    } catch (error) {
      done.shards += shards;
      done.series += series;
      if (!stopped) logger.warn("cluster heartbeat failed; retrying", { error: describeError(error) });
    }
  }

  async function register(): Promise<void> {
    await sql`INSERT INTO ${sql(CLUSTER_SCHEMA)}.instances (name, ip_group, host, pid, heartbeat_seconds)
      VALUES (${options.instance}, ${options.ipGroup}, ${hostname()}, ${process.pid}, ${heartbeatSeconds})
      ON CONFLICT (name) DO UPDATE SET ip_group = EXCLUDED.ip_group, host = EXCLUDED.host, pid = EXCLUDED.pid,
        started_at = now(), heartbeat_at = now(), heartbeat_seconds = EXCLUDED.heartbeat_seconds`;
  }

  const workers: Promise<void>[] = [];
  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  /**
   * Takes one shard at a time. Having taken its fair part of a tick's shards (their number over
   * the alive instances), an instance lets the others ask first for a moment: without that, the
   * one that happens to be awake takes most of a tick. If the others are gone it takes the rest.
   */
  async function shardLoop(name: string, handle: (job: ShardJob) => Promise<void>): Promise<void> {
    const taken = new Map<number, number>();
    while (!stopped) {
      let job: Awaited<ReturnType<typeof boss.fetch<ShardJob>>>[number] | undefined;
      try {
        [job] = await boss.fetch<ShardJob>(name, { batchSize: 1 });
      } catch (error) {
        if (!stopped) logger.warn("taking a shard job failed; retrying", { queue: name, error: describeError(error) });
        await pause(pollMs);
        continue;
      }
      if (!job) {
        await pause(pollMs);
        continue;
      }
      const attempt = { id: job.id, retryCount: job.retryCount };
      try {
        await handle(job.data);
        await boss.complete(name, attempt);
        done.shards++;
        done.series += job.data.coins.length;
      } catch (error) {
        logger.warn("shard job failed; it is retried", { queue: name, error: describeError(error) });
        await boss.fail(name, attempt, { message: describeError(error) }).catch(() => {});
      }
      const n = (taken.get(job.data.dueMs) ?? 0) + 1;
      taken.set(job.data.dueMs, n);
      for (const due of taken.keys()) if (due < job.data.dueMs) taken.delete(due);
      if (n >= Math.ceil(job.data.of / clusterAlive)) await pause(yieldMs);
    }
  }

  /**
   * Runs up to `inFlight` jobs of a queue at once, asking only for groups it is not
   * already running (pg-boss's `ignoreGroups`), and asks again as soon as one finishes (a moment
   * later on a queue without lanes, while others are up). Stopping, it takes nothing new and lets
   * the jobs in hand finish.
   */
  async function queueLoop(name: string, handle: (data: object) => Promise<void>, { inFlight, lanes }: QueueWork): Promise<void> {
    const running = new Map<string, Promise<void>>();
    const settled = () => Promise.race(running.values());
    while (!stopped) {
      if (running.size >= inFlight) {
        await settled();
        continue;
      }
      let job: Awaited<ReturnType<typeof boss.fetch<object>>>[number] | undefined;
      try {
        // Its own lane's next job first (the chunk after the one it did last of that series), then any.
        const ignoreGroups = [...running.keys()];
        if (lanes) [job] = await boss.fetch<object>(name, { batchSize: 1, ignoreGroups, minPriority: lane * LANE_BAND + 1, maxPriority: (lane + 1) * LANE_BAND });
        if (!job) [job] = await boss.fetch<object>(name, { batchSize: 1, ignoreGroups });
      } catch (error) {
        if (!stopped) logger.warn("taking a job failed; retrying", { queue: name, error: describeError(error) });
        await Promise.race([pause(QUEUE_POLL_MS), ...running.values()]);
        continue;
      }
      if (!job) {
        await Promise.race([pause(QUEUE_POLL_MS), ...running.values()]);
        continue;
      }
      const attempt = { id: job.id, retryCount: job.retryCount };
      const group = job.groupId ?? job.id;
      const data = job.data;
      running.set(
        group,
        (async () => {
          try {
            await handle(data);
            await boss.complete(name, attempt);
          } catch (error) {
            await boss.fail(name, attempt, { message: describeError(error) }).catch(() => {});
          } finally {
            // Without lanes to share the work out, a slot that just finished steps back a moment
            // while others are up, so the instance that happens to look first does not take a
            // small queue whole (a lane's next chunk is taken at once: it is this instance's).
            if (!lanes && clusterAlive > 1 && !stopped) await pause(YIELD_MS);
            running.delete(group);
          }
        })(),
      );
    }
    await Promise.all(running.values());
  }

  async function ensureQueue(name: string, expiry = expireInSeconds, keep?: QueueKeeping): Promise<void> {
    if (queues.has(name) && !keep) return;
    if (queues.has(name) || (keep && (await boss.getQueue(name)))) {
      await boss.updateQueue(name, { retentionSeconds: keep!.waitSeconds, deleteAfterSeconds: keep!.finishedSeconds });
      queues.add(name);
      return;
    }
    const { waitSeconds, finishedSeconds } = keep ?? LIVE_KEEPING;
    // `stately` with the shard as key: at most one job of a shard waits and one runs, never two at once.
    await boss
      .createQueue(name, { policy: "stately", expireInSeconds: expiry, retryLimit: 20, retryDelay: 0, deleteAfterSeconds: finishedSeconds, retentionSeconds: waitSeconds })
      .catch((error: unknown) => {
        if (!/already exists/i.test(describeError(error))) throw error;
      });
    queues.add(name);
  }

  return {
    async start() {
      await ensureClusterTables(sql);
      started = true;
      await boss.start();
      if (options.member === false) return;
      await register();
      await beat();
      heartbeat = setInterval(() => void beat(), heartbeatSeconds * 1000);
      logger.info("cluster joined", { instance: options.instance, ip_group: options.ipGroup, instances: clusterAlive, job_expiry_s: expireInSeconds });
    },
    async publishTick(dueMs, jobs) {
      for (const name of new Set(jobs.map((j) => queueName(j.exchange)))) await ensureQueue(name);
      return sql.begin(async (tx) => {
        const won = await tx`INSERT INTO ${tx(CLUSTER_SCHEMA)}.ticks (due_ms, instance) VALUES (${dueMs}, ${options.instance}) ON CONFLICT (due_ms) DO NOTHING RETURNING due_ms`;
        if (won.length === 0) return false;
        const db = { executeSql: async (text: string, values: unknown[] = []) => ({ rows: await tx.unsafe(text, values as never[]) }) };
        const byQueue = new Map<string, ShardJob[]>();
        for (const job of jobs) byQueue.set(queueName(job.exchange), [...(byQueue.get(queueName(job.exchange)) ?? []), job]);
        for (const [name, list] of byQueue) {
          await boss.insert(
            name,
            list.map((job) => ({ data: { ...job }, singletonKey: `${job.exchange}|${job.coins.join(",")}` })),
            { db },
          );
        }
        return true;
      }) as Promise<boolean>;
    },
    async work(exchange, handle) {
      const name = queueName(exchange);
      await ensureQueue(name);
      workers.push(shardLoop(name, handle));
    },
    async enqueue(queue, jobs, expiry, keep) {
      await ensureQueue(queue, expiry, keep);
      if (jobs.length > 0)
        await boss.insert(
          queue,
          jobs.map((j) => ({
            data: j.data,
            singletonKey: j.singletonKey,
            ...(j.group !== undefined ? { group: { id: j.group } } : {}),
            ...(j.priority !== undefined ? { priority: j.priority } : {}),
          })),
        );
    },
    async workQueue(queue, expiry, handle, how) {
      await ensureQueue(queue, expiry);
      workers.push(queueLoop(queue, handle as (data: object) => Promise<void>, how));
    },
    groupSize: () => groupAlive,
    async stop() {
      stopped = true;
      if (heartbeat) clearInterval(heartbeat);
      if (!started) return void (await sql.end({ timeout: 2 }));
      await Promise.all(workers);
      // Jobs in hand finish (the service is stopping: nothing new is taken), then the last counts are written.
      await boss.stop({ graceful: true, timeout: 10_000 }).catch((error: unknown) => logger.warn("job queue did not stop cleanly", { error: describeError(error) }));
      if (options.member !== false) await beat().catch(() => {});
      await sql.end({ timeout: 2 });
    },
  };
}
