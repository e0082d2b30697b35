/**
 * The whole service in `live_source: websocket` mode, in-process, against the simulator on a
 * loopback port, both on one manual clock: the service's own scheduler runs the cycles, and each
 * step advances the clock, pushes the simulator's stream updates and lets them arrive (real time,
 * a few milliseconds). REST requests are recorded with their clock time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createManualClock, type ManualClock } from "../../src/clock.ts";
import { createRuntime, type Runtime } from "../../src/collector/runtime.ts";
import { parseConfig } from "../../src/config/config.ts";
import type { ExchangeId } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { createLogger } from "../../src/telemetry/log.ts";
import { simulatorConfig } from "../helpers/binary.ts";
import { expectedCandle, readCsvDir, type SavedRow } from "../helpers/oracle.ts";

export interface LiveRun {
  clock: ManualClock;
  sim: RunningSimulator;
  runtime: Runtime;
  csvDir: string;
  lines: string[];
  requests: { url: string; atMs: number }[];
  /** Advances the clock in steps to `targetMs`, streams ticking, cycles running as scheduled. */
  stepTo(targetMs: number): Promise<void>;
  /** Stops the loop and waits for it, then closes the runtime and the simulator. */
  close(): Promise<void>;
  /** Stream connections the simulator still had open after the runtime closed, per exchange (set by `close`). */
  openStreamsAfterClose?: Record<string, number>;
}

const STEP_MS = 1000;

export interface LiveRunOptions {
  startMs: number;
  yaml: string;
  liveSource?: "rest" | "websocket";
  /** Non-native exchanges of the config, pointed at their simulated services. */
  ccxtIds?: readonly string[];
  /** Sees every REST answer and may replace it. */
  intercept?: (url: string, response: Response, nowMs: number) => Response | Promise<Response>;
}

export async function startLiveRun(options: LiveRunOptions): Promise<LiveRun> {
  const clock = createManualClock(options.startMs);
  const sim = startSimulator({ clock, streamPollMs: 0 });
  const dir = mkdtempSync(join(tmpdir(), "ci-live-"));
  const csvDir = join(dir, "csv");
  const config = parseConfig(simulatorConfig(sim.url, `csv_directory: ${csvDir}\nlive_source: ${options.liveSource ?? "websocket"}\n${options.yaml}`, options.ccxtIds), "live.yml");
  const lines: string[] = [];
  const requests: LiveRun["requests"] = [];
  const logger = createLogger({ level: "debug", now: clock.now, write: (line) => lines.push(line) });
  const runtime = createRuntime(config, {
    clock,
    logger,
    random: () => 0.5,
    fetch: async (input, init) => {
      const answer = await fetch(input, init);
      const response = options.intercept ? await options.intercept(String(input), answer, clock.now()) : answer;
      requests.push({ url: String(input), atMs: clock.now() });
      return response;
    },
    http: { timeoutMs: 2000, backoff: { baseMs: 200, capMs: 5000 } },
  });
  await runtime.open();
  const stop = new AbortController();
  const loop = runtime.runLoop(stop.signal);
  const run: LiveRun = {
    clock,
    sim,
    runtime,
    csvDir,
    lines,
    requests,
    async stepTo(targetMs) {
      while (clock.now() < targetMs) {
        await clock.advance(Math.min(STEP_MS, targetMs - clock.now()));
        sim.tickStreams();
        await Bun.sleep(4);
      }
    },
    async close() {
      stop.abort();
      // The loop's sleeps wake on abort; a cycle still running gets the time it needs.
      for (let i = 0; i < 200; i++) {
        const done = await Promise.race([loop.then(() => true), Bun.sleep(5).then(() => false)]);
        if (done) break;
        await clock.advance(STEP_MS);
      }
      await runtime.close();
      // The server sees a close a moment after the client sends it.
      const openNow = () => Object.fromEntries(Object.entries(sim.stats().streams).map(([id, c]) => [id, c.open]));
      for (let i = 0; i < 100 && Object.values(openNow()).some((n) => n > 0); i++) await Bun.sleep(5);
      run.openStreamsAfterClose = openNow();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return run;
}

/** Buckets in [fromOpenMs, toOpenMs] of each (exchange, coin) that the simulator says exist but no row holds. */
export function missingBuckets(
  rows: readonly SavedRow[],
  exchanges: readonly ExchangeId[],
  coins: readonly string[],
  intervalMinutes: number,
  fromOpenMs: number,
  toOpenMs: number,
): string[] {
  const have = new Set(rows.map((r) => `${r.exchange}|${r.coin}|${r.intervalMinutes}|${r.openTimeMs}`));
  const out: string[] = [];
  for (const exchange of exchanges) {
    for (const coin of coins) {
      for (let b = fromOpenMs; b <= toOpenMs; b += intervalMinutes * MINUTE_MS) {
        if (expectedCandle(exchange, coin, intervalMinutes, b) === undefined) continue;
        if (!have.has(`${exchange}|${coin}|${intervalMinutes}|${b}`)) out.push(`${exchange} ${coin} ${new Date(b).toISOString()}`);
      }
    }
  }
  return out;
}

export { readCsvDir };
