/**
 * The test harness: the whole service in-process against the simulator, both on one fast virtual
 * clock, with an interceptor that can see and replace any answer, a log of requests with their
 * virtual time, restarts (a new runtime on the same store, as after a crash), and every log line
 * captured for the secrets check.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, configSecrets, parseConfig } from "../../src/config/config.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { createLogger, type Logger } from "../../src/telemetry/log.ts";
import { createRuntime, type Runtime } from "../../src/collector/runtime.ts";
import type { CandleSink } from "../../src/sinks/types.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { simulatorConfig } from "./binary.ts";
import { createFastClock, type FastClock } from "./clocks.ts";
import { capture, SECRETS } from "../reliability/helpers/capture.ts";

export type Intercept = (url: string, pass: () => Promise<Response>, nowMs: number) => Promise<Response | undefined> | Response | undefined;

export interface RequestRecord {
  url: string;
  atMs: number;
  status: number;
}

export interface Harness {
  clock: FastClock;
  sim: RunningSimulator;
  runtime: Runtime;
  config: Config;
  dir: string;
  csvDir: string;
  /** Log lines of this harness (all runtimes), when `keepLines` (default true). */
  lines: string[];
  requests: RequestRecord[];
  /** Sets the clock to `dueMs` and runs one tick to completion. */
  tickAt(dueMs: number): ReturnType<Runtime["service"]["tick"]>;
  /** Runs one tick per bucket from `fromMs` (a due time) for `count` buckets. */
  ticks(fromMs: number, count: number): Promise<void>;
  /** Drops the runtime (no close: as a crash would) and builds a fresh one on the same store. */
  restart(): Promise<Runtime>;
  /** The logger every runtime of this harness writes to (its lines are in `lines`). */
  logger: Logger;
  close(): Promise<void>;
}

export interface HarnessOptions {
  startMs: number;
  /** The test's config; `sqlite:DBFILE` names a database file inside the harness's directory. */
  yaml: string;
  /** Names the captured log (default: harness). */
  label?: string;
  /** Non-native exchanges of the config, pointed at their simulated services. */
  ccxtIds?: readonly string[];
  intercept?: Intercept;
  sinks?: (dir: string, logger: Logger) => CandleSink[];
  keepLines?: boolean;
  recordRequests?: boolean;
  http?: { timeoutMs?: number; maxAttempts?: number; backoff?: { baseMs: number; capMs: number } };
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const clock = createFastClock(options.startMs);
  const sim = startSimulator({ clock });
  const dir = mkdtempSync(join(tmpdir(), "ci-harness-"));
  const csvDir = join(dir, "csv");
  const label = options.label ?? "harness";
  const yaml = options.yaml.replace("sqlite:DBFILE", `sqlite:${join(dir, "db.sqlite")}`);
  const config = parseConfig(simulatorConfig(sim.url, `csv_directory: ${csvDir}\ncoingecko_api_key: ${SECRETS.apiKey}\n${yaml}`, options.ccxtIds), `${label}.yml`);
  const keep = options.keepLines ?? true;
  const lines: string[] = [];
  const requests: RequestRecord[] = [];
  let buffer: string[] = [];
  const flush = () => {
    if (buffer.length > 0) capture(label, buffer.join("\n"));
    buffer = [];
  };
  const logger = createLogger({
    level: "debug",
    secrets: configSecrets(config),
    now: clock.now,
    write: (line) => {
      if (keep) lines.push(line);
      buffer.push(line);
      if (buffer.length >= 500) flush();
    },
  });
  const fetchFn = clock.track(async (input, init) => {
    const url = String(input);
    const pass = () => fetch(input, init);
    const response = (await options.intercept?.(url, pass, clock.now())) ?? (await pass());
    if (options.recordRequests) requests.push({ url, atMs: clock.now(), status: response.status });
    return response;
  });
  const build = async () => {
    const runtime = createRuntime(config, {
      clock,
      fetch: fetchFn,
      logger,
      sinks: options.sinks?.(dir, logger),
      http: { timeoutMs: 2000, backoff: { baseMs: 200, capMs: 5000 }, ...options.http },
    });
    await runtime.open();
    return runtime;
  };
  let runtime = await build();
  const h: Harness = {
    clock,
    sim,
    get runtime() {
      return runtime;
    },
    config,
    dir,
    csvDir,
    lines,
    requests,
    logger,
    async tickAt(dueMs) {
      clock.set(dueMs);
      const report = await runtime.service.tick(dueMs);
      flush();
      return report;
    },
    async ticks(fromMs, count) {
      for (let i = 0; i < count; i++) await h.tickAt(fromMs + i * config.bucketIntervalMinutes * MINUTE_MS);
    },
    async restart() {
      runtime = await build();
      return runtime;
    },
    async close() {
      flush();
      await runtime.close().catch(() => {});
      clock.stop();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
