/**
 * Side-by-side timing with tinybench: a subject and its baseline, measured in the same process,
 * alternating over several rounds so that a burst of noise from other work on the machine hits
 * both. Figures are medians over the rounds of each round's p50, and the ratio is the ratio of
 * those medians. Every task's result goes to `consume`, so no engine can drop the work as unused.
 */
import { Bench, type FnOptions } from "tinybench";

/** Results of timed work end here: a value the optimiser must keep computing. */
let sink = 0;
export function consume(value: unknown): void {
  if (Array.isArray(value)) sink = (sink + value.length) | 0;
  else if (typeof value === "number") sink = (sink + (value | 0)) | 0;
  else if (typeof value === "string") sink = (sink + value.length) | 0;
  else if (value !== undefined && value !== null) sink = (sink + 1) | 0;
}
export function consumed(): number {
  return sink;
}

export interface TimingOptions {
  /** Rounds of (baseline, subject); the order alternates each round. */
  rounds: number;
  /** tinybench time budget per task and round (ms). */
  timeMs: number;
  /** Minimum iterations per task and round. */
  iterations: number;
  warmupIterations: number;
}

export interface Timing {
  /** Median of the per-round p50 latencies (ms). */
  p50Ms: number;
  /** Relative margin of error of the slowest round, percent. */
  rmePct: number;
  samples: number;
}

export interface Comparison {
  subject: Timing;
  baseline: Timing;
  /** subject time / baseline time: 1.0 is as fast as the baseline, 2.0 twice as slow. */
  ratio: number;
}

export type TimedFn = () => unknown;

export interface Task {
  fn: TimedFn;
  /** The function returns a promise: the timed window covers it until it settles. */
  async?: boolean;
  /** Untimed preparation before each iteration (fresh directory, empty table). */
  beforeEach?: () => unknown;
  afterEach?: () => unknown;
}

export async function compare(baseline: Task, subject: Task, options: TimingOptions): Promise<Comparison> {
  const perRound: { baseline: { p50: number; rme: number; n: number }; subject: { p50: number; rme: number; n: number } }[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({
      time: options.timeMs,
      iterations: options.iterations,
      warmupIterations: options.warmupIterations,
      warmup: options.warmupIterations > 0,
      warmupTime: 0,
      throws: true,
    });
    const order: ["baseline" | "subject", Task][] =
      round % 2 === 0
        ? [
            ["baseline", baseline],
            ["subject", subject],
          ]
        : [
            ["subject", subject],
            ["baseline", baseline],
          ];
    for (const [name, task] of order) bench.add(name, wrap(task), hooks(task));
    await bench.run();
    const stat = (name: string) => {
      const result = bench.getTask(name)?.result;
      if (!result || !("latency" in result)) throw new Error(`benchmark task ${name} did not complete: ${result?.state}`);
      return { p50: result.latency.p50, rme: result.latency.rme, n: result.latency.samplesCount };
    };
    perRound.push({ baseline: stat("baseline"), subject: stat("subject") });
  }
  const timing = (pick: "baseline" | "subject"): Timing => ({
    p50Ms: median(perRound.map((r) => r[pick].p50)),
    rmePct: Math.max(...perRound.map((r) => r[pick].rme)),
    samples: perRound.reduce((n, r) => n + r[pick].n, 0),
  });
  const b = timing("baseline");
  const s = timing("subject");
  return { baseline: b, subject: s, ratio: s.p50Ms / b.p50Ms };
}

/** Times one task alone (no baseline), same statistics. */
export async function measure(task: Task, options: TimingOptions): Promise<Timing> {
  const rounds: { p50: number; rme: number; n: number }[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({
      time: options.timeMs,
      iterations: options.iterations,
      warmupIterations: options.warmupIterations,
      warmup: options.warmupIterations > 0,
      warmupTime: 0,
      throws: true,
    });
    bench.add("task", wrap(task), hooks(task));
    await bench.run();
    const result = bench.getTask("task")?.result;
    if (!result || !("latency" in result)) throw new Error(`benchmark task did not complete: ${result?.state}`);
    rounds.push({ p50: result.latency.p50, rme: result.latency.rme, n: result.latency.samplesCount });
  }
  return { p50Ms: median(rounds.map((r) => r.p50)), rmePct: Math.max(...rounds.map((r) => r.rme)), samples: rounds.reduce((n, r) => n + r.n, 0) };
}

function wrap(task: Task): () => unknown {
  const fn = task.fn;
  if (task.async) {
    return async () => {
      consume(await fn());
    };
  }
  return () => {
    consume(fn());
  };
}

function hooks(task: Task): FnOptions {
  const options: FnOptions = { async: Boolean(task.async) };
  if (task.beforeEach) {
    const before = task.beforeEach;
    options.beforeEach = async () => {
      await before();
    };
  }
  if (task.afterEach) {
    const after = task.afterEach;
    options.afterEach = async () => {
      await after();
    };
  }
  return options;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
