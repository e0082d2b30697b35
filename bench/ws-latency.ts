/**
 * How soon a live bucket is durable, WebSocket mode against REST mode, in one run:
 *
 *   bun bench/ws-latency.ts [--minutes 5] [--extra-coins 0] [--modes websocket,rest] [--out FILE]
 *
 * For each mode, a fresh simulator process (system clock, real wire formats, streams polled every
 * 50 ms) and the compiled executable collecting the top 100 coins on the four native exchanges at
 * 1m into CSV and PostgreSQL. After a warm-up (the first cycle reconciles over REST), it measures for
 * `--minutes`: the service's save-delay histogram (bucket end → the sink's write resolved: CSV
 * fsynced, transaction committed), REST requests the simulator answered, the service's CPU time and
 * RSS. Then it checks what it measured: every bucket of the window saved once, equal to the
 * simulator's, none in progress. `--extra-coins N` adds N synthetic coins per exchange to the
 * simulator and to the config (the 1,000-series figure). Writes .tmp/ws-latency-result.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { MINUTE_MS } from "../src/domain/interval.ts";
import { NATIVE_EXCHANGE_IDS } from "../src/exchanges/index.ts";
import { SAVE_DELAY_BUCKETS } from "../src/telemetry/metrics.ts";
import { duplicates, expectedCandle, mismatches, readCsvDir } from "../tests/helpers/oracle.ts";
import { dropPostgresDatabase, postgresReachable, postgresUrl, uniqueDatabaseName } from "./database.bench.ts";
import { buildExecutable, freePort, memoryOf, stop, waitHealthy } from "./resources.bench.ts";
import { processCpuMs, startSimulatorProcess } from "./simulator-process.ts";
import { argOf } from "./args.ts";

const ROOT = join(import.meta.dir, "..");
const MINUTES = Number(argOf("--minutes") ?? 5);
const EXTRA_COINS = Number(argOf("--extra-coins") ?? 0);
const MODES = (argOf("--modes") ?? "websocket,rest").split(",") as Mode[];
const SETTLE_S = 5;
const EXCHANGES = NATIVE_EXCHANGE_IDS;
const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);

type Mode = "websocket" | "rest";
/** Cumulative counts per histogram bound (SAVE_DELAY_BUCKETS, then +Inf), per exchange and sink. */
type Histograms = Map<string, number[]>;

function parseHistograms(text: string): Histograms {
  const out: Histograms = new Map();
  const bounds = [...SAVE_DELAY_BUCKETS.map(String), "+Inf"];
  const re = /^cryptointellect_save_delay_seconds_bucket\{exchange="([^"]+)",sink="([^"]+)",source="[^"]+",le="([^"]+)"\} (\d+)$/gm;
  for (const m of text.matchAll(re)) {
    const key = `${m[1]}|${m[2]}`;
    const counts = out.get(key) ?? new Array<number>(bounds.length).fill(0);
    counts[bounds.indexOf(m[3]!)]! += Number(m[4]);
    out.set(key, counts);
  }
  return out;
}

function minus(a: Histograms, b: Histograms): Histograms {
  const out: Histograms = new Map();
  for (const [k, counts] of a) {
    const base = b.get(k);
    out.set(
      k,
      counts.map((c, i) => c - (base?.[i] ?? 0)),
    );
  }
  return out;
}

/** The histogram's upper bound at or below which a share `q` of the observations lie (a conservative quantile). */
function quantileBound(counts: readonly number[], q: number): string {
  const total = counts.at(-1)!;
  if (total === 0) return "-";
  for (let i = 0; i < SAVE_DELAY_BUCKETS.length; i++) if (counts[i]! >= q * total) return `≤ ${SAVE_DELAY_BUCKETS[i]} s`;
  return `> ${SAVE_DELAY_BUCKETS.at(-1)} s`;
}

function shareWithin(counts: readonly number[], seconds: number): number {
  const i = SAVE_DELAY_BUCKETS.indexOf(seconds as (typeof SAVE_DELAY_BUCKETS)[number]);
  return counts.at(-1)! === 0 ? Number.NaN : counts[i]! / counts.at(-1)!;
}

interface PhaseResult {
  mode: Mode;
  histograms: Histograms;
  restRequests: Record<string, number>;
  measuredMs: number;
  cpuShare: number;
  rssMaxKb: number;
  rssEndKb: number;
  simCpuShare: number;
  coins: Record<string, number>;
  checked: { rows: number; missing: string[]; duplicates: number; mismatches: number; inProgress: number };
}

async function phase(mode: Mode, exe: string): Promise<PhaseResult> {
  const dir = mkdtempSync(join(tmpdir(), `ws-latency-${mode}-`));
  const csvDir = join(dir, "csv");
  const database = uniqueDatabaseName();
  const admin = postgres(postgresUrl("postgres"), { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${database}"`);
  await admin.end({ timeout: 1 });
  const sim = await startSimulatorProcess({ extraCoins: EXTRA_COINS });
  const port = await freePort();
  const extra = EXTRA_COINS > 0 ? ((await (await fetch(`${sim.url}/_sim/extra-coins`)).json()) as string[]) : [];
  const cfg = join(dir, "config.yml");
  writeFileSync(
    cfg,
    [
      `live_source: ${mode}`,
      `exchanges: [${EXCHANGES.join(", ")}]`,
      "n_coins_to_poll: 100",
      ...(extra.length > 0 ? [`list_coins_to_poll: [${extra.join(", ")}]`] : []),
      "bucketing_interval: 1m",
      "catch_up_limit: 5m",
      `settle_seconds: ${SETTLE_S}`,
      "save_to_csv: true",
      `csv_directory: ${csvDir}`,
      "save_to_database: true",
      `database_connection: ${postgresUrl(database)}`,
      "http:",
      "  host: 127.0.0.1",
      `  port: ${port}`,
      "api_base_urls:",
      ...[...EXCHANGES, "coingecko" as const].map((id) => `  ${id}: ${sim.baseUrls[id]}`),
    ].join("\n"),
  );
  const t0 = performance.now();
  const proc = Bun.spawn([exe, "run", "-c", cfg], { cwd: dir, stdout: "ignore", stderr: Bun.file(join(dir, "service.log")) });
  try {
    if (!(await waitHealthy(proc, port, t0))) throw new Error(`the service did not answer /health: ${readFileSync(join(dir, "service.log"), "utf8").slice(-2000)}`);
    // Warm-up: the first cycle (REST reconcile, catch-up) and one more boundary.
    const from = Math.ceil((Date.now() + 20_000) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    log(`${mode}: warming up until ${new Date(from).toISOString()}`);
    await Bun.sleep(from - Date.now() - 1000);
    const metricsText = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const startHist = parseHistograms(await metricsText());
    const startStats = await sim.stats();
    const startCpu = processCpuMs(proc.pid);
    const startSimCpu = sim.cpuMs();
    const startWall = performance.now();
    // Buckets opening at `from - 1m` close at `from`: the first measured; the last closes at `to`.
    const to = from + MINUTES * MINUTE_MS;
    let rssMaxKb = 0;
    while (Date.now() < to + (SETTLE_S + 10) * 1000) {
      const mem = memoryOf(proc.pid);
      if (!mem) throw new Error(`the service exited: ${readFileSync(join(dir, "service.log"), "utf8").slice(-2000)}`);
      rssMaxKb = Math.max(rssMaxKb, mem.rss / 1024);
      await Bun.sleep(5000);
    }
    const endHist = parseHistograms(await metricsText());
    const endStats = await sim.stats();
    const measuredMs = performance.now() - startWall;
    const cpuShare = (processCpuMs(proc.pid) - startCpu) / measuredMs;
    const simCpuShare = (sim.cpuMs() - startSimCpu) / measuredMs;
    const rssEndKb = (memoryOf(proc.pid)?.rss ?? 0) / 1024;
    await stop(proc);
    // Check what was measured before reporting it.
    const rows = readCsvDir(csvDir);
    const window = rows.filter((r) => r.openTimeMs >= from - MINUTE_MS && r.openTimeMs < to);
    const coins: Record<string, number> = {};
    const missing: string[] = [];
    for (const ex of EXCHANGES) {
      const seriesCoins = [...new Set(rows.filter((r) => r.exchange === ex).map((r) => r.coin))];
      coins[ex] = seriesCoins.length;
      const have = new Set(window.filter((r) => r.exchange === ex).map((r) => `${r.coin}|${r.openTimeMs}`));
      for (const coin of seriesCoins)
        for (let b = from - MINUTE_MS; b < to; b += MINUTE_MS)
          if (expectedCandle(ex, coin, 1, b) && !have.has(`${coin}|${b}`)) missing.push(`${ex} ${coin} ${new Date(b).toISOString()}`);
    }
    const stoppedAt = Date.now();
    return {
      mode,
      histograms: minus(endHist, startHist),
      restRequests: Object.fromEntries(EXCHANGES.map((ex) => [ex, endStats[ex].requests - startStats[ex].requests])),
      measuredMs,
      cpuShare,
      rssMaxKb,
      rssEndKb,
      simCpuShare,
      coins,
      checked: {
        rows: window.length,
        missing,
        duplicates: duplicates(rows).length,
        mismatches: mismatches(window).length,
        inProgress: rows.filter((r) => r.openTimeMs + MINUTE_MS > stoppedAt).length,
      },
    };
  } finally {
    if (proc.exitCode === null) await stop(proc);
    await sim.stop();
    await dropPostgresDatabase(database).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!(await postgresReachable())) {
  console.error("ws-latency: PostgreSQL is not reachable at 127.0.0.1:5432; the bench measures database commits too");
  process.exit(2);
}
const buildDir = mkdtempSync(join(tmpdir(), "ws-latency-exe-"));
const { path: exe } = await buildExecutable(buildDir);
const results: PhaseResult[] = [];
for (const mode of MODES) {
  log(`phase ${mode}: ${MINUTES} min measured`);
  results.push(await phase(mode, exe));
}
rmSync(buildDir, { recursive: true, force: true });

const md: string[] = [];
const failures = results.flatMap((r) => [
  ...r.checked.missing.slice(0, 20).map((m) => `${r.mode}: missing ${m}`),
  ...(r.checked.duplicates ? [`${r.mode}: ${r.checked.duplicates} duplicate rows`] : []),
  ...(r.checked.mismatches ? [`${r.mode}: ${r.checked.mismatches} rows differ from the simulator`] : []),
  ...(r.checked.inProgress ? [`${r.mode}: ${r.checked.inProgress} rows of buckets in progress`] : []),
]);
const perExchange = EXTRA_COINS > 0 ? `top 100 + ${EXTRA_COINS} synthetic coins` : "top 100 coins";
md.push(`# Save delay, WebSocket vs REST: ${failures.length === 0 ? "checked" : "CHECK FAILED"}`);
md.push("");
md.push(
  `- ${new Date().toISOString().slice(0, 10)}, compiled executable, ${perExchange} on ${EXCHANGES.join("/")} at 1m, settle ${SETTLE_S} s, CSV + PostgreSQL, ${MINUTES} buckets measured per mode after a warm-up; simulator in its own process, streams polled every 50 ms`,
);
for (const r of results)
  md.push(
    `- ${r.mode}: series per exchange ${EXCHANGES.map((e) => `${e} ${r.coins[e]}`).join(", ")}; rows checked ${r.checked.rows}, missing ${r.checked.missing.length}, duplicates ${r.checked.duplicates}, mismatches ${r.checked.mismatches}, in progress ${r.checked.inProgress}`,
  );
md.push("");
md.push("Delay from a bucket's end to its row being durable (quantiles are the histogram bound they fall under):");
md.push("");
md.push("| exchange | sink | target | websocket p50 | websocket p99 | websocket within target | REST p50 | REST p99 | REST within target | buckets (ws / REST) |");
md.push("|---|---|---|---|---|---|---|---|---|---|");
const none: PhaseResult = {
  mode: "rest",
  histograms: new Map(),
  restRequests: {},
  measuredMs: 1,
  cpuShare: 0,
  rssMaxKb: 0,
  rssEndKb: 0,
  simCpuShare: 0,
  coins: {},
  checked: { rows: 0, missing: [], duplicates: 0, mismatches: 0, inProgress: 0 },
};
const ws = results.find((r) => r.mode === "websocket") ?? none;
const rest = results.find((r) => r.mode === "rest") ?? none;
for (const ex of EXCHANGES) {
  const target = ex === "binance" ? 1 : SETTLE_S + 1;
  for (const sink of ["csv", "database"]) {
    const w = ws.histograms.get(`${ex}|${sink}`) ?? [0];
    const r = rest.histograms.get(`${ex}|${sink}`) ?? [0];
    const pct = (x: number) => (Number.isNaN(x) ? "-" : `${(x * 100).toFixed(1)}%`);
    md.push(
      `| ${ex} | ${sink} | ≤ ${target} s | ${quantileBound(w, 0.5)} | ${quantileBound(w, 0.99)} | ${pct(shareWithin(w, target))} | ${quantileBound(r, 0.5)} | ${quantileBound(r, 0.99)} | ${pct(shareWithin(r, target))} | ${w.at(-1)} / ${r.at(-1)} |`,
    );
  }
}
md.push("");
md.push("| mode | REST requests per hour (b/k/ku/p) | all four | service CPU (share of one core) | RSS max / end | simulator CPU |");
md.push("|---|---|---|---|---|---|");
for (const r of results) {
  const perHour = (n: number) => Math.round((n / r.measuredMs) * 3_600_000);
  const all = Object.values(r.restRequests).reduce((a, b) => a + b, 0);
  md.push(
    `| ${r.mode} | ${EXCHANGES.map((e) => perHour(r.restRequests[e]!)).join(" / ")} | ${perHour(all)} | ${(r.cpuShare * 100).toFixed(1)}% | ${(r.rssMaxKb / 1024).toFixed(0)} / ${(r.rssEndKb / 1024).toFixed(0)} MiB | ${(r.simCpuShare * 100).toFixed(1)}% |`,
  );
}
if (failures.length > 0) md.push("", "## Check failures", "", ...failures.map((f) => `- ${f}`));
const out = md.join("\n");
const outFile = argOf("--out") ?? join(ROOT, ".tmp", "ws-latency-result.md");
mkdirSync(join(outFile, ".."), { recursive: true });
writeFileSync(outFile, `${out}\n`);
console.log(out);
process.exit(failures.length === 0 ? 0 : 1);
