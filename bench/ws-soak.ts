/**
 * Real-time soak of `live_source: websocket` with stream faults rotating across the native exchanges.
 *
 *   bun bench/ws-soak.ts --minutes 30
 *
 * Starts the simulator in this process on a loopback port (system clock, stream poll 50 ms), runs
 * the real service (`bun src/main.ts run -c CFG`) as a child process against it, rotates stream
 * faults, polls /health, /metrics, /_sim/stats and the child's RSS every minute, stops the service
 * with SIGTERM, then checks the CSV against the simulator oracle. Writes .tmp/ws-soak-result.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NATIVE_EXCHANGE_IDS, type NativeExchangeId } from "../src/exchanges/index.ts";
import { MINUTE_MS } from "../src/domain/interval.ts";
import { type Faults, type SimServiceId, startSimulator } from "../src/simulator/server.ts";
import { simulatorConfig } from "../tests/helpers/binary.ts";
import { duplicates, expectedCandle, mismatches, readCsvDir } from "../tests/helpers/oracle.ts";
import { argOf } from "./args.ts";

const ROOT = join(import.meta.dir, "..");
const MINUTES = Number(argOf("--minutes") ?? 30);
const SETTLE_S = 5;
const EXCHANGES: readonly NativeExchangeId[] = NATIVE_EXCHANGE_IDS;
const COINS = ["BTC", "ETH", "DOGE", "NEO", "OP"];

/** The fault schedule, in minutes of a 30-minute run (scaled to shorter runs). */
const SCHEDULE: { from: number; to: number; exchange: SimServiceId; faults: Faults; label: string }[] = [
  { from: 3, to: 6, exchange: "binance", faults: { streamCloseAfterMs: 90_000 }, label: "Binance drops with close frame every 90 s" },
  { from: 8, to: 11, exchange: "kraken", faults: { streamCloseAfterMs: 90_000, streamCloseAbrupt: true }, label: "Kraken abrupt drops every 90 s" },
  { from: 13, to: 16, exchange: "kucoin", faults: { streamStall: true }, label: "KuCoin stall" },
  { from: 18, to: 21, exchange: "poloniex", faults: { streamGarbageRate: 0.2 }, label: "Poloniex 20% garbage" },
  { from: 23, to: 26, exchange: "kucoin", faults: { streamTokenTtlMs: 60_000 }, label: "KuCoin token TTL 60 s" },
];
const scale = MINUTES / 30;

const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = s.port!;
  await s.stop(true);
  return port;
}

function rssKb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function metricOf(text: string, name: string, exchange: string): number {
  const re = new RegExp(`^${name}\\{[^}]*exchange="${exchange}"[^}]*\\}\\s+([0-9.eE+-]+)`, "m");
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

interface Sample {
  at: string;
  minute: number;
  rssKb: number | null;
  healthStatus: number;
  connected: Record<string, boolean | null>;
  reconnects: Record<string, number>;
  fallbacks: Record<string, number>;
  disagreements: Record<string, number>;
  simRequests: Record<string, number>;
  streamStats: unknown;
  activeFaults: string;
}

const dir = mkdtempSync(join(tmpdir(), "ws-soak-"));
const csvDir = join(dir, "csv");
const sim = startSimulator({ port: 0 });
const httpPort = await freePort();
const yaml = simulatorConfig(
  sim.url,
  [
    "live_source: websocket",
    `exchanges: [${EXCHANGES.join(", ")}]`,
    "n_coins_to_poll: 0",
    `list_coins_to_poll: [${COINS.join(", ")}]`,
    "bucketing_interval: 1m",
    "catch_up_limit: 5m",
    `settle_seconds: ${SETTLE_S}`,
    "save_to_csv: true",
    "save_to_database: false",
    `csv_directory: ${csvDir}`,
    "http:",
    "  host: 127.0.0.1",
    `  port: ${httpPort}`,
  ].join("\n"),
);
const cfgPath = join(dir, "config.yml");
writeFileSync(cfgPath, yaml);
const logPath = join(dir, "service.log");

const startMs = Date.now();
const firstFull = Math.ceil(startMs / MINUTE_MS) * MINUTE_MS;
const endTarget = startMs + MINUTES * MINUTE_MS;
log(`soak: ${MINUTES} min, dir ${dir}, sim ${sim.url}, http ${httpPort}`);
const child = Bun.spawn(["bun", "src/main.ts", "run", "-c", cfgPath], {
  cwd: ROOT,
  stdout: Bun.file(join(dir, "service.stdout")),
  stderr: Bun.file(logPath),
  env: { ...process.env },
});
const pid = child.pid;
const base = `http://127.0.0.1:${httpPort}`;

const samples: Sample[] = [];
async function sample(active: string): Promise<Sample> {
  const s: Sample = {
    at: new Date().toISOString(),
    minute: Math.round(((Date.now() - startMs) / MINUTE_MS) * 10) / 10,
    rssKb: rssKb(pid),
    healthStatus: 0,
    connected: {},
    reconnects: {},
    fallbacks: {},
    disagreements: {},
    simRequests: {},
    streamStats: undefined,
    activeFaults: active,
  };
  try {
    const h = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
    s.healthStatus = h.status;
    const body = (await h.json()) as { exchanges?: Record<string, { stream: { connected: boolean } | null }> };
    for (const ex of EXCHANGES) s.connected[ex] = body.exchanges?.[ex]?.stream?.connected ?? null;
  } catch {
    s.healthStatus = -1;
  }
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const ex of EXCHANGES) {
      s.reconnects[ex] = metricOf(text, "cryptointellect_stream_reconnects_total", ex);
      s.fallbacks[ex] = metricOf(text, "cryptointellect_stream_fallbacks_total", ex);
      s.disagreements[ex] = metricOf(text, "cryptointellect_stream_disagreements_total", ex);
    }
  } catch {}
  const st = sim.stats();
  for (const ex of EXCHANGES) s.simRequests[ex] = st[ex].requests;
  s.simRequests.coingecko = st.coingecko.requests;
  s.streamStats = st.streams;
  samples.push(s);
  const fmt = (r: Record<string, unknown>) => EXCHANGES.map((e) => `${e.slice(0, 4)}=${r[e]}`).join(" ");
  log(
    `m${s.minute} rss=${s.rssKb}kB health=${s.healthStatus} conn[${fmt(s.connected)}] reconn[${fmt(s.reconnects)}] fb[${fmt(s.fallbacks)}] dis[${fmt(s.disagreements)}] req[${fmt(s.simRequests)}] faults: ${active || "none"}`,
  );
  return s;
}

let exited: number | undefined;
child.exited.then((c) => {
  exited = c;
});

// Wait until the service answers.
for (let i = 0; i < 300 && exited === undefined; i++) {
  try {
    const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
    if (r.status > 0) break;
  } catch {}
  await Bun.sleep(200);
}
if (exited !== undefined) {
  console.error(`service exited early with ${exited}:\n${readFileSync(logPath, "utf8").slice(-4000)}`);
  process.exit(1);
}
await sample("");

// First REST counts after the first cycle (for the steady-state rate).
let steadyFrom: { atMs: number; reqs: Record<string, number> } | undefined;
const active = new Map<number, boolean>();
let nextSampleAt = startMs + MINUTE_MS;
const lastBoundary = Math.floor(endTarget / MINUTE_MS) * MINUTE_MS;
const stopAt = lastBoundary + SETTLE_S * 1000 + 15_000;
const lastClosed = lastBoundary - MINUTE_MS;
const faultLog: string[] = [];
while (Date.now() < stopAt && exited === undefined) {
  const m = (Date.now() - startMs) / MINUTE_MS;
  for (const [i, f] of SCHEDULE.entries()) {
    const on = m >= f.from * scale && m < f.to * scale;
    if (on !== (active.get(i) ?? false)) {
      sim.setFaults(f.exchange, on ? f.faults : {});
      active.set(i, on);
      const line = `${new Date().toISOString()} (m${m.toFixed(2)}) ${on ? "ON " : "OFF"} ${f.label} ${JSON.stringify(f.faults)}`;
      faultLog.push(line);
      log(line);
    }
  }
  if (!steadyFrom && Date.now() >= firstFull + SETTLE_S * 1000 + 20_000) {
    const st = sim.stats();
    steadyFrom = { atMs: Date.now(), reqs: Object.fromEntries(EXCHANGES.map((e) => [e, st[e].requests])) };
  }
  if (Date.now() >= nextSampleAt) {
    nextSampleAt += MINUTE_MS;
    await sample(
      SCHEDULE.filter((_, i) => active.get(i))
        .map((f) => f.label)
        .join("; "),
    );
  }
  await Bun.sleep(250);
}
for (const f of SCHEDULE) sim.setFaults(f.exchange, {});
const final = await sample("");
const endReqs = sim.stats();

// Stop the service.
const earlyExit = exited;
child.kill("SIGTERM");
const killedAt = Date.now();
const code = await Promise.race([child.exited, Bun.sleep(30_000).then(() => "timeout" as const)]);
const stopMs = Date.now() - killedAt;
if (code === "timeout") child.kill("SIGKILL");
const stderr = readFileSync(logPath, "utf8");
const warnLines = stderr.split("\n").filter((l) => / (warn|error) /.test(l));
const openAfter = Object.fromEntries(Object.entries(sim.stats().streams).map(([id, c]) => [id, (c as { open: number }).open]));
await sim.stop();

// Check the CSV.
const rows = readCsvDir(csvDir);
const dups = duplicates(rows);
const mism = mismatches(rows);
const have = new Map<string, number>();
for (const r of rows) have.set(`${r.exchange}|${r.coin}|${r.openTimeMs}`, (have.get(`${r.exchange}|${r.coin}|${r.openTimeMs}`) ?? 0) + 1);
const missing: string[] = [];
let expectedCount = 0;
let presentCount = 0;
const perSeries: string[] = [];
for (const ex of EXCHANGES) {
  for (const coin of COINS) {
    let exp = 0;
    let got = 0;
    for (let b = firstFull; b <= lastClosed; b += MINUTE_MS) {
      if (expectedCandle(ex, coin, 1, b) === undefined) continue;
      exp++;
      if (have.has(`${ex}|${coin}|${b}`)) got++;
      else missing.push(`${ex} ${coin} ${new Date(b).toISOString()}`);
    }
    expectedCount += exp;
    presentCount += got;
    perSeries.push(`${ex}/${coin}: ${got}/${exp}`);
  }
}
const beyond = rows.filter((r) => r.openTimeMs > lastClosed);
const inWindow = rows.filter((r) => r.openTimeMs >= firstFull && r.openTimeMs <= lastClosed);
const pass = code === 0 && dups.length === 0 && mism.length === 0 && missing.length === 0 && beyond.length === 0 && earlyExit === undefined;

// REST requests.
const steadyHours = steadyFrom ? (final.at ? (Date.parse(final.at) - steadyFrom.atMs) / 3_600_000 : 0) : 0;
const steadyReqs = steadyFrom ? Object.fromEntries(EXCHANGES.map((e) => [e, endReqs[e].requests - steadyFrom!.reqs[e]!])) : {};
const restModePerHour = EXCHANGES.length * COINS.length * 60;
const first = samples[0]!;
const totalSteady = Object.values(steadyReqs).reduce((a: number, b) => a + (b as number), 0);

const md: string[] = [];
md.push(`# WebSocket soak: ${pass ? "PASS" : "FAIL"}`);
md.push("");
md.push(
  `- Run: ${new Date(startMs).toISOString()} → ${new Date(killedAt).toISOString()} (${MINUTES} min requested), \`bun src/main.ts run\`, live_source websocket, 1m, ${EXCHANGES.join("/")} × ${COINS.join("/")}, catch_up_limit 5m, settle ${SETTLE_S}s`,
);
md.push(`- Checked window: ${new Date(firstFull).toISOString()} … ${new Date(lastClosed).toISOString()} (bucket opens)`);
md.push(`- SIGTERM exit code: ${code} (stopped in ${stopMs} ms)${earlyExit !== undefined ? `; service had exited early with ${earlyExit}` : ""}`);
md.push(`- Stream connections still open at the simulator after exit: ${JSON.stringify(openAfter)}`);
md.push(`- Rows in CSV: ${rows.length} (in window: ${inWindow.length}); expected in window: ${expectedCount}; present: ${presentCount}`);
md.push(`- Missing: ${missing.length}; duplicates: ${dups.length}; mismatches (all rows): ${mism.length}; rows after last closed bucket: ${beyond.length}`);
md.push("");
md.push("| exchange | reconnects | fallbacks | disagreements | sim REST requests (total) | REST requests after first cycle | per hour |");
md.push("|---|---|---|---|---|---|---|");
for (const ex of EXCHANGES) {
  const sr = (steadyReqs as Record<string, number>)[ex] ?? 0;
  md.push(
    `| ${ex} | ${final.reconnects[ex]} | ${final.fallbacks[ex]} | ${final.disagreements[ex]} | ${endReqs[ex].requests} | ${sr} | ${steadyHours > 0 ? (sr / steadyHours).toFixed(0) : "-"} |`,
  );
}
md.push("");
md.push(
  `- REST requests after the first cycle, all four: ${totalSteady} over ${(steadyHours * 60).toFixed(1)} min = ${steadyHours > 0 ? (totalSteady / steadyHours).toFixed(0) : "-"}/h; REST mode needs at least ${restModePerHour}/h (one candle request per series per bucket: ${EXCHANGES.length}×${COINS.length}×60)`,
);
md.push(`- RSS of the service: start ${first.rssKb} kB, end ${final.rssKb} kB, max ${Math.max(...samples.map((s) => s.rssKb ?? 0))} kB`);
md.push(`- Simulator stream stats at end: \`${JSON.stringify(final.streamStats)}\``);
md.push("");
md.push("## Fault schedule as applied");
md.push("");
for (const l of faultLog) md.push(`- ${l}`);
md.push("");
md.push("## Per-minute samples");
md.push("");
md.push("| min | RSS kB | /health | connected b/k/ku/p | reconnects b/k/ku/p | fallbacks b/k/ku/p | disagreements | sim requests b/k/ku/p | faults |");
md.push("|---|---|---|---|---|---|---|---|---|");
const four = (r: Record<string, unknown>) => EXCHANGES.map((e) => String(r[e])).join("/");
for (const s of samples)
  md.push(
    `| ${s.minute} | ${s.rssKb} | ${s.healthStatus} | ${four(s.connected)} | ${four(s.reconnects)} | ${four(s.fallbacks)} | ${four(s.disagreements)} | ${four(s.simRequests)} | ${s.activeFaults || "-"} |`,
  );
md.push("");
md.push("## Per series (present/expected)");
md.push("");
md.push(perSeries.join(", "));
if (missing.length || dups.length || mism.length || beyond.length) {
  md.push("");
  md.push("## Failures");
  for (const [name, list] of [
    ["missing", missing],
    ["duplicates", dups],
    ["mismatches", mism],
    ["after last closed", beyond.map((r) => r.line)],
  ] as const) {
    if (list.length)
      md.push(
        `\n### ${name} (${list.length})\n\n${list
          .slice(0, 50)
          .map((l) => `- ${l}`)
          .join("\n")}`,
      );
  }
}
md.push(`\n## Service warnings/errors (${warnLines.length} lines; last 40)\n\n\`\`\`\n${warnLines.slice(-40).join("\n")}\n\`\`\``);
md.push(`\nService log: ${logPath}; CSV: ${csvDir}`);
const out = md.join("\n");
const outFile = argOf("--out") ?? join(ROOT, ".tmp", "ws-soak-result.md");
mkdirSync(join(outFile, ".."), { recursive: true });
writeFileSync(outFile, `${out}\n`);
console.log(out);
console.log(`\nwritten: ${outFile}`);
process.exit(pass ? 0 : 1);
