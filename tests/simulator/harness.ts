import { createManualClock, type ManualClock } from "../../src/clock.ts";
import { startSimulator, type RunningSimulator, type SimulatorOptions } from "../../src/simulator/server.ts";

/** A simulator on a loopback port with a manual clock, and a GET that returns status, headers and parsed JSON. */
export interface SimHarness {
  sim: RunningSimulator;
  clock: ManualClock;
  get(path: string): Promise<{ status: number; headers: Headers; body: any; text: string }>;
}

export function startHarness(nowMs: number, options: Omit<SimulatorOptions, "clock"> = {}): SimHarness {
  const clock = createManualClock(nowMs);
  const sim = startSimulator({ ...options, clock });
  return {
    sim,
    clock,
    async get(path) {
      const response = await fetch(sim.url + path);
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, headers: response.headers, body, text };
    },
  };
}
