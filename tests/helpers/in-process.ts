/** The whole service in-process against the simulator, both on one fast virtual clock. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/config.ts";
import { createMemoryLogger } from "../../src/telemetry/log.ts";
import { createRuntime, type Runtime } from "../../src/collector/runtime.ts";
import type { CandleSink } from "../../src/sinks/types.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { createFastClock, type FastClock } from "./fast-clock.ts";
import { simulatorConfig } from "./binary.ts";

export interface Harness {
  clock: FastClock;
  sim: RunningSimulator;
  runtime: Runtime;
  logger: ReturnType<typeof createMemoryLogger>;
  dir: string;
  /** Sets the clock to `dueMs` and runs one tick to completion. */
  tickAt(dueMs: number): ReturnType<Runtime["service"]["tick"]>;
  close(): Promise<void>;
}

export async function startHarness(options: {
  startMs: number;
  yaml: string;
  sinks?: (dir: string) => CandleSink[];
  /** Sees every request first: answer it (a fault, or a held answer) or return undefined to pass it on. */
  intercept?: (url: string) => Response | Promise<Response> | undefined;
  /** Non-native exchanges of the config, pointed at their simulated services. */
  ccxtIds?: readonly string[];
}): Promise<Harness> {
  const clock = createFastClock(options.startMs);
  const sim = startSimulator({ clock });
  const dir = mkdtempSync(join(tmpdir(), "ci-harness-"));
  const yaml = options.yaml.replace("sqlite:DBFILE", `sqlite:${join(dir, "db.sqlite")}`);
  const config = parseConfig(simulatorConfig(sim.url, `csv_directory: ${join(dir, "csv")}\n${yaml}`, options.ccxtIds), "test.yml");
  const logger = createMemoryLogger();
  const runtime = createRuntime(config, {
    clock,
    fetch: clock.track(async (input, init) => options.intercept?.(String(input)) ?? fetch(input, init)),
    logger,
    sinks: options.sinks?.(dir),
    http: { timeoutMs: 2000, backoff: { baseMs: 200, capMs: 5000 } },
  });
  await runtime.open();
  return {
    clock,
    sim,
    runtime,
    logger,
    dir,
    async tickAt(dueMs) {
      clock.set(dueMs);
      return runtime.service.tick(dueMs);
    },
    async close() {
      await runtime.close();
      clock.stop();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
