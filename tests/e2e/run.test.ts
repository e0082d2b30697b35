/**
 * `run` (compiled binary) on an accelerated clock shared with the simulator (1 real second = 1
 * minute): it keeps writing one row per coin per bucket; SIGKILL and a restart lose nothing and
 * duplicate nothing; SIGTERM exits 0 promptly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScaledClock } from "../../src/clock.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { BINARY, buildBinary, simulatorConfig } from "../helpers/binary.ts";
import { duplicates, mismatches, readCsvDir } from "../helpers/oracle.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";

const SPEED = 60;
const START = Date.parse("2024-03-08T12:00:30Z");
const anchor = Date.now();
const clock = createScaledClock(anchor, START, SPEED);
let sim: RunningSimulator;
let work: string;

beforeAll(async () => {
  await buildBinary();
  sim = startSimulator({ clock });
  work = mkdtempSync(join(tmpdir(), "ci-run-"));
});
afterAll(async () => {
  await sim.stop();
  rmSync(work, { recursive: true, force: true });
});

function start(cfg: string) {
  return Bun.spawn([BINARY, "run", "-c", cfg], {
    cwd: work,
    env: { ...process.env, CRYPTOINTELLECT_TIME_WARP: `${anchor}:${START}:${SPEED}` },
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("run (compiled binary, accelerated clock)", () => {
  test("keeps writing every bucket; SIGKILL and restart lose and duplicate nothing; SIGTERM exits 0", async () => {
    const dir = join(work, "csv");
    const cfg = join(work, "cfg.yml");
    writeFileSync(
      cfg,
      simulatorConfig(
        sim.url,
        `bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH, DOGE, NEO, OP]\ncsv_directory: ${dir}\nhttp:\n  host: 127.0.0.1\n  port: 0\n`,
      ),
    );
    const firstStartMs = clock.now();

    const first = start(cfg);
    await Bun.sleep(4000 + Math.random() * 1000);
    first.kill("SIGKILL");
    await first.exited;
    await Bun.sleep(3000); // three minutes of downtime

    const second = start(cfg);
    await Bun.sleep(4500);
    const stopAt = Date.now();
    second.kill("SIGTERM");
    const code = await second.exited;
    const stopMs = Date.now() - stopAt;
    const stderr = await new Response(second.stderr).text();
    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(10_000);
    expect(stderr).toContain("stopped cleanly");

    const rows = readCsvDir(dir);
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);
    const endMs = clock.now();
    for (const exchange of NATIVE_EXCHANGE_IDS) {
      for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP"]) {
        const opens = rows
          .filter((r) => r.exchange === exchange && r.coin === coin)
          .map((r) => r.openTimeMs)
          .sort((a, b) => a - b);
        expect(opens.length).toBeGreaterThan(5);
        // Contiguous from the first bucket saved to the last: the downtime was caught up.
        for (let i = 1; i < opens.length; i++) expect(opens[i]! - opens[i - 1]!).toBe(MINUTE_MS);
        expect(opens[0]!).toBeLessThanOrEqual(firstStartMs);
        expect(opens.at(-1)!).toBeGreaterThanOrEqual(endMs - 4 * MINUTE_MS);
      }
    }
    expect(sim.stats().total.rateLimited).toBe(0);
  }, 60_000);
});
