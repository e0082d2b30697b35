/**
 * Three compiled instances on three IP groups share 4 exchanges × the top 30 coins at 1m through
 * PostgreSQL and pg-boss, on a clock 10× real time shared with the simulator (one address per IP
 * group). Every closed bucket is saved once, equal to the simulator's; no series is fetched twice
 * from the same point; no address refuses a request; each instance does a fair share.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { runBinary } from "../helpers/binary.ts";
import { ADDRESSES, type Cluster, checkRows, duplicateFetches, EXCHANGES, postgresForCluster, refusalsAt, startCluster } from "./cluster-harness.ts";

const SPEED = 10;
const START = Date.parse("2024-03-08T12:00:40Z");
const FIRST_FULL = Date.parse("2024-03-08T12:01:00Z");

const available = await postgresForCluster();
let cluster: Cluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

describe.skipIf(!available)("cluster: three instances on three IP groups", () => {
  test("every closed bucket once, each series fetched once, no refusal, fair shares, status shows it", async () => {
    cluster = await startCluster({ speed: SPEED, startMs: START, coins: 30 });
    const c = cluster;
    for (const [i, name] of ["a", "b", "c"].entries()) c.start(name, i);
    const lastOpen = FIRST_FULL + 5 * MINUTE_MS;
    // Five full buckets, the last one's cycle (boundary + settle) and its shards done.
    await c.until(lastOpen + MINUTE_MS + 45_000);

    const check = await checkRows(c, FIRST_FULL, lastOpen);
    if (check.missing.length > 0)
      for (const i of c.instances.values())
        console.log(
          i.name,
          i
            .log()
            .split("\n")
            .filter((l) => / (warn|error) /.test(l) || /shard done|published/.test(l))
            .slice(-40)
            .join("\n"),
        );
    expect(check.mismatched).toEqual([]);
    expect(check.missing).toEqual([]);
    for (const ex of EXCHANGES) expect(check.coins[ex]?.length ?? 0).toBeGreaterThanOrEqual(15);
    // Never a bucket in progress.
    const [newest] = await c.sql<{ at: Date }[]>`SELECT max("timestamp") AS at FROM klines_data`;
    expect(newest!.at.getTime()).toBeLessThanOrEqual(c.clock.now() - 5000);

    const requests = c.sim.candleRequests();
    expect(duplicateFetches(requests)).toEqual([]);
    for (const address of ADDRESSES) {
      expect(refusalsAt(c, address)).toBe(0);
      // Every IP group did some of the work.
      expect(requests.filter((r) => r.address === address).length).toBeGreaterThan(0);
    }

    const status = await runBinary(["cluster", "status", "--json", "-c", c.instances.get("a")!.config], { cwd: c.dir, env: c.env });
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      instances: { name: string; ipGroup: string; alive: boolean; seriesDone: number }[];
      lag: { exchange: string; lagBuckets: number }[];
    };
    expect(parsed.instances.map((i) => [i.name, i.ipGroup, i.alive])).toEqual([
      ["a", "g1", true],
      ["b", "g2", true],
      ["c", "g3", true],
    ]);
    const mean = parsed.instances.reduce((n, i) => n + i.seriesDone, 0) / 3;
    for (const i of parsed.instances) expect(Math.abs(i.seriesDone - mean)).toBeLessThanOrEqual(mean * 0.2);
    for (const l of parsed.lag) expect(l.lagBuckets).toBeLessThanOrEqual(1);
    const text = await runBinary(["cluster", "status", "-c", c.instances.get("a")!.config], { cwd: c.dir, env: c.env });
    expect(text.stdout).toContain("instances: 3 alive, 0 gone");

    // The metadata job ran once per change for the cluster: one version, not one per instance.
    const [metadata] = await c.sql<{ versions: number }[]>`SELECT count(*)::int AS versions FROM metadata`;
    expect(metadata!.versions).toBe(1);
  }, 120_000);
});
