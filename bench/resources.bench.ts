/**
 * Resource figures of the single executable: its size, the time from spawning `run` to a 200 from
 * /health, its RSS once idle after the first cycle, and the peak RSS (VmHWM) of `backfill` over
 * 4 exchanges × 10 coins × 2 days, all against the simulator on loopback.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { readCsvDir } from "../tests/helpers/oracle.ts";
import { scenario, simulatorYaml, startLatentSimulator } from "./backfill.bench.ts";
import { median } from "./compare.ts";
import { type BenchContext, check, fmtBytes, fmtMs, type Section } from "./results.ts";

const ROOT = join(import.meta.dir, "..");

/** Decimal megabytes, the unit of the targets. */
const megabytes = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** VmRSS and VmHWM of a process, in bytes (undefined once it has exited). */
export function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
}

export async function stop(proc: Subprocess): Promise<void> {
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => undefined)]);
  if (exited === undefined) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

/** Polls `/health` on `port` every 2 ms until it answers 200, the process exits or 10 s pass since `t0`. */
export async function waitHealthy(proc: Subprocess, port: number, t0: number): Promise<boolean> {
  while (performance.now() - t0 < 10_000 && proc.exitCode === null) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return true;
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  return false;
}

/** Builds with `bun run build` and copies the executable aside, so a rebuild by someone else cannot swap it mid-run. */
export async function buildExecutable(dir: string): Promise<{ path: string; bytes: number; buildMs: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn(["bun", "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const buildMs = performance.now() - t0;
  check(code === 0, `bun run build failed: ${err.slice(0, 300)}`);
  const built = join(ROOT, "dist", "cryptointellect");
  const bytes = statSync(built).size;
  const path = join(dir, "cryptointellect");
  copyFileSync(built, path);
  Bun.spawnSync(["chmod", "+x", path]);
  return { path, bytes, buildMs };
}

interface ServeFigures {
  startToHealthyMs: number[];
  idleRssBytes: number;
  cyclesBeforeIdle: number;
}

/** Spawns `run` several times: time to a 200 from /health; on the last start, RSS once its first cycle is done. */
async function measureServe(binary: string, dir: string, baseYaml: string, starts: number, log: (l: string) => void): Promise<ServeFigures> {
  const times: number[] = [];
  let idleRssBytes = Number.NaN;
  let cycles = 0;
  for (let i = 0; i < starts; i++) {
    const port = await freePort();
    const config = join(dir, `run-${i}.yml`);
    writeFileSync(config, `${baseYaml}csv_directory: ${join(dir, `run-csv-${i}`)}\nhttp:\n  host: 127.0.0.1\n  port: ${port}\n`);
    const t0 = performance.now();
    const proc = Bun.spawn([binary, "run", "-c", config], { cwd: dir, stdout: "ignore", stderr: "pipe" });
    const stderr = new Response(proc.stderr).text();
    try {
      const healthy = await waitHealthy(proc, port, t0);
      const elapsed = performance.now() - t0;
      check(healthy, `run did not answer /health within 10 s (exit ${proc.exitCode})`);
      times.push(elapsed);
      if (i === starts - 1) {
        // Idle: after its first cycle (universe, listings, one cycle per exchange, first gap repair).
        const deadline = performance.now() + 60_000;
        while (performance.now() < deadline) {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          cycles = [...text.matchAll(/^cryptointellect_cycles_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
          if (cycles >= 1) break;
          await Bun.sleep(100);
        }
        check(cycles >= 1, "run finished no cycle within 60 s");
        await Bun.sleep(3000);
        const samples: number[] = [];
        for (let k = 0; k < 10; k++) {
          samples.push(memoryOf(proc.pid!)?.rss ?? Number.NaN);
          await Bun.sleep(100);
        }
        idleRssBytes = Math.max(...samples);
        log(`resources: idle RSS ${fmtBytes(idleRssBytes)} after ${cycles} cycle(s)`);
      }
    } finally {
      await stop(proc);
      void (await stderr);
    }
  }
  return { startToHealthyMs: times, idleRssBytes, cyclesBeforeIdle: cycles };
}

export async function runResourcesBench(ctx: BenchContext): Promise<Section> {
  const section: Section = { id: "resources", title: "Resources of the executable", rows: [], notes: [] };
  const dir = mkdtempSync(join(tmpdir(), "ci-bench-bin-"));
  const sim = await startLatentSimulator();
  try {
    ctx.log("resources: bun run build");
    const exe = await buildExecutable(dir);
    const serveYaml = simulatorYaml(sim, "bucketing_interval: 1m\nexchanges: [Binance, Kraken, Kucoin, Poloniex]\nsettle_seconds: 5");
    const starts = ctx.quick ? 2 : 5;
    const serve = await measureServe(exe.path, dir, serveYaml, starts, ctx.log);

    const [coins, minutes] = ctx.quick ? [2, 14 * 60] : [10, 2 * 1440];
    const s = scenario(coins, minutes);
    const csv = join(dir, "backfill-csv");
    const config = join(dir, "backfill.yml");
    writeFileSync(
      config,
      simulatorYaml(
        sim,
        `bucketing_interval: 1m\nexchanges: [Binance, Kraken, Kucoin, Poloniex]\nn_coins_to_poll: 0\nlist_coins_to_poll: [${s.coins.join(", ")}]\ncsv_directory: ${csv}\nsettle_seconds: 5`,
      ),
    );
    ctx.log(`resources: ${exe.path} backfill (${coins} coins × ${minutes} minutes × 4 exchanges)`);
    const t0 = performance.now();
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");
    const proc = Bun.spawn([exe.path, "backfill", "--from", iso(s.fromMs), "--to", iso(s.toMs), "-c", config], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const out = new Response(proc.stdout).text();
    const err = new Response(proc.stderr).text();
    let peak = 0;
    let rssSamples = 0;
    while (proc.exitCode === null) {
      const m = memoryOf(proc.pid!);
      if (m && Number.isFinite(m.hwm)) {
        peak = Math.max(peak, m.hwm);
        rssSamples++;
      }
      await Bun.sleep(50);
    }
    const code = await proc.exited;
    const backfillMs = performance.now() - t0;
    const stdout = await out;
    check(code === 0, `backfill exited ${code}: ${stdout.slice(0, 300)} ${(await err).slice(-300)}`);
    const rows = readCsvDir(csv).length;
    check(rows === 4 * coins * minutes, `backfill saved ${rows} rows, expected ${4 * coins * minutes}`);
    const stats = await sim.stats();

    section.notes.push(
      `Executable: \`bun run build\` (bun build --compile --minify --sourcemap), built in ${fmtMs(exe.buildMs)}, run from a copy. Start to healthy: from spawning \`cryptointellect run -c FILE\` (defaults: top 30 + 3 named coins, 4 exchanges, 1m buckets, pointing at the simulator) to the first 200 from /health, polled every 2 ms; ${starts} starts. Idle RSS: VmRSS (max of 10 samples) 3 s after its first cycle finished (${serve.cyclesBeforeIdle} cycle(s) counted in /metrics). Peak RSS: VmHWM of \`cryptointellect backfill --from … --to …\` (${coins} coins × ${minutes} minutes × 4 exchanges into CSV, ${rows.toLocaleString("en-US")} rows, checked), sampled every 50 ms (${rssSamples} samples); the backfill took ${fmtMs(backfillMs)} against the simulator with 20–50 ms latency. Simulator refusals in this section: ${stats.total.rateLimited} rate-limited, ${stats.total.banned} banned.`,
    );
    if (!ctx.timing) return section;
    const startMedian = median(serve.startToHealthyMs);
    section.rows.push(
      { what: "binary size (dist/cryptointellect)", figure: `${megabytes(exe.bytes)} (${fmtBytes(exe.bytes)})` },
      {
        what: "start to a 200 from /health",
        figure: `${fmtMs(startMedian)} median of ${starts} (${serve.startToHealthyMs.map((t) => fmtMs(t)).join(", ")})`,
        baseline: "target < 200 ms",
      },
      {
        what: "idle RSS after the first cycle (33 coins × 4 exchanges)",
        figure: `${megabytes(serve.idleRssBytes)} (${fmtBytes(serve.idleRssBytes)})`,
        baseline: "target < 100 MB",
      },
      {
        what: `peak RSS of the ${minutes / 1440 >= 1 ? `${minutes / 1440}-day` : `${minutes / 60}-hour`} backfill (VmHWM)`,
        figure: `${megabytes(peak)} (${fmtBytes(peak)}); the backfill took ${fmtMs(backfillMs)}`,
        baseline: "target < 300 MB",
      },
    );
    ctx.figures["res.binaryBytes"] = exe.bytes;
    ctx.figures["res.startToHealthyMs"] = startMedian;
    ctx.figures["res.idleRssBytes"] = serve.idleRssBytes;
    ctx.figures["res.backfillPeakRssBytes"] = peak;
    ctx.figures["res.backfillMs"] = backfillMs;
    return section;
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
