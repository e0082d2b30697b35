/**
 * The backfill queue as instances work it (coordinator.ts `workQueue`), on real PostgreSQL and
 * pg-boss: never two jobs of one series at once on an instance; each instance walks its own lane
 * of a series (the chunks planned for it, in order) before it takes another's; every job runs once.
 */
import { afterEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { type BackfillJob, planBackfillJobs } from "../../src/cluster/backfill-jobs.ts";
import { type Coordinator, createCoordinator } from "../../src/cluster/coordinator.ts";
import { systemClock } from "../../src/clock.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { createMemoryLogger } from "../../src/telemetry/log.ts";
import { serverAvailable, serverUrl, type TestDatabase, testDatabase } from "../db/servers.ts";

const available = await serverAvailable("postgres");
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshDatabase(): Promise<TestDatabase> {
  const db = testDatabase("postgres");
  const admin = postgres(serverUrl("postgres", { database: "postgres" }), { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${db.name}"`);
  await admin.end();
  cleanups.push(() => db.drop());
  return db;
}

function coordinator(url: string, instance: string, member = true): Coordinator {
  const c = createCoordinator({ url, instance, ipGroup: instance, bucketMinutes: 1, clock: systemClock, logger: createMemoryLogger(), member });
  cleanups.push(() => c.stop());
  return c;
}

const QUEUE = "backfill-kraken";
const at = (iso: string) => Date.parse(iso);

describe.skipIf(!available)("backfill queue", () => {
  test("one job of a series at a time per instance, each instance on its own lane first, every job once", async () => {
    const db = await freshDatabase();
    // Two instances, so two lanes; four coins, 24 hours of 4-hour chunks each: 6 chunks, 3 a lane.
    const a = coordinator(db.url, "a");
    const b = coordinator(db.url, "b");
    await a.start();
    await b.start();
    const coins = ["BTC", "ETH", "SOL", "XRP"];
    const jobs = planBackfillJobs({
      intervalMinutes: 1,
      firstOpenMs: at("2024-03-08T00:00:00Z"),
      lastOpenMs: at("2024-03-08T23:59:00Z"),
      repair: false,
      series: coins.map((coin) => ({ exchange: "kraken", coin })),
      chunking: { kraken: { chunkBuckets: 240, lanes: 2 } },
    });
    expect(jobs.length).toBe(24);
    const laneOf = new Map(jobs.map((j) => [`${j.data.coin}|${j.data.fromOpenMs}`, j.priority! > 100_000 ? 1 : 0]));

    const ran: { instance: string; coin: string; fromOpenMs: number }[] = [];
    const running = new Map<string, Set<string>>([
      ["a", new Set()],
      ["b", new Set()],
    ]);
    let overlap = "";
    const handler = (instance: string) => async (job: BackfillJob) => {
      const mine = running.get(instance)!;
      if (mine.has(job.coin)) overlap = `${instance} ran two ${job.coin} jobs at once`;
      mine.add(job.coin);
      await Bun.sleep(30 + Math.random() * 40);
      ran.push({ instance, coin: job.coin, fromOpenMs: job.fromOpenMs });
      mine.delete(job.coin);
    };
    // Lane 0 is the instance first by name (a), lane 1 the next (b): the lane of `a` waits a moment
    // so that both have joined and counted each other before any job is there.
    await Bun.sleep(1500);
    const enqueuer = coordinator(db.url, "cli", false);
    await enqueuer.start();
    await enqueuer.enqueue(
      QUEUE,
      jobs.map((j) => ({ data: j.data, singletonKey: j.singletonKey, group: j.group, priority: j.priority })),
      60,
    );
    await a.workQueue<BackfillJob>(QUEUE, 60, handler("a"), { inFlight: 8, lanes: true });
    await b.workQueue<BackfillJob>(QUEUE, 60, handler("b"), { inFlight: 8, lanes: true });
    const until = Date.now() + 20_000;
    while (ran.length < jobs.length && Date.now() < until) await Bun.sleep(100);

    expect(overlap).toBe("");
    expect(ran.length).toBe(jobs.length);
    expect(new Set(ran.map((r) => `${r.coin}|${r.fromOpenMs}`)).size).toBe(jobs.length);
    // Each instance's jobs of a series: its own lane's, oldest first (nothing left to take from the other's
    // here: both lanes are the same length and both instances work at the same pace, give or take).
    for (const coin of coins) {
      for (const [instance, lane] of [
        ["a", 0],
        ["b", 1],
      ] as const) {
        const mine = ran.filter((r) => r.instance === instance && r.coin === coin);
        const own = mine.filter((r) => laneOf.get(`${coin}|${r.fromOpenMs}`) === lane);
        // The first three it ran of this coin are its own lane's three chunks, in order.
        expect(mine.slice(0, own.length).map((r) => r.fromOpenMs)).toEqual(own.map((r) => r.fromOpenMs).sort((x, y) => x - y));
        expect(own.length).toBeGreaterThanOrEqual(2);
        for (let i = 1; i < own.length; i++) expect(own[i]!.fromOpenMs - own[i - 1]!.fromOpenMs).toBe(240 * MINUTE_MS);
      }
    }
  }, 60_000);
});
