/**
 * Two instances behind one egress IP (one IP group, one simulator address) split its budget: a
 * backfill that puts both on the same Kraken pairs at once (several day-chunks of each pair) gets no
 * refusal, where each spending the whole per-pair pace would take the pair to twice Kraken's limit.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ADDRESSES, type Cluster, checkRows, postgresForCluster, refusalsAt, startCluster } from "./cluster-harness.ts";
import { runBinary } from "../helpers/binary.ts";

const SPEED = 10;
const START = Date.parse("2024-03-08T12:00:40Z");

const available = await postgresForCluster();
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe.skipIf(!available)("cluster: one IP group", () => {
  test("two instances of one group keep the IP's limits together: no refusal on a Kraken backfill of several chunks a pair", async () => {
    cluster = await startCluster({ speed: SPEED, startMs: START, coins: 3, yaml: "" });
    const c = cluster;
    c.start("a", 0);
    c.start("b", 0);
    for (let i = 0; i < 300; i++) {
      const [row] = await c.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM cryptointellect_cluster.instances WHERE heartbeat_at > now() - interval '5 seconds'`.catch(() => [
        { n: 0 },
      ]);
      if (row!.n === 2) break;
      await Bun.sleep(100);
    }
    const config = c.instances.get("a")!.config;
    // Three UTC days before the live window: three chunks per pair, worked at once by both.
    const run = await runBinary(["backfill", "--from", "2024-03-05T00:00:00Z", "--to", "2024-03-08T00:00:00Z", "--exchange", "kraken", "-c", config], { cwd: c.dir, env: c.env });
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    const stats = c.sim.stats();
    const group = stats.byAddress[ADDRESSES[0]!]!;
    expect(group.kraken.requests).toBeGreaterThan(0);
    expect(refusalsAt(c, ADDRESSES[0]!)).toBe(0);
    // Both instances worked on the backfill.
    const logs = [...c.instances.values()].map((i) => (i.log().match(/backfill job done/g) ?? []).length);
    for (const n of logs) expect(n).toBeGreaterThan(0);
    const check = await checkRows(c, Date.parse("2024-03-05T00:00:00Z"), Date.parse("2024-03-07T23:59:00Z"));
    expect(check.mismatched).toEqual([]);
    expect(check.missing.filter((m) => m.startsWith("kraken"))).toEqual([]);
  }, 180_000);
});
