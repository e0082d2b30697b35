/**
 * Backfill across a cluster against one instance, in one run:
 *
 *   bun bench/cluster-backfill.ts [--coins 30] [--days 2] [--exchanges a,b] [--instances 3] [--logs DIR] [--out FILE]
 *
 * The simulator in its own process on 127.0.0.11-13 (each address its own rate limits, as an
 * exchange keeps them per client IP; 20-50 ms per answer), the compiled executable, real clock.
 * One instance: `cryptointellect backfill` alone into a fresh PostgreSQL database. Cluster: three
 * `run` instances on three IP groups, then `cryptointellect backfill` with the cluster's config,
 * which enqueues the range as jobs and follows them to the end. The same range, coins and exchanges;
 * both results are checked row by row against the simulator before any time is reported, and the
 * cluster's candle requests for a duplicate fetch and for refusals.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import type { ExchangeId } from "../src/domain/candle.ts";
import { MINUTE_MS } from "../src/domain/interval.ts";
import { NATIVE_EXCHANGE_IDS, NATIVE_EXCHANGES } from "../src/exchanges/index.ts";
import type { SimCandleRequest } from "../src/simulator/candle-log.ts";
import type { SimStats } from "../src/simulator/server.ts";
import { expectedCandle } from "../tests/helpers/oracle.ts";
import { dropPostgresDatabase, postgresReachable, postgresUrl, uniqueDatabaseName } from "./database.bench.ts";
import { buildExecutable, stop } from "./resources.bench.ts";
import { startSimulatorProcess } from "./simulator-process.ts";
import { argOf } from "./args.ts";

const ROOT = join(import.meta.dir, "..");
const COINS = Number(argOf("--coins") ?? 30);
const DAYS = Number(argOf("--days") ?? 2);
const HOSTS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
const EXCHANGES = argOf("--exchanges")?.split(",") ?? NATIVE_EXCHANGE_IDS;
const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);

const toMs = Math.floor((Date.now() - 3_600_000) / 3_600_000) * 3_600_000;
const fromMs = toMs - DAYS * 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

if (!(await postgresReachable())) {
  console.error("cluster-backfill: PostgreSQL is not reachable at 127.0.0.1:5432");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "cluster-backfill-"));
const { path: exe } = await buildExecutable(work);
const sim = await startSimulatorProcess({ hosts: HOSTS, latencyMs: [20, 50] });

function config(name: string, database: string, address: number, cluster: boolean): string {
  const path = join(work, `${name}.yml`);
  writeFileSync(
    path,
    [
      `exchanges: [${EXCHANGES.join(", ")}]`,
      `n_coins_to_poll: ${COINS}`,
      "list_coins_to_poll: []",
      "bucketing_interval: 1m",
      "catch_up_limit: 5m",
      "save_to_csv: false",
      "save_to_database: true",
      `database_connection: ${postgresUrl(database)}`,
      "http:",
      "  enabled: false",
      ...(cluster ? ["cluster:", "  enabled: true", `  instance: ${name}`, `  ip_group: g${address + 1}`] : []),
      "api_base_urls:",
      ...[...EXCHANGES, "coingecko"].map((id) => `  ${id}: ${sim.urls[address]}/${id}`),
    ].join("\n"),
  );
  return path;
}

async function runToEnd(argv: string[]): Promise<{ code: number; ms: number; stderr: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn([exe, ...argv], { cwd: work, stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  return { code, ms: performance.now() - t0, stderr };
}

/** Rows of the range that differ from the simulator or are missing, and how many were checked. */
async function check(database: string): Promise<{ rows: number; bad: string[]; series: number }> {
  const sql = postgres(postgresUrl(database), { max: 1, onnotice: () => {} });
  try {
    const idOf = new Map(Object.values(NATIVE_EXCHANGES).map((a) => [a.name, a.id as ExchangeId]));
    const rows = await sql<
      { exchange: string; coin: string; timestamp: Date; open_price: number; high_price: number; low_price: number; close_price: number; volume: number; filled: boolean }[]
    >`
      SELECT exchange, coin, "timestamp", open_price, high_price, low_price, close_price, volume, filled FROM klines_data
      WHERE bucket_interval = 1 AND "timestamp" > ${new Date(fromMs)} AND "timestamp" <= ${new Date(toMs)}`;
    const bad: string[] = [];
    const have = new Set<string>();
    const series = new Map<string, ExchangeId>();
    for (const r of rows) {
      const ex = idOf.get(r.exchange)!;
      if (!EXCHANGES.includes(ex)) continue;
      const open = r.timestamp.getTime() - MINUTE_MS;
      have.add(`${ex}|${r.coin}|${open}`);
      series.set(`${ex}|${r.coin}`, ex);
      const w = expectedCandle(ex, r.coin, 1, open);
      if (!w || w.open !== r.open_price || w.high !== r.high_price || w.low !== r.low_price || w.close !== r.close_price || w.volume !== r.volume || w.filled !== r.filled) {
        bad.push(`differs: ${ex} ${r.coin} ${iso(open)}`);
      }
    }
    for (const [key, ex] of series) {
      const coin = key.split("|")[1]!;
      for (let b = fromMs; b < toMs; b += MINUTE_MS) if (expectedCandle(ex, coin, 1, b) && !have.has(`${ex}|${coin}|${b}`)) bad.push(`missing: ${ex} ${coin} ${iso(b)}`);
    }
    return { rows: rows.length, bad, series: series.size };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function requestsSince(index: number): Promise<SimCandleRequest[]> {
  return (await (await fetch(`${sim.url}/_sim/requests?since=${index}`)).json()) as SimCandleRequest[];
}

const refusals = (stats: SimStats) => Object.fromEntries(HOSTS.map((h) => [h, (stats.byAddress[h]?.total.rateLimited ?? 0) + (stats.byAddress[h]?.total.banned ?? 0)]));

// One instance.
const single = uniqueDatabaseName();
log(`one instance: backfill ${iso(fromMs)} … ${iso(toMs)}, top ${COINS} coins, ${EXCHANGES.join("/")}`);
const singleCfg = config("single", single, 0, false);
const migrated = await runToEnd(["migrate", "-c", singleCfg]);
if (migrated.code !== 0) throw new Error(migrated.stderr);
const before1 = (await requestsSince(0)).length;
const stats0 = await sim.stats();
const one = await runToEnd(["backfill", "--from", iso(fromMs), "--to", iso(toMs), "-c", singleCfg]);
if (one.code !== 0) throw new Error(`one-instance backfill exited ${one.code}: ${one.stderr.slice(-1500)}`);
const oneRequests = (await requestsSince(before1)).length;
const oneCheck = await check(single);
const stats1 = await sim.stats();
const oneRefusals = refusals(stats1);
const allRequests = (a: SimStats, b: SimStats) =>
  Object.fromEntries(
    EXCHANGES.map((e) => [e, (b as unknown as Record<string, { requests: number }>)[e]!.requests - (a as unknown as Record<string, { requests: number }>)[e]!.requests]),
  );
log(`one instance, all requests: ${JSON.stringify(allRequests(stats0, stats1))}`);
log(`one instance: ${(one.ms / 1000).toFixed(1)} s, ${oneCheck.rows} rows, ${oneCheck.bad.length} bad`);

// Three instances.
const shared = uniqueDatabaseName();
const names = ["a", "b", "c"].slice(0, Number(argOf("--instances") ?? 3));
const cfgs = names.map((n, i) => config(n, shared, i, true));
const m2 = await runToEnd(["migrate", "-c", cfgs[0]!]);
if (m2.code !== 0) throw new Error(m2.stderr);
// `--logs DIR`: each instance's log (JSON lines) kept there, to see when each job ran.
const logDir = argOf("--logs");
if (logDir) mkdirSync(logDir, { recursive: true });
const procs = cfgs.map((cfg, i) => Bun.spawn([exe, "run", "-c", cfg], { cwd: work, stdout: "ignore", stderr: logDir ? Bun.file(join(logDir, `${names[i]}.log`)) : "ignore" }));
// Every instance joined and its first live cycle done before the clock starts.
await Bun.sleep(8000);
const statsBefore = await sim.stats();
const before3 = (await requestsSince(0)).length;
log("three instances up; cluster backfill of the same range");
const three = await runToEnd(["backfill", "--from", iso(fromMs), "--to", iso(toMs), "-c", cfgs[0]!]);
const threeRequests = (await requestsSince(before3)).filter((r) => r.startMs !== null && r.startMs < toMs);
const statsAfter = await sim.stats();
log(`three instances, all requests: ${JSON.stringify(allRequests(statsBefore, statsAfter))}`);
await Promise.all(procs.map((p) => stop(p)));
if (three.code !== 0) throw new Error(`cluster backfill exited ${three.code}: ${three.stderr.slice(-1500)}`);
const threeCheck = await check(shared);
const dupKeys = new Map<string, number>();
for (const r of threeRequests)
  if (r.status === 200) dupKeys.set(`${r.exchange}|${r.symbol}|${r.interval}|${r.startMs}`, (dupKeys.get(`${r.exchange}|${r.symbol}|${r.interval}|${r.startMs}`) ?? 0) + 1);
const dups = [...dupKeys.values()].filter((n) => n > 1).length;
const byAddress = Object.fromEntries(HOSTS.map((h) => [h, threeRequests.filter((r) => r.address === h).length]));
const threeRefusals = Object.fromEntries(HOSTS.map((h) => [h, refusals(statsAfter)[h]! - refusals(statsBefore)[h]!]));
log(`three instances: ${(three.ms / 1000).toFixed(1)} s, ${threeCheck.rows} rows, ${threeCheck.bad.length} bad, ${dups} duplicate fetches`);
await sim.stop();
await dropPostgresDatabase(single).catch(() => {});
await dropPostgresDatabase(shared).catch(() => {});
rmSync(work, { recursive: true, force: true });

const ratio = one.ms / three.ms;
const ok = oneCheck.bad.length === 0 && threeCheck.bad.length === 0 && oneCheck.rows === threeCheck.rows && dups === 0 && Object.values(threeRefusals).every((n) => n === 0);
const md = [
  `# Backfill across three instances: ${ok ? "checked" : "CHECK FAILED"}; ${ratio.toFixed(2)}× one instance (target ≥ 2.5×: ${ratio >= 2.5 ? "PASS" : "FAIL"})`,
  "",
  `- ${iso(Date.now()).slice(0, 10)}, compiled executable, PostgreSQL, real clock; simulator in its own process on ${HOSTS.join(", ")} (each address its own rate limits), 20–50 ms per answer. Range ${iso(fromMs)} … ${iso(toMs)} at 1m, the top ${COINS} coins on ${EXCHANGES.join("/")} (${oneCheck.series} series listed).`,
  "",
  "| run | time | rows (checked against the simulator) | candle requests | by address | refusals |",
  "|---|---|---|---|---|---|",
  `| one instance (\`backfill\`, 127.0.0.11) | ${(one.ms / 1000).toFixed(1)} s | ${oneCheck.rows}, ${oneCheck.bad.length} wrong or missing | ${oneRequests} | - | ${JSON.stringify(oneRefusals)} |`,
  `| three instances on three IP groups (\`backfill\` enqueues, \`run\` ×3 work) | ${(three.ms / 1000).toFixed(1)} s | ${threeCheck.rows}, ${threeCheck.bad.length} wrong or missing | ${threeRequests.length}, ${dups} fetched twice | ${JSON.stringify(byAddress)} | ${JSON.stringify(threeRefusals)} |`,
  "",
  `Speed-up: ${ratio.toFixed(2)}×.`,
  ...(dups > 0
    ? [
        "",
        "Fetched twice (exchange|symbol|interval|start):",
        "",
        ...[...dupKeys]
          .filter(([, n]) => n > 1)
          .slice(0, 20)
          .map(([k, n]) => `- ${k} ×${n}`),
      ]
    : []),
  ...(oneCheck.bad.length + threeCheck.bad.length > 0 ? ["", "## Check failures", "", ...[...oneCheck.bad, ...threeCheck.bad].slice(0, 30).map((b) => `- ${b}`)] : []),
].join("\n");
const outFile = argOf("--out") ?? join(ROOT, ".tmp", "cluster-backfill-result.md");
mkdirSync(join(outFile, ".."), { recursive: true });
writeFileSync(outFile, `${md}\n`);
console.log(md);
process.exit(ok ? 0 : 1);
