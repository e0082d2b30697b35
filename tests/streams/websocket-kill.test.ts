/**
 * `run` (compiled binary) in `live_source: websocket` mode on an accelerated clock shared with the
 * simulator (1 real second = 1 simulated minute; the simulator's stream poll, every 50 real ms, is
 * every 3 simulated seconds, inside the settle + grace the cycle waits for a minute's finals):
 * SIGKILL in the middle of a minute and a restart lose nothing and duplicate nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScaledClock } from "../../src/clock.ts";
import { lastClosedBucketOpen, MINUTE_MS } from "../../src/domain/interval.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { CSV_HEADER } from "../../src/sinks/csv-format.ts";
import { BINARY, buildBinary, simulatorConfig } from "../helpers/binary.ts";
import { duplicates, mismatches, readCsvDir } from "../helpers/oracle.ts";

const SPEED = 60;
const START = Date.parse("2024-03-08T12:00:30Z");
const COINS = ["BTC", "ETH", "DOGE"];
const SETTLE_SECONDS = 5;
const anchor = Date.now();
const clock = createScaledClock(anchor, START, SPEED);
let sim: RunningSimulator;
let work: string;

beforeAll(async () => {
  await buildBinary();
  sim = startSimulator({ clock, streamPollMs: 50 });
  work = mkdtempSync(join(tmpdir(), "ci-ws-kill-"));
});
afterAll(async () => {
  await sim.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Service {
  proc: ReturnType<typeof Bun.spawn>;
  /** stderr so far (the log), read as it comes. */
  log: () => string;
  /** stderr to the end (after the process exited). */
  done: Promise<string>;
}

function start(cfg: string): Service {
  const proc = Bun.spawn([BINARY, "run", "-c", cfg], {
    cwd: work,
    env: { ...process.env, CRYPTOINTELLECT_TIME_WARP: `${anchor}:${START}:${SPEED}` },
    stdout: "ignore",
    stderr: "pipe",
  });
  let text = "";
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) text += decoder.decode(chunk, { stream: true });
    return text;
  })();
  return { proc, log: () => text, done };
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** Saved rows per exchange × coin, or 0 for a series with none yet (CSV files may not exist yet). */
function savedPerSeries(dir: string): number {
  if (!existsSync(dir)) return 0;
  let rows: ReturnType<typeof readCsvDir>;
  try {
    rows = readCsvDir(dir);
  } catch {
    return 0; // a file being written (checked whole at the end)
  }
  let min = Number.POSITIVE_INFINITY;
  for (const ex of NATIVE_EXCHANGE_IDS) for (const coin of COINS) min = Math.min(min, rows.filter((r) => r.exchange === ex && r.coin === coin).length);
  return min;
}

describe("run (compiled binary) with live_source: websocket", () => {
  test("SIGKILL in the middle of a minute and a restart lose and duplicate nothing", async () => {
    const dir = join(work, "csv");
    const cfg = join(work, "cfg.yml");
    writeFileSync(
      cfg,
      simulatorConfig(
        sim.url,
        `bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [${COINS.join(", ")}]\nexchanges: [${NATIVE_EXCHANGE_IDS.join(", ")}]\nlive_source: websocket\nsettle_seconds: ${SETTLE_SECONDS}\ncsv_directory: ${dir}\nhttp:\n  host: 127.0.0.1\n  port: 0\n`,
      ),
    );
    const firstStartMs = clock.now();

    const first = start(cfg);
    const http = await until("the service's HTTP address", () => /http=(127\.0\.0\.1:\d+)/.exec(first.log())?.[1], 15_000);
    // Several buckets saved, the later ones from the stream (the first cycle after connecting is REST's).
    await until("5 buckets per series", () => (savedPerSeries(dir) >= 5 ? true : undefined), 20_000);
    const metrics = await (await fetch(`http://${http}/metrics`)).text();
    const messages = [...metrics.matchAll(/^cryptointellect_stream_messages_total\{exchange="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(messages.map(([ex]) => ex).sort()).toEqual([...NATIVE_EXCHANGE_IDS].sort());
    for (const [, n] of messages) expect(n).toBeGreaterThan(0);
    expect(metrics).toMatch(/^cryptointellect_stream_connections\{exchange="binance"\} 1/m);
    // In the middle of a minute: away from a cycle (boundary + settle + grace) and from the boundary.
    await until(
      "the middle of a minute",
      () => {
        const s = (clock.now() % MINUTE_MS) / 1000;
        return s >= 25 && s <= 35 ? true : undefined;
      },
      2000,
    );
    const killedAt = clock.now();
    first.proc.kill("SIGKILL");
    expect(await first.proc.exited).not.toBe(0);
    await first.done;
    await Bun.sleep(2000 + Math.random() * 500); // two simulated minutes and more of downtime

    const second = start(cfg);
    await until("the restarted service", () => (/service started/.test(second.log()) ? true : undefined), 15_000);
    await Bun.sleep(5000);
    second.proc.kill("SIGTERM");
    const code = await second.proc.exited;
    const stopMs = clock.now();
    const stderr = await second.done;
    expect(code).toBe(0);
    expect(stderr).toContain("stopped cleanly");

    // No torn line: every file ends in a newline (readCsvDir checks) and every row is whole.
    const rows = readCsvDir(dir);
    const fields = CSV_HEADER.split(",").length;
    for (const r of rows) expect(r.line.split(",").length).toBe(fields);
    for (const f of new Set(rows.map((r) => r.file))) expect(readFileSync(join(dir, f), "utf8").endsWith("\n")).toBe(true);
    expect(duplicates(rows)).toEqual([]);
    expect(mismatches(rows)).toEqual([]);

    // The last bucket whose cycle had surely finished before SIGTERM (one more may or may not be saved).
    const lastClosed = lastClosedBucketOpen(stopMs, 1, SETTLE_SECONDS) - MINUTE_MS;
    for (const exchange of NATIVE_EXCHANGE_IDS) {
      for (const coin of COINS) {
        const opens = rows
          .filter((r) => r.exchange === exchange && r.coin === coin)
          .map((r) => r.openTimeMs)
          .sort((a, b) => a - b);
        const label = `${exchange} ${coin}`;
        expect({ label, first: opens[0]! <= firstStartMs }).toEqual({ label, first: true });
        // Exactly once each, from the first saved to the last: the kill's minute and the downtime were caught up.
        const want = Array.from({ length: (opens.at(-1)! - opens[0]!) / MINUTE_MS + 1 }, (_, i) => opens[0]! + i * MINUTE_MS);
        expect({ label, opens }).toEqual({ label, opens: want });
        expect({ label, reachesEnd: opens.at(-1)! >= lastClosed }).toEqual({ label, reachesEnd: true });
        // Never a bucket not closed when the service stopped.
        expect({ label, inProgress: opens.at(-1)! > lastClosedBucketOpen(stopMs, 1, SETTLE_SECONDS) }).toEqual({ label, inProgress: false });
        // Buckets after the kill were saved by the restarted service.
        expect(opens.at(-1)!).toBeGreaterThan(killedAt);
      }
    }
    expect(sim.stats().total.rateLimited).toBe(0);
  }, 60_000);
});
