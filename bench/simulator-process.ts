/**
 * The simulator in a process of its own (`cryptointellect simulate`), as the exchanges are to the
 * pipeline: its CPU is not ours, and what it counts is read from its `/_sim/stats` route.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { SIM_SERVICES, type SimServiceId, type SimStats } from "../src/simulator/server.ts";

const ROOT = join(import.meta.dir, "..");

export interface SimulatorProcess {
  url: string;
  /** One base URL per listening address (`hosts`), the first being `url`. */
  urls: string[];
  baseUrls: Record<SimServiceId, string>;
  stats(): Promise<SimStats>;
  /** CPU time (user + system) the simulator process has used, from /proc (NaN where there is none). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** CPU time of a process from /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms), or NaN. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

export interface SimulatorProcessOptions {
  latencyMs?: [number, number];
  /** `anchorRealMs:startMs:speed`: the simulator's clock (CRYPTOINTELLECT_TIME_WARP). */
  timeWarp?: string;
  /** Synthetic coins listed on the four native exchanges besides the simulated top 100 (`--extra-coins`). */
  extraCoins?: number;
  /** Loopback addresses to listen on (one port), each with its own rate limits (default 127.0.0.1). */
  hosts?: readonly string[];
}

export async function startSimulatorProcess(options: SimulatorProcessOptions = {}): Promise<SimulatorProcess> {
  const hosts = options.hosts ?? ["127.0.0.1"];
  const args = ["bun", join(ROOT, "src", "main.ts"), "simulate", "--port", "0", "--host", hosts.join(",")];
  if (options.extraCoins) args.push("--extra-coins", String(options.extraCoins));
  if (options.latencyMs) args.push("--latency", `${options.latencyMs[0]}-${options.latencyMs[1]}`);
  const env: Record<string, string | undefined> = { ...process.env, CRYPTOINTELLECT_TIME_WARP: options.timeWarp };
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(args, { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(proc.stderr).text();
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let banner = "";
  const deadline = Date.now() + 20_000;
  while (!/binance\s+http:\/\/[0-9.]+:\d+/.test(banner)) {
    const next = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
    if (next === undefined || next.done) {
      proc.kill("SIGKILL");
      throw new Error(`the simulator did not start: ${banner.slice(0, 200)} ${(await stderr).slice(0, 300)}`);
    }
    banner += decoder.decode(next.value, { stream: true });
  }
  // Keep draining stdout so the process never blocks on a full pipe.
  void (async () => {
    for (;;) {
      const { done } = await reader.read().catch(() => ({ done: true }));
      if (done) return;
    }
  })();
  const port = /binance\s+http:\/\/[0-9.]+:(\d+)\/binance/.exec(banner)![1]!;
  const urls = hosts.map((h) => `http://${h}:${port}`);
  const url = urls[0]!;
  const baseUrls = {} as Record<SimServiceId, string>;
  for (const id of SIM_SERVICES) baseUrls[id] = `${url}/${id}`;
  return {
    url,
    urls,
    baseUrls,
    async stats() {
      const response = await fetch(`${url}/_sim/stats`);
      if (!response.ok) throw new Error(`simulator stats: ${response.status}`);
      return (await response.json()) as SimStats;
    },
    cpuMs: () => processCpuMs(proc.pid),
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited, Bun.sleep(5000).then(() => undefined)]);
      if (exited === undefined) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
  };
}
