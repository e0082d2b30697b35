/**
 * `backfill` against a cluster: three compiled instances on three IP groups (one simulator address
 * each) work the jobs the command enqueues, beside their live shards, on a clock 10× real time.
 * The history saved equals the simulator's; no window is fetched twice; every address does some of
 * it and none refuses a request; running it again adds nothing; `--repair` refills exactly what was deleted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import type { ExchangeId } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { NATIVE_EXCHANGES } from "../../src/exchanges/index.ts";
import type { SimCandleRequest } from "../../src/simulator/candle-log.ts";
import { BINARY, runBinary } from "../helpers/binary.ts";
import { ADDRESSES, type Cluster, checkRows, duplicateFetches, EXCHANGES, postgresForCluster, refusalsAt, startCluster } from "./cluster-harness.ts";

const SPEED = 10;
const START = Date.parse("2024-03-08T12:00:40Z");
/**
 * Two hours of 1m buckets, well before what the live cycles ask for (their 5 minutes of catch-up
 * and the hour of look-back before them), so a candle request that starts before TO is the backfill's.
 */
const FROM = "2024-03-08T08:00:00Z";
const TO = "2024-03-08T10:00:00Z";
const FIRST_OPEN = Date.parse(FROM);
const LAST_OPEN = Date.parse(TO) - MINUTE_MS;
const COINS = 8;

const available = await postgresForCluster();
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const idOf = new Map(Object.values(NATIVE_EXCHANGES).map((a) => [a.name, a.id as ExchangeId]));

/** The backfill range as saved: rows that differ from the simulator, buckets a series lacks, and its coins per exchange. */
const checkRange = (c: Cluster) => checkRows(c, FIRST_OPEN, LAST_OPEN, { onlyRange: true });

/** The coins the live cycles collect per exchange (what the backfill selects too: the config's top N, as listed). */
async function liveCoins(c: Cluster): Promise<Record<string, string[]>> {
  const rows = await c.sql<
    { exchange: string; coin: string }[]
  >`SELECT DISTINCT exchange, coin FROM klines_data WHERE bucket_interval = 1 AND "timestamp" > ${new Date(START - 6 * MINUTE_MS)}`;
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[idOf.get(r.exchange)!] ??= []).push(r.coin);
  for (const list of Object.values(out)) list.sort();
  return out;
}

/** Candle requests of the backfill range (the live cycles' start after 10:50). */
const backfillRequests = (requests: readonly SimCandleRequest[]) => requests.filter((r) => r.startMs !== null && r.startMs < Date.parse(TO));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(200);
  }
}

function logsOnFailure(c: Cluster): void {
  for (const i of c.instances.values())
    console.log(
      i.name,
      i
        .log()
        .split("\n")
        .filter((l) => / (warn|error) /.test(l) || /backfill/.test(l))
        .slice(-30)
        .join("\n"),
    );
}

describe.skipIf(!available)("backfill against a cluster", () => {
  test("jobs worked by every instance: exact history, no window twice, no refusal; again adds nothing; --repair refills what was deleted", async () => {
    cluster = await startCluster({ speed: SPEED, startMs: START, coins: COINS });
    const c = cluster;
    for (const [i, name] of ["a", "b", "c"].entries()) c.start(name, i);
    await waitFor(
      "three instances alive",
      async () => {
        const [row] = await c.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM cryptointellect_cluster.instances WHERE heartbeat_at > now() - interval '5 seconds'`;
        return row!.n === 3;
      },
      30_000,
    );
    const config = c.instances.get("a")!.config;

    const first = await runBinary(["backfill", "--from", FROM, "--to", TO, "-c", config], { cwd: c.dir, env: c.env });
    if (first.code !== 0) {
      console.log(first.stdout, first.stderr);
      logsOnFailure(c);
    }
    expect(first.code).toBe(0);
    for (const ex of EXCHANGES) expect(first.stdout).toMatch(new RegExp(`${ex} +\\d+ jobs: \\d+ done, 0 failed`));
    expect(first.stderr).not.toContain("no instance of this cluster is alive");

    const check = await checkRange(c);
    if (check.missing.length > 0 || check.mismatched.length > 0) logsOnFailure(c);
    expect(check.mismatched).toEqual([]);
    expect(check.missing).toEqual([]);
    // Every series the cluster collects, on every exchange, backfilled.
    const live = await liveCoins(c);
    for (const ex of EXCHANGES) {
      expect(check.coins[ex]?.length ?? 0).toBeGreaterThanOrEqual(5);
      expect(check.coins[ex]).toEqual(live[ex]!);
    }
    expect(check.rows).toBe(Object.values(check.coins).reduce((n, l) => n + l.length, 0) * ((LAST_OPEN - FIRST_OPEN) / MINUTE_MS + 1));

    const requests = backfillRequests(c.sim.candleRequests());
    expect(duplicateFetches(requests)).toEqual([]);
    for (const address of ADDRESSES) {
      expect(refusalsAt(c, address)).toBe(0);
      // Every IP group (so every instance) fetched some of the history.
      expect(requests.filter((r) => r.address === address).length).toBeGreaterThan(0);
    }
    // Each job announced by one instance, and the three shared them.
    const jobsDone = [...c.instances.values()].map(
      (i) =>
        i
          .log()
          .split("\n")
          .filter((l) => l.includes("backfill job done")).length,
    );
    expect(jobsDone.reduce((a, b) => a + b, 0)).toBe(Object.values(check.coins).reduce((n, l) => n + l.length, 0));

    // Again: everything is saved, so nothing is enqueued and nothing fetched.
    const seen = c.sim.candleRequests().length;
    const again = await runBinary(["backfill", "--from", FROM, "--to", TO, "-c", config], { cwd: c.dir, env: c.env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("0 jobs for the cluster");
    expect(backfillRequests(c.sim.candleRequests().slice(seen))).toEqual([]);

    // --repair after deleting some rows of two series refills exactly those.
    const gone = [
      { name: "Binance", coin: check.coins.binance![0]!, from: "2024-03-08T08:30:00Z", to: "2024-03-08T08:40:00Z" },
      { name: "Kraken", coin: check.coins.kraken!.at(-1)!, from: "2024-03-08T09:30:00Z", to: "2024-03-08T09:35:00Z" },
    ];
    for (const g of gone) {
      const deleted = await c.sql`DELETE FROM klines_data WHERE exchange = ${g.name} AND coin = ${g.coin} AND bucket_interval = 1
        AND "timestamp" > ${new Date(g.from)} AND "timestamp" <= ${new Date(g.to)}`;
      expect(deleted.count).toBe((Date.parse(g.to) - Date.parse(g.from)) / MINUTE_MS);
    }
    expect((await checkRange(c)).missing.length).toBe(15);
    const beforeRepair = c.sim.candleRequests().length;
    const repair = await runBinary(["backfill", "--repair", "--from", FROM, "--to", TO, "-c", config], { cwd: c.dir, env: c.env });
    if (repair.code !== 0) console.log(repair.stdout, repair.stderr);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain("2 jobs for the cluster");
    const repaired = await checkRange(c);
    expect(repaired.missing).toEqual([]);
    expect(repaired.mismatched).toEqual([]);
    expect(repaired.rows).toBe(check.rows);
    // One request per deleted run: only the two series, only their gaps (with the look-back).
    const refetched = backfillRequests(c.sim.candleRequests().slice(beforeRepair));
    expect(refetched.map((r) => r.exchange).sort()).toEqual(["binance", "kraken"]);
    expect(duplicateFetches(backfillRequests(c.sim.candleRequests()))).toEqual([]);
  }, 120_000);

  test("with no instance alive it says so and waits; stopped, the jobs stay queued; an instance works them; run again, it follows them", async () => {
    cluster = await startCluster({ speed: SPEED, startMs: START, coins: 3 });
    const c = cluster;
    const config = join(c.dir, "waiting.yml");
    // The harness writes an instance's config when it starts one: borrow the first one's.
    c.start("a", 0).proc.kill("SIGKILL");
    copyFileSync(c.instances.get("a")!.config, config);
    c.instances.delete("a");
    await c.sql`DELETE FROM cryptointellect_cluster.instances`.catch(() => {});
    const args = ["backfill", "--from", FROM, "--to", TO, "-c", config];
    const proc = Bun.spawn([BINARY, ...args], { cwd: c.dir, env: { ...process.env, ...c.env }, stdout: "pipe", stderr: "pipe" });
    let stderr = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) stderr += decoder.decode(chunk, { stream: true });
    })();
    await waitFor("the no-instance notice", async () => stderr.includes("backfill progress"), 30_000);
    expect(stderr).toContain("no instance of this cluster is alive");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(1);
    await reading;
    expect(stderr).toContain("stopped waiting");
    const queued = await c.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM cryptointellect_boss.job WHERE name LIKE 'backfill-%' AND state = 'created'`;
    expect(queued[0]!.n).toBeGreaterThan(0);

    // An instance comes; the command run again adds no second job of a key, and follows them to the end.
    c.start("b", 1);
    const again = await runBinary(args, { cwd: c.dir, env: c.env });
    if (again.code !== 0) {
      console.log(again.stdout, again.stderr);
      logsOnFailure(c);
    }
    expect(again.code).toBe(0);
    // A key waits once; one its instance had begun may wait again behind it (the queue keeps one of
    // each state), and then finds nothing missing: no window is fetched twice.
    const perKey = await c.sql<{ key: string; n: number }[]>`SELECT singleton_key AS key, count(*)::int AS n FROM cryptointellect_boss.job
      WHERE name LIKE 'backfill-%' GROUP BY singleton_key HAVING count(*) > 2`;
    expect([...perKey]).toEqual([]);
    expect(duplicateFetches(backfillRequests(c.sim.candleRequests()))).toEqual([]);
    const check = await checkRange(c);
    expect(check.missing).toEqual([]);
    expect(check.mismatched).toEqual([]);
    expect(Object.keys(check.coins).sort()).toEqual([...EXCHANGES].sort());
  }, 120_000);
});
