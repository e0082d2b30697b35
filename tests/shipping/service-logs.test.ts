/**
 * What the service logs when it is stopped, and what `once` says of a failure: the program from the
 * checkout (`bun src/main.ts`) against the simulator on a loopback port.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";

const REPO = resolve(import.meta.dir, "../..");
const EXCHANGES = ["binance", "kraken", "kucoin", "poloniex"] as const;
let sim: RunningSimulator;
let work: string;

beforeAll(() => {
  sim = startSimulator({ port: 0 });
  work = mkdtempSync(join(tmpdir(), "ci-logs-"));
});
afterAll(async () => {
  await sim.stop();
  rmSync(work, { recursive: true, force: true });
});

function writeConfig(name: string, bases: Partial<Record<string, string>> = {}): string {
  const file = join(work, `${name}.yml`);
  const urls = [...EXCHANGES, "coingecko"].map((id) => `  ${id}: ${bases[id] ?? `${sim.url}/${id}`}\n`).join("");
  writeFileSync(
    file,
    `bucketing_interval: 1m\nexchanges: [Binance, Kraken, Kucoin, Poloniex]\nn_coins_to_poll: 2\nlist_coins_to_poll: [Neo]\n` +
      `settle_seconds: 1\ncsv_directory: ${join(work, name)}\nhttp: {host: 127.0.0.1, port: 0}\napi_base_urls:\n${urls}`,
  );
  return file;
}

/** Log lines at level error (`<time> error <message> …`). */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => /^\S+ error /.test(line));
}

describe("service logs", () => {
  test.each([
    ["while the market listings load", 200],
    ["while candles are fetched", 1200],
  ])(
    "SIGTERM %s: a clean stop, exit 0, and no error logged",
    async (_when, afterMs) => {
      sim.reset();
      for (const id of EXCHANGES) sim.setFaults(id, { latencyMs: [800, 800] });
      const config = writeConfig(`stop-${afterMs}`);
      const proc = Bun.spawn([process.execPath, "src/main.ts", "run", "-c", config], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
      const chunks: string[] = [];
      const reading = (async () => {
        for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) chunks.push(chunk);
      })();
      for (let i = 0; i < 200 && !chunks.join("").includes("coin universe loaded"); i++) await Bun.sleep(25);
      expect(chunks.join("")).toContain("coin universe loaded");
      await Bun.sleep(afterMs);
      proc.kill("SIGTERM");
      const code = await proc.exited;
      await reading;
      const stderr = chunks.join("");
      for (const id of EXCHANGES) sim.setFaults(id, {});
      expect(stderr).toContain("stopped cleanly");
      expect(errorLines(stderr)).toEqual([]);
      expect(code).toBe(0);
    },
    20_000,
  );

  test("once names no next cycle when a market listing cannot be loaded", async () => {
    sim.reset();
    // A path the simulator does not serve: a 404, which is not retried.
    const config = writeConfig("once-listing", { binance: `${sim.url}/nowhere` });
    const proc = Bun.spawn([process.execPath, "src/main.ts", "once", "-c", config], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain("market listing could not be loaded; nothing is collected from this exchange exchange=binance");
    expect(stderr).not.toContain("next cycle");
  }, 30_000);
});
