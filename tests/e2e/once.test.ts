/**
 * The compiled binary against the simulator over loopback: `once` writes exactly the newest closed
 * bucket of every coin, matching the simulator; again adds nothing; 5% server errors change nothing;
 * a bad config is refused whole.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScaledClock } from "../../src/clock.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { buildBinary, runBinary, simulatorConfig } from "../helpers/binary.ts";
import { duplicates, expectedRow, mismatches, readCsvDir } from "../helpers/oracle.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";

const START = Date.parse("2024-03-08T12:47:30Z");
const anchor = Date.now();
const warp = `${anchor}:${START}:1`;
const COINS = ["BTC", "ETH", "DOGE", "NEO", "OP"];
let sim: RunningSimulator;
let work: string;

beforeAll(async () => {
  await buildBinary();
  sim = startSimulator({ clock: createScaledClock(anchor, START, 1) });
  work = mkdtempSync(join(tmpdir(), "ci-once-"));
});
afterAll(async () => {
  await sim.stop();
  rmSync(work, { recursive: true, force: true });
});

function setup(name: string, topN = 0) {
  const dir = join(work, name);
  const cfg = join(work, `${name}.yml`);
  writeFileSync(
    cfg,
    simulatorConfig(sim.url, `bucketing_interval: 1m\nn_coins_to_poll: ${topN}\nlist_coins_to_poll: [bitcoin, Ethereum, DOGE, Neo, Optimism]\ncsv_directory: ${dir}\n`),
  );
  return { dir, cfg };
}

describe("once (compiled binary)", () => {
  test("collects OKX, Coinbase and Bybit through the ccxt bundled in the binary, as the simulator has them", async () => {
    sim.reset();
    const dir = join(work, "ccxt");
    const cfg = join(work, "ccxt.yml");
    const ids = ["okx", "coinbase", "bybit"];
    writeFileSync(
      cfg,
      simulatorConfig(
        sim.url,
        `exchanges: [OKX, Coinbase, Bybit]\nbucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [bitcoin, Ethereum, DOGE]\ncsv_directory: ${dir}\n`,
        ids,
      ),
    );
    const result = await runBinary(["once", "-c", cfg], { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: warp } });
    expect(result.stderr).not.toContain(" error ");
    expect(result.code).toBe(0);
    const rows = readCsvDir(dir);
    const newest = Date.parse("2024-03-08T12:46:00Z");
    expect(rows.length).toBe(3 * 3);
    for (const exchange of ids) {
      for (const coin of ["BTC", "ETH", "DOGE"]) expect(rows.find((r) => r.exchange === exchange && r.coin === coin)?.line).toBe(expectedRow(exchange, coin, 1, newest)!);
    }
    expect(readFileSync(join(dir, "2024-03-08_okx_1m.csv"), "utf8")).toContain(",OKX,BTC,");
    expect(readFileSync(join(dir, "2024-03-08_coinbase_1m.csv"), "utf8")).toContain(",Coinbase,BTC,");
    const stats = sim.stats();
    for (const id of ["okx", "coinbase", "bybit"] as const) expect(stats[id].rateLimited + stats[id].banned).toBe(0);

    const listed = await runBinary(["exchanges"], { cwd: work });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^okx +OKX +ccxt /m);
    expect(listed.stdout).toMatch(/^binance +Binance +native /m);
    writeFileSync(join(work, "typo.yml"), "exchanges: [okz]\n");
    const typo = await runBinary(["config", "-c", join(work, "typo.yml")], { cwd: work });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('exchanges[0]: unknown exchange "okz" (did you mean okx');
  });

  test("writes exactly the newest closed bucket of every coin on every exchange, as the simulator has it", async () => {
    sim.reset();
    const { dir, cfg } = setup("plain");
    const result = await runBinary(["once", "-c", cfg], { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: warp } });
    expect(result.stderr).not.toContain(" error ");
    expect(result.code).toBe(0);
    const rows = readCsvDir(dir);
    // 12:47:30 with settle 5 s: the newest closed minute opened at 12:46; 12:47 is in progress.
    const newest = Date.parse("2024-03-08T12:46:00Z");
    expect(rows.length).toBe(4 * COINS.length);
    for (const exchange of NATIVE_EXCHANGE_IDS) {
      for (const coin of COINS) {
        const row = rows.find((r) => r.exchange === exchange && r.coin === coin);
        expect(row?.line).toBe(expectedRow(exchange, coin, 1, newest)!);
      }
    }
    expect(rows.every((r) => r.openTimeMs === newest)).toBe(true);
    expect(mismatches(rows)).toEqual([]);
    expect(sim.stats().total.rateLimited).toBe(0);

    // Again within the same minute: nothing new, nothing duplicated.
    const before = readFileSync(join(dir, "2024-03-08_binance_1m.csv"), "utf8");
    const again = await runBinary(["once", "-c", cfg], { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: warp } });
    expect(again.code).toBe(0);
    expect(readFileSync(join(dir, "2024-03-08_binance_1m.csv"), "utf8")).toBe(before);
    expect(duplicates(readCsvDir(dir))).toEqual([]);
  });

  test("gives the same result with 5% injected server errors, garbage and truncated bodies", async () => {
    sim.reset();
    for (const id of [...NATIVE_EXCHANGE_IDS, "coingecko"] as const) sim.setFaults(id, { errorRate: 0.05, garbageRate: 0.05, truncateRate: 0.05 });
    const clean = setup("clean-ref", 25);
    const faulty = setup("faulty", 25);
    try {
      const a = await runBinary(["once", "-c", faulty.cfg], { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: warp } });
      expect(a.code).toBe(0);
      expect(sim.stats().total.errors).toBeGreaterThan(0);
      expect(a.stderr).toContain("retrying");
    } finally {
      sim.reset();
    }
    const b = await runBinary(["once", "-c", clean.cfg], { cwd: work, env: { CRYPTOINTELLECT_TIME_WARP: warp } });
    expect(b.code).toBe(0);
    const strip = (rows: ReturnType<typeof readCsvDir>) => rows.map((r) => `${r.file}:${r.line}`).sort();
    expect(strip(readCsvDir(faulty.dir))).toEqual(strip(readCsvDir(clean.dir)));
    expect(sim.stats().total.rateLimited).toBe(0);
  });

  test("a config with three mistakes prints all three, exits 2 and creates nothing", async () => {
    const dir = join(work, "never");
    const cfg = join(work, "bad.yml");
    writeFileSync(cfg, `bucketing_interval: 0m\nexchanges: [Binance, Bitfinexx]\nn_coins_to_poll: 1000\ncsv_directory: ${dir}\n`);
    const result = await runBinary(["once", "-c", cfg], { cwd: work });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("3 problems");
    expect(result.stderr).toContain("bucketing_interval");
    expect(result.stderr).toContain("exchanges[1]");
    expect(result.stderr).toContain("n_coins_to_poll");
    expect(existsSync(dir)).toBe(false);
  });

  test("answers --version with the version and commit, and --help with every command", async () => {
    const version = await runBinary(["--version"], { cwd: work });
    expect(version.stdout).toMatch(/^cryptointellect \d+\.\d+\.\d+ \(commit [0-9a-f]{4,}\)/);
    const help = await runBinary(["--help"], { cwd: work });
    for (const c of ["run", "once", "backfill", "migrate", "config", "simulate", "healthcheck"]) expect(help.stdout).toContain(c);
    const bad = await runBinary(["frobnicate"], { cwd: work });
    expect(bad.code).toBe(2);
  });
});
