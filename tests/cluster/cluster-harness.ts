/**
 * Several compiled instances in cluster mode on one accelerated clock shared with the simulator,
 * which listens on one loopback address per IP group (each address with its own rate limits) and
 * logs every candle request. The store is a fresh PostgreSQL database, migrated before they start.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type Clock, createScaledClock } from "../../src/clock.ts";
import { NATIVE_EXCHANGE_IDS, NATIVE_EXCHANGES } from "../../src/exchanges/index.ts";
import type { ExchangeId } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { expectedCandle } from "../helpers/oracle.ts";
import type { SimCandleRequest } from "../../src/simulator/candle-log.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { BINARY, buildBinary, runBinary } from "../helpers/binary.ts";
import { serverAvailable, serverUrl, type TestDatabase, testDatabase } from "../db/servers.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../helpers/private-postgres.ts";

export const EXCHANGES = NATIVE_EXCHANGE_IDS;

export interface Instance {
  name: string;
  group: string;
  proc: ReturnType<typeof Bun.spawn>;
  log: () => string;
  config: string;
}

export interface Cluster {
  clock: Clock;
  sim: RunningSimulator;
  db: TestDatabase;
  dir: string;
  env: Record<string, string>;
  instances: Map<string, Instance>;
  /** Starts (or restarts) an instance of the IP group at address index `group` (0-based). */
  start(name: string, group: number): Instance;
  /** Resolves once the clock has reached `ms`. */
  until(ms: number): Promise<void>;
  sql: postgres.Sql;
  /** With `privateServer`: the PostgreSQL server the cluster uses, the test's own to stop and start. */
  server: PrivatePostgres | undefined;
  close(): Promise<void>;
}

export const ADDRESSES = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];

export async function postgresForCluster(): Promise<boolean> {
  return serverAvailable("postgres");
}

export async function startCluster(options: { speed: number; startMs: number; coins: number; yaml?: string; privateServer?: boolean }): Promise<Cluster> {
  await buildBinary();
  const anchor = Date.now() + 1500;
  const clock = createScaledClock(anchor, options.startMs, options.speed);
  const sim = startSimulator({ clock, hostnames: ADDRESSES });
  const dir = mkdtempSync(join(tmpdir(), "ci-cluster-"));
  // A server of the test's own when the test restarts it; else a fresh database on the shared one.
  const server = options.privateServer ? await startPrivatePostgres() : undefined;
  const db: TestDatabase = server
    ? { dialect: "postgres", name: "cluster", url: server.url("cluster"), exists: async () => true, drop: () => server.remove() }
    : testDatabase("postgres");
  const env = { CRYPTOINTELLECT_TIME_WARP: `${anchor}:${options.startMs}:${options.speed}` };
  const instances = new Map<string, Instance>();
  const configFor = (name: string, group: number) => {
    const base = sim.urls[group]!;
    const path = join(dir, `${name}.yml`);
    writeFileSync(
      path,
      [
        `exchanges: [${EXCHANGES.join(", ")}]`,
        `n_coins_to_poll: ${options.coins}`,
        "list_coins_to_poll: []",
        "bucketing_interval: 1m",
        "catch_up_limit: 5m",
        "settle_seconds: 5",
        "save_to_csv: true",
        `csv_directory: ${join(dir, `csv-${name}`)}`,
        "save_to_database: true",
        `database_connection: ${db.url}`,
        "http:",
        "  enabled: false",
        "cluster:",
        "  enabled: true",
        `  instance: ${name}`,
        `  ip_group: g${group + 1}`,
        "api_base_urls:",
        ...[...EXCHANGES, "coingecko"].map((id) => `  ${id}: ${base}/${id}`),
        options.yaml ?? "",
      ].join("\n"),
    );
    return path;
  };
  const first = configFor("migrate", 0);
  const migrated = await runBinary(["migrate", "-c", first], { cwd: dir, env });
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  return {
    clock,
    sim,
    db,
    dir,
    env,
    instances,
    sql,
    server,
    start(name, group) {
      const config = configFor(name, group);
      const proc = Bun.spawn([BINARY, "run", "-c", config], { cwd: dir, env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
      let text = "";
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) text += decoder.decode(chunk, { stream: true });
      })();
      const instance = { name, group: `g${group + 1}`, proc, log: () => text, config };
      instances.set(name, instance);
      return instance;
    },
    async until(ms) {
      while (clock.now() < ms) await Bun.sleep(Math.min(200, Math.max(5, (ms - clock.now()) / options.speed)));
    },
    async close() {
      for (const i of instances.values()) {
        i.proc.kill("SIGCONT");
        i.proc.kill("SIGTERM");
      }
      await Promise.all([...instances.values()].map((i) => Promise.race([i.proc.exited, Bun.sleep(15_000).then(() => i.proc.kill("SIGKILL"))])));
      await sql.end({ timeout: 2 });
      await sim.stop();
      await db.drop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Rate-limit refusals and bans the simulator served on one listening address (one IP group). */
export function refusalsAt(c: Cluster, address: string): number {
  const s = c.sim.stats().byAddress[address];
  return (s?.total.rateLimited ?? 0) + (s?.total.banned ?? 0);
}

/** Candle requests answered 200 that asked for the same series from the same lower bound as another: fetched twice. */
export function duplicateFetches(requests: readonly SimCandleRequest[]): string[] {
  const seen = new Map<string, number>();
  for (const r of requests) {
    if (r.status !== 200) continue;
    const key = `${r.exchange}|${r.symbol}|${r.interval}|${r.startMs}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`);
}

interface DbRow {
  exchange: string;
  coin: string;
  timestamp: Date;
  open_price: number;
  high_price: number;
  low_price: number;
  close_price: number;
  volume: number;
  filled: boolean;
}

/** Rows that differ from the simulator, and buckets in [fromOpen, toOpen] a saved series lacks. */
export async function checkRows(
  c: Cluster,
  fromOpenMs: number,
  toOpenMs: number,
  options: { onlyRange?: boolean } = {},
): Promise<{ rows: number; mismatched: string[]; missing: string[]; coins: Record<string, string[]> }> {
  const idOf = new Map(Object.values(NATIVE_EXCHANGES).map((a) => [a.name, a.id as ExchangeId]));
  const all = await c.sql<DbRow[]>`SELECT exchange, coin, "timestamp", open_price, high_price, low_price, close_price, volume, filled FROM klines_data WHERE bucket_interval = 1`;
  // Bucket ends in (from, to + 1m]: the rows of the buckets opening in [from, to].
  const rows = options.onlyRange ? all.filter((r) => r.timestamp.getTime() > fromOpenMs && r.timestamp.getTime() <= toOpenMs + MINUTE_MS) : all;
  const mismatched: string[] = [];
  const have = new Set<string>();
  const coins: Record<string, Set<string>> = {};
  for (const r of rows) {
    const ex = idOf.get(r.exchange)!;
    const open = r.timestamp.getTime() - MINUTE_MS;
    have.add(`${ex}|${r.coin}|${open}`);
    (coins[ex] ??= new Set()).add(r.coin);
    const want = expectedCandle(ex, r.coin, 1, open);
    const same =
      want &&
      want.open === r.open_price &&
      want.high === r.high_price &&
      want.low === r.low_price &&
      want.close === r.close_price &&
      want.volume === r.volume &&
      want.filled === r.filled;
    if (!same) mismatched.push(`${ex} ${r.coin} ${new Date(open).toISOString()}`);
  }
  const missing: string[] = [];
  for (const [ex, set] of Object.entries(coins))
    for (const coin of set)
      for (let b = fromOpenMs; b <= toOpenMs; b += MINUTE_MS)
        if (expectedCandle(ex as ExchangeId, coin, 1, b) && !have.has(`${ex}|${coin}|${b}`)) missing.push(`${ex} ${coin} ${new Date(b).toISOString()}`);
  return { rows: rows.length, mismatched, missing, coins: Object.fromEntries(Object.entries(coins).map(([k, v]) => [k, [...v].sort()])) };
}

export { serverUrl };
