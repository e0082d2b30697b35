/**
 * Instances dying, freezing, coming and going, and the PostgreSQL server restarting: the others
 * take their shards over within two cycles, nothing is missing, nothing is saved twice, no address
 * refuses a request. Compiled binaries on a clock 10× real time (one bucket = 6 real seconds).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { duplicates, readCsvDir } from "../helpers/oracle.ts";
import { ADDRESSES, type Cluster, checkRows, postgresForCluster, refusalsAt, startCluster } from "./cluster-harness.ts";

const SPEED = 10;
const START = Date.parse("2024-03-08T12:00:40Z");
const FIRST_FULL = Date.parse("2024-03-08T12:01:00Z");
const at = (hhmmss: string) => Date.parse(`2024-03-08T${hhmmss}Z`);
/** Two cycles after a bucket closes, with the margin the shard jobs of a cycle take at this speed. */
const twoCyclesAfter = (openMs: number) => openMs + 3 * MINUTE_MS + 45_000;

const available = await postgresForCluster();
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const refusals = (c: Cluster) => ADDRESSES.reduce((n, a) => n + refusalsAt(c, a), 0);

describe.skipIf(!available)("cluster: takeover", () => {
  test("SIGKILL one, SIGSTOP another for two minutes, restart PostgreSQL: taken over within two cycles, nothing missing or doubled", async () => {
    cluster = await startCluster({ speed: SPEED, startMs: START, coins: 12, privateServer: true });
    const c = cluster;
    const a = c.start("a", 0);
    const b = c.start("b", 1);
    const k = c.start("c", 2);
    await c.until(at("12:02:50"));
    expect((await checkRows(c, FIRST_FULL, at("12:01:00"))).missing).toEqual([]);

    // SIGKILL c just after a cycle's jobs are published: it may die holding shards.
    await c.until(at("12:03:05") + 300 * SPEED);
    k.proc.kill("SIGKILL");
    await c.until(twoCyclesAfter(at("12:03:00")));
    expect((await checkRows(c, FIRST_FULL, at("12:03:00"))).missing).toEqual([]);

    // SIGSTOP b for two minutes (of the clock), from just after the next cycle.
    await c.until(at("12:05:05") + 300 * SPEED);
    b.proc.kill("SIGSTOP");
    await c.until(twoCyclesAfter(at("12:05:00")));
    expect((await checkRows(c, FIRST_FULL, at("12:05:00"))).missing).toEqual([]);
    await c.until(at("12:07:05") + 300 * SPEED);
    b.proc.kill("SIGCONT");

    // PostgreSQL restarted: stopped (every session ended), down for 20 s of the clock, started again.
    await c.until(at("12:08:05") + 200 * SPEED);
    await c.server!.stop();
    await c.until(at("12:08:25"));
    await c.server!.start();
    await c.until(twoCyclesAfter(at("12:09:00")));

    const check = await checkRows(c, FIRST_FULL, at("12:09:00"));
    expect(check.mismatched).toEqual([]);
    expect(check.missing).toEqual([]);
    expect(refusals(c)).toBe(0);
    // a and b kept running through all of it, and saw the server go away.
    expect(a.log()).toMatch(/terminating connection due to administrator command|ECONNREFUSED|cluster heartbeat failed/);
    expect(a.proc.exitCode).toBeNull();
    expect(b.proc.exitCode).toBeNull();
    // Each instance's CSV (what it fetched) holds no row twice, however its jobs were taken over.
    for (const name of ["a", "b", "c"]) expect(duplicates(readCsvDir(`${c.dir}/csv-${name}`))).toEqual([]);
    expect(b.log()).not.toMatch(/ error .*uncaught|panic/i);
  }, 180_000);

  test("2 → 3 → 2 instances while running: shares rebalance, nothing missed", async () => {
    cluster = await startCluster({ speed: SPEED, startMs: START, coins: 12 });
    const c = cluster;
    c.start("a", 0);
    const b = c.start("b", 1);
    await c.until(at("12:03:00"));
    c.start("c", 2);
    await c.until(at("12:06:00"));
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
    await c.until(twoCyclesAfter(at("12:08:00")));

    const check = await checkRows(c, FIRST_FULL, at("12:08:00"));
    expect(check.mismatched).toEqual([]);
    expect(check.missing).toEqual([]);
    expect(refusals(c)).toBe(0);
    const requests = c.sim.candleRequests();
    const share = (address: string, fromMs: number, toMs: number) => {
      const inPhase = requests.filter((r) => r.atMs >= fromMs && r.atMs < toMs);
      return inPhase.filter((r) => r.address === address).length / Math.max(1, inPhase.length);
    };
    // Two instances, then three (c joined), then two again (b left): each present one does a fair part.
    for (const address of [ADDRESSES[0]!, ADDRESSES[1]!]) expect(share(address, at("12:01:30"), at("12:03:00"))).toBeGreaterThan(0.3);
    expect(share(ADDRESSES[2]!, at("12:01:30"), at("12:03:00"))).toBe(0);
    for (const address of ADDRESSES) expect(share(address, at("12:04:00"), at("12:06:00"))).toBeGreaterThan(0.15);
    expect(share(ADDRESSES[1]!, at("12:06:30"), at("12:09:00"))).toBe(0);
    for (const address of [ADDRESSES[0]!, ADDRESSES[2]!]) expect(share(address, at("12:06:30"), at("12:09:00"))).toBeGreaterThan(0.25);
  }, 180_000);
});
