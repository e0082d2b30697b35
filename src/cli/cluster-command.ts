/**
 * `cryptointellect cluster status`: the instances of a cluster (alive or gone, IP group, what each
 * did and its share), the jobs waiting and running per exchange, and how far behind each exchange's
 * newest saved bucket is. Read from the coordination database; nothing is changed.
 */
import { PgBoss } from "pg-boss";
import postgres from "postgres";
import type { Clock } from "../clock.ts";
import { BOSS_SCHEMA, type InstanceRow, queueName, readInstances } from "../cluster/coordinator.ts";
import type { Config } from "../config/config.ts";
import { redactDatabaseUrl } from "../db/url.ts";
import { lastClosedBucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { exchangeName } from "../exchanges/names.ts";

export const CLUSTER_USAGE = `Usage: cryptointellect cluster status [--json] [-c FILE]

Shows the cluster the config belongs to (cluster.enabled, on PostgreSQL): every instance that has
joined (alive while its heartbeats arrive, else gone), its IP group, the shard jobs and series it
has collected and its share of them; the shard jobs waiting and running per exchange; and each
exchange's lag (closed buckets not yet saved for its most-behind series' exchange, from the store).

  --json   the same as one JSON object
`;

export interface ClusterStatus {
  database: string;
  instances: (Omit<InstanceRow, "startedAt" | "heartbeatAt"> & { startedAt: string; heartbeatAgeSeconds: number; share: number })[];
  queues: { exchange: string; waiting: number; running: number }[];
  lag: { exchange: string; newestSaved: string | null; lagBuckets: number | null }[];
}

export function parseClusterArgs(argv: readonly string[]): { json: boolean } {
  const [sub, ...rest] = argv;
  if (sub !== "status")
    throw new UsageError(`cluster: ${sub === undefined ? "a subcommand is required" : `unknown subcommand "${sub}"`}: status (see cryptointellect cluster --help)`);
  let json = false;
  for (const a of rest) {
    if (a === "--json") json = true;
    else throw new UsageError(`cluster status: unexpected argument "${a}"`);
  }
  return { json };
}

export async function readClusterStatus(config: Config, clock: Clock): Promise<ClusterStatus> {
  const url = config.cluster.databaseUrl;
  if (!config.cluster.enabled || !url)
    throw new ConfigError("config", [{ path: "cluster.enabled", message: "this config has no cluster (set cluster.enabled: true with a PostgreSQL database)" }]);
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const tables = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'cryptointellect_cluster' AND table_name = 'instances'`;
    const rows = tables[0]!.n > 0 ? await readInstances(sql) : [];
    const now = Date.now();
    const totalSeries = rows.reduce((n, r) => n + r.seriesDone, 0);
    const instances = rows.map((r) => ({
      ...r,
      startedAt: r.startedAt.toISOString(),
      heartbeatAt: undefined,
      heartbeatAgeSeconds: Math.max(0, Math.round((now - r.heartbeatAt.getTime()) / 100) / 10),
      share: totalSeries > 0 ? r.seriesDone / totalSeries : 0,
    }));
    const queues: ClusterStatus["queues"] = [];
    const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, max: 1, supervise: false, schedule: false, migrate: false, createSchema: false });
    try {
      if (rows.length > 0) {
        await boss.start();
        const found = await boss.getQueues(config.exchanges.map(queueName));
        for (const exchange of config.exchanges) {
          const q = found.find((f) => f.name === queueName(exchange));
          queues.push({ exchange, waiting: q?.queuedCount ?? 0, running: q?.activeCount ?? 0 });
        }
      }
    } finally {
      await boss.stop({ graceful: false, timeout: 1000 }).catch(() => {});
    }
    const size = config.bucketIntervalMinutes * MINUTE_MS;
    const newestClosedEnd = lastClosedBucketOpen(clock.now(), config.bucketIntervalMinutes, config.settleSeconds) + size;
    const saved = await sql<{ exchange: string; coin: string; newest: Date }[]>`
      SELECT exchange, coin, max("timestamp") AS newest FROM klines_data WHERE bucket_interval = ${config.bucketIntervalMinutes} GROUP BY exchange, coin`.catch(() => []);
    const lag = config.exchanges.map((exchange) => {
      const mine = saved.filter((s) => s.exchange === exchangeName(exchange));
      if (mine.length === 0) return { exchange, newestSaved: null, lagBuckets: null };
      const behind = Math.min(...mine.map((s) => s.newest.getTime()));
      return {
        exchange,
        newestSaved: new Date(Math.max(...mine.map((s) => s.newest.getTime()))).toISOString(),
        lagBuckets: Math.max(0, Math.round((newestClosedEnd - behind) / size)),
      };
    });
    return { database: redactDatabaseUrl(url), instances: instances.map(({ heartbeatAt: _, ...r }) => r), queues, lag };
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export function renderClusterStatus(s: ClusterStatus): string {
  const lines: string[] = [`cluster on ${s.database}`];
  const alive = s.instances.filter((i) => i.alive).length;
  lines.push(`instances: ${alive} alive, ${s.instances.length - alive} gone`);
  const table = (head: string[], rows: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    return [head, ...rows].map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd());
  };
  if (s.instances.length > 0) {
    lines.push(
      ...table(
        ["NAME", "IP GROUP", "HOST/PID", "STATE", "HEARTBEAT", "SHARDS", "SERIES", "SHARE"],
        s.instances.map((i) => [
          i.name,
          i.ipGroup,
          `${i.host}/${i.pid}`,
          i.alive ? "alive" : "gone",
          `${i.heartbeatAgeSeconds} s ago`,
          String(i.shardsDone),
          String(i.seriesDone),
          `${(i.share * 100).toFixed(1)}%`,
        ]),
      ),
    );
  }
  if (s.queues.length > 0) {
    lines.push("shard jobs:");
    lines.push(
      ...table(
        ["EXCHANGE", "WAITING", "RUNNING"],
        s.queues.map((q) => [q.exchange, String(q.waiting), String(q.running)]),
      ),
    );
  }
  lines.push("lag (closed buckets its most-behind series lacks):");
  lines.push(
    ...table(
      ["EXCHANGE", "LAG", "NEWEST SAVED"],
      s.lag.map((l) => [l.exchange, l.lagBuckets === null ? "-" : String(l.lagBuckets), l.newestSaved ?? "nothing saved"]),
    ),
  );
  return `${lines.join("\n")}\n`;
}
