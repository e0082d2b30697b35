/** The compiled binary in database mode: migrate, once into PostgreSQL, a clear exit 1 when the server is unreachable. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScaledClock } from "../../src/clock.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { queryRows, serverAvailable, testDatabase, unusedPort } from "../db/servers.ts";
import { buildBinary, runBinary, simulatorConfig } from "../helpers/binary.ts";

const pgAvailable = await serverAvailable("postgres");
const START = Date.parse("2024-03-08T12:47:30Z");
const anchor = Date.now();
let sim: RunningSimulator;
let work: string;
beforeAll(async () => {
  await buildBinary();
  sim = startSimulator({ clock: createScaledClock(anchor, START, 1) });
  work = mkdtempSync(join(tmpdir(), "ci-dbbin-"));
});
afterAll(async () => {
  await sim.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("database mode (compiled binary)", () => {
  test("migrate creates the embedded SQLite database with no files beside the binary", async () => {
    const cfg = join(work, "sqlite.yml");
    writeFileSync(cfg, "save_to_database: true\n");
    const result = await runBinary(["migrate", "-c", cfg], { cwd: work });
    expect(result.code).toBe(0);
    expect(existsSync(join(work, "cryptointellect", "cryptointellect.db"))).toBe(true);
    expect((await runBinary(["migrate", "-c", cfg], { cwd: work })).code).toBe(0);
  });

  test("an unreachable database server at start: a clear error, exit 1, no password", async () => {
    const port = await unusedPort();
    const cfg = join(work, "down.yml");
    writeFileSync(cfg, simulatorConfig(sim.url, `save_to_database: true\ndatabase_connection: postgres://postgres:TopSecret99@127.0.0.1:${port}/x\n`));
    const result = await runBinary(["once", "-c", cfg], { cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`127.0.0.1:${port}`);
    expect(result.stderr + result.stdout).not.toContain("TopSecret99");
  });

  test.skipIf(!pgAvailable)("once fills PostgreSQL, creating the database it names", async () => {
    const db = testDatabase("postgres");
    try {
      const cfg = join(work, "pg.yml");
      writeFileSync(cfg, simulatorConfig(sim.url, `n_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH]\nsave_to_csv: false\nsave_to_database: true\n`));
      const result = await runBinary(["once", "-c", cfg], { cwd: work, env: { DATABASE_URL: db.url, CRYPTOINTELLECT_TIME_WARP: `${anchor}:${START}:1` } });
      expect(result.stderr).not.toContain(" error ");
      expect(result.code).toBe(0);
      const rows = await queryRows(db, { postgres: "SELECT exchange, coin, timestamp FROM klines_data", mysql: "", sqlite: "" });
      expect(rows.length).toBe(8);
      expect(rows.every((r) => (r.timestamp as Date).toISOString() === "2024-03-08T12:47:00.000Z")).toBe(true);
    } finally {
      await db.drop();
    }
  });
});
