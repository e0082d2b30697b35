/**
 * Process faults on the compiled binary, with the simulator on a shared accelerated clock:
 * SIGKILL at many points of live cycles (catch-up writes included) and of a backfill, restarts, and
 * the end result compared with an uninterrupted run: identical files. SIGTERM, even with requests
 * hanging, exits 0 within 10 s with the store consistent. Where strace is installed, further kills
 * land exactly on the k-th file-write system call of a backfill (mid-write points).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScaledClock } from "../../src/clock.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { BINARY, buildBinary, runBinary, simulatorConfig } from "../helpers/binary.ts";
import { duplicates, mismatches, readCsvDir } from "../helpers/oracle.ts";
import { capture, SECRETS, sweepSecretsHere } from "./helpers/capture.ts";

let work: string;
beforeAll(async () => {
  await buildBinary();
  work = mkdtempSync(join(tmpdir(), "ci-process-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), "utf8");
  return out;
}

function config(sim: RunningSimulator, dir: string, extra: string): string {
  const cfg = join(work, `${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(cfg, simulatorConfig(sim.url, `csv_directory: ${dir}\ncoingecko_api_key: ${SECRETS.apiKey}\nhttp:\n  host: 127.0.0.1\n  port: 0\n${extra}`));
  return cfg;
}

function spawn(args: string[], warp: string) {
  return Bun.spawn([BINARY, ...args], { cwd: work, env: { ...process.env, CRYPTOINTELLECT_TIME_WARP: warp }, stdout: "pipe", stderr: "pipe" });
}

async function finish(proc: ReturnType<typeof spawn>, label: string): Promise<{ code: number; stderr: string }> {
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  capture(label, stdout + stderr);
  return { code, stderr };
}

const jitter = (min: number, max: number) => min + Math.random() * (max - min);

/** Waits until the process catches `signal` (its handler is in place), from Linux's /proc/<pid>/status. */
async function untilCatching(pid: number, signal: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const caught = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    if (caught !== undefined && ((BigInt(`0x${caught}`) >> BigInt(signal - 1)) & 1n) === 1n) return;
    await Bun.sleep(1);
  }
  throw new Error(`process ${pid} never caught signal ${signal}`);
}

describe("SIGKILL and SIGTERM during live cycles (accelerated clock, 1 s = 1 min)", () => {
  test("killed at 12 points and stopped at 4, then run to the same end: identical to an uninterrupted run", async () => {
    const SPEED = 60;
    const anchor = Date.now();
    // Start mid-minute so both instances aim at the same first bucket.
    const START = Date.parse("2024-03-08T12:00:25Z");
    const clock = createScaledClock(anchor, START, SPEED);
    const warp = `${anchor}:${START}:${SPEED}`;
    const sim = startSimulator({ clock });
    try {
      const extra = "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH, DOGE, NEO, OP, SOL, XRP, ADA]\n";
      const refDir = join(work, "ref-cycles");
      const dir = join(work, "killed-cycles");
      const reference = spawn(["run", "-c", config(sim, refDir, extra)], warp);
      const cfg = config(sim, dir, extra);
      const points: string[] = [];
      for (let k = 0; k < 16; k++) {
        const proc = spawn(["run", "-c", cfg], warp);
        const term = k % 4 === 3;
        // SIGTERM only once the service has started: before that it ends the process with 143 (see the
        // todo test below and the report of issue 8).
        // The first instance must save something first: a store killed before its first write is a
        // fresh store again, which starts at the newest bucket (SPEC 7), not where the reference did.
        if (k === 0) {
          const deadline = Date.now() + 20_000;
          while (!(existsSync(dir) && readdirSync(dir).length > 0) && Date.now() < deadline) await Bun.sleep(10);
        }
        const afterMs = term ? jitter(400, 1600) : jitter(30, 1600);
        await Bun.sleep(afterMs);
        if (term) {
          const at = Date.now();
          proc.kill("SIGTERM");
          const { code, stderr } = await finish(proc, `cycles SIGTERM ${k}`);
          expect(code).toBe(0);
          expect(Date.now() - at).toBeLessThan(10_000);
          expect(stderr).toContain("stopped cleanly");
          points.push(`SIGTERM after ${afterMs.toFixed(0)} ms`);
        } else {
          proc.kill("SIGKILL");
          await finish(proc, `cycles SIGKILL ${k}`);
          points.push(`SIGKILL after ${afterMs.toFixed(0)} ms`);
        }
        // After every stop the store is consistent: whole lines only, no duplicate, nothing invented.
        if (existsSync(dir)) {
          const rows = readCsvDir(dir);
          expect(duplicates(rows)).toEqual([]);
          expect(mismatches(rows)).toEqual([]);
        }
        await Bun.sleep(jitter(0, 1500)); // downtime: up to a minute and a half of missed cycles
      }
      expect(points.filter((p) => p.startsWith("SIGKILL")).length).toBe(12);
      reference.kill("SIGTERM");
      const ref = await finish(reference, "cycles reference");
      expect(ref.code).toBe(0);
      // Bring both to the same end: one `once` each at a fixed instant. Not within settle of a
      // boundary: there the reference, in websocket mode, may already hold a bucket its stream made
      // final, which REST (`once`) counts as closed only once settle has passed.
      let endMs = clock.now();
      const into = endMs % 60_000;
      if (into < 10_000) endMs += 10_000 - into;
      while (clock.now() < endMs) await Bun.sleep(5);
      const endWarp = `${Date.now()}:${endMs}:1`;
      for (const [d, label] of [
        [refDir, "ref"],
        [dir, "killed"],
      ] as const) {
        const r = await runBinary(["once", "-c", config(sim, d, extra)], { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: endWarp } });
        capture(`cycles final once ${label}`, r.stdout + r.stderr);
        expect(r.code).toBe(0);
      }
      expect(snapshot(dir)).toEqual(snapshot(refDir));
      const rows = readCsvDir(dir);
      expect(duplicates(rows)).toEqual([]);
      expect(mismatches(rows)).toEqual([]);
      expect(rows.length).toBeGreaterThan(8 * 4 * 15);
      expect(sim.stats().total.rateLimited).toBe(0);
    } finally {
      await sim.stop();
    }
  }, 120_000);

  // No process can handle a signal before its handler exists; src/stop-signal.ts installs it first
  // thing. The signal is sent the moment the kernel shows it caught (not after a guessed delay,
  // which on a busy machine could land before the runtime has run any code at all).
  test("SIGTERM during startup, before the service has started, still exits 0", async () => {
    const anchor = Date.now();
    const START = Date.parse("2024-03-08T12:00:25Z");
    const sim = startSimulator({ clock: createScaledClock(anchor, START, 60) });
    try {
      const proc = spawn(["run", "-c", config(sim, join(work, "term-early"), "n_coins_to_poll: 0\nlist_coins_to_poll: [BTC]\n")], `${anchor}:${START}:60`);
      await untilCatching(proc.pid, 15);
      proc.kill("SIGTERM");
      expect((await finish(proc, "SIGTERM at startup")).code).toBe(0);
      // Stopped during start-up: no cycle ran, nothing was written.
      const store = join(work, "term-early");
      expect(existsSync(store) ? readdirSync(store).filter((n) => n.endsWith(".csv")) : []).toEqual([]);
    } finally {
      await sim.stop();
    }
  });

  test("SIGTERM while every request to one exchange hangs: exit 0 within 10 s, nothing half-written", async () => {
    const anchor = Date.now();
    const START = Date.parse("2024-03-08T12:00:25Z");
    const sim = startSimulator({ clock: createScaledClock(anchor, START, 60) });
    try {
      sim.setFaults("kucoin", { timeoutRate: 1 });
      const dir = join(work, "term-hanging");
      const proc = spawn(["run", "-c", config(sim, dir, "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH]\n")], `${anchor}:${START}:60`);
      await Bun.sleep(2500);
      const at = Date.now();
      proc.kill("SIGTERM");
      const { code, stderr } = await finish(proc, "SIGTERM hanging");
      expect(code).toBe(0);
      expect(Date.now() - at).toBeLessThan(10_000);
      expect(stderr).toContain("stopped cleanly");
      if (existsSync(dir)) {
        const rows = readCsvDir(dir);
        expect(rows.some((r) => r.exchange === "kucoin")).toBe(false);
        expect(mismatches(rows)).toEqual([]);
        expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
      }
    } finally {
      await sim.stop();
    }
  }, 60_000);
});

describe("SIGKILL during a backfill", () => {
  const anchor = Date.now();
  const START = Date.parse("2024-03-08T12:00:30Z");
  let sim: RunningSimulator;
  beforeAll(() => {
    // Round trips of 80-160 ms keep the backfill running for a few of them after its first rows
    // are saved, however fast this machine renders and writes: room for the kills to land part-way.
    const slow = { latencyMs: [80, 160] as [number, number] };
    sim = startSimulator({ clock: createScaledClock(anchor, START, 1), faults: { binance: slow, kucoin: slow, poloniex: slow } });
  });
  afterAll(async () => sim.stop());
  const extra = "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH, DOGE, NEO, OP]\nexchanges: [binance, kucoin, poloniex]\n";
  const args = (cfg: string) => ["backfill", "--from", "2024-03-06T12:00:00Z", "--to", "2024-03-08T12:00:00Z", "-c", cfg];
  let reference: Record<string, string> | undefined;
  let referenceMs = 0;
  async function referenceSnapshot(): Promise<Record<string, string>> {
    if (!reference) {
      const dir = join(work, "ref-backfill");
      const at = performance.now();
      const r = await runBinary(args(config(sim, dir, extra)), { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: `${anchor}:${START}:1` } });
      referenceMs = performance.now() - at;
      capture("backfill reference", r.stdout + r.stderr);
      expect(r.code).toBe(0);
      reference = snapshot(dir);
    }
    return reference;
  }

  test("killed at 10 points and run again: identical to an uninterrupted backfill", async () => {
    const want = await referenceSnapshot();
    const dir = join(work, "killed-backfill");
    const cfg = config(sim, dir, extra);
    const sizes: number[] = [];
    // The bytes of the CSV files: a cheap poll (parsing every row took longer than the rest of a
    // run, so kills landed after it had finished).
    const savedBytes = () => {
      try {
        return existsSync(dir) ? readdirSync(dir).reduce((n, f) => n + (f.endsWith(".csv") ? statSync(join(dir, f)).size : 0), 0) : 0;
      } catch {
        return -1; // a file being renamed right now: not a size to compare
      }
    };
    for (let k = 0; k < 10; k++) {
      const proc = spawn(args(cfg), `${anchor}:${START}:1`);
      // Kill once this run has added rows (so every kill lands part-way, whatever the machine's
      // load), at a random moment after that: sometimes between writes, sometimes during one.
      const before = Math.max(0, savedBytes());
      const deadline = performance.now() + Math.max(5000, referenceMs * 3);
      while (savedBytes() <= before && performance.now() < deadline && proc.exitCode === null) await Bun.sleep(2);
      await Bun.sleep(jitter(0, Math.max(20, referenceMs * 0.05)));
      proc.kill("SIGKILL");
      await finish(proc, `backfill SIGKILL ${k}`);
      if (existsSync(dir)) {
        const rows = readCsvDir(dir);
        expect(duplicates(rows)).toEqual([]);
        sizes.push(rows.length);
      }
    }
    // The kills did interrupt it, part-way.
    const total = Object.values(want).reduce((n, t) => n + t.split("\n").length - 2, 0);
    expect(sizes.filter((n) => n > 0 && n < total).length).toBeGreaterThanOrEqual(3);
    const r = await runBinary(args(cfg), { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: `${anchor}:${START}:1` } });
    capture("backfill after kills", r.stdout + r.stderr);
    expect(r.code).toBe(0);
    expect(snapshot(dir)).toEqual(want);
  }, 120_000);

  const strace = Bun.which("strace");
  test.skipIf(!strace)(
    "killed on the k-th file write system call (strace fault injection), at 8 points: identical after a rerun",
    async () => {
      const want = await referenceSnapshot();
      const dir = join(work, "strace-backfill");
      mkdirSync(dir, { recursive: true });
      const cfg = config(sim, dir, extra);
      const killedAt: number[] = [];
      for (const n of [2, 4, 6, 9, 13, 18, 24, 31]) {
        const proc = Bun.spawn(
          [
            strace!,
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=write,pwrite64,writev,fsync,rename,ftruncate",
            "-e",
            `inject=write,pwrite64,writev:signal=SIGKILL:when=${n}`,
            BINARY,
            ...args(cfg),
          ],
          {
            cwd: work,
            env: { ...process.env, CRYPTOINTELLECT_TIME_WARP: `${anchor}:${START}:1` },
            stdout: "pipe",
            stderr: "pipe",
          },
        );
        const { code } = await finish(proc, `backfill strace kill at write ${n}`);
        if (code !== 0) killedAt.push(n);
        const rows = readCsvDir(dir);
        expect(duplicates(rows)).toEqual([]);
        expect(mismatches(rows.slice(0, 2000))).toEqual([]);
      }
      expect(killedAt.length).toBeGreaterThanOrEqual(5);
      const r = await runBinary(args(cfg), { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: `${anchor}:${START}:1` } });
      capture("strace backfill rerun", r.stdout + r.stderr);
      expect(r.code).toBe(0);
      expect(snapshot(dir)).toEqual(want);
    },
    120_000,
  );
});

sweepSecretsHere();
