/**
 * `cryptointellect export` against the query API: the same bytes for the same query, from the CSV
 * files and from the database, to a file (written whole or not at all) or to standard output.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseConfig } from "../../src/config/config.ts";
import { createRuntime } from "../../src/collector/runtime.ts";
import { runExport } from "../../src/cli/export.ts";
import { main } from "../../src/main.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { sampleCandles, saveEverywhere } from "../query/saved-stores.ts";
import { ROOT } from "../helpers/binary.ts";
import { unusedPort } from "../db/servers.ts";

let dir: string;
let csvConfig: string;
let dbConfig: string;
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  const saved = await saveEverywhere(sampleCandles(), ["sqlite"]);
  close = saved.close;
  dir = mkdtempSync(join(tmpdir(), "ci-export-"));
  csvConfig = join(dir, "csv.yml");
  dbConfig = join(dir, "db.yml");
  writeFileSync(csvConfig, `bucketing_interval: 1m\ncsv_directory: ${saved.csvDirectory}\n`);
  writeFileSync(
    dbConfig,
    `bucketing_interval: 1m\ncsv_directory: ${join(dir, "unused")}\nsave_to_database: true\nsave_to_csv: false\ndatabase_connection: "${saved.stores[1]!.url}"\n`,
  );
});
afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

/** `main` in-process, its stderr and stdout captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, {}, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** What GET /api/candles answers for the same query, from a runtime built on the same config. */
async function apiBytes(configFile: string, query: string): Promise<Uint8Array> {
  const config = parseConfig(readFileSync(configFile, "utf8"), configFile, {});
  const runtime = createRuntime(config, { logger: silentLogger, sinks: [] });
  try {
    const response = await runtime.app.request(`/api/candles?${query}`);
    expect(response.status).toBe(200);
    return new Uint8Array(await response.arrayBuffer());
  } finally {
    await runtime.close();
  }
}

describe("cryptointellect export", () => {
  test.each([
    ["csv", csvConfigOf, "exchange=binance&coin=BTC&format=csv", ["--format", "csv", "--exchange", "binance", "--coin", "BTC"]],
    [
      "csv",
      csvConfigOf,
      "exchange=binance&coin=ETH&format=csv&interval=1m&from=2024-03-08T06:00:00Z&to=2024-03-09",
      ["--format=csv", "--exchange=BINANCE", "--coin=eth", "--interval", "1m", "--from", "2024-03-08T06:00:00Z", "--to", "2024-03-09"],
    ],
    ["parquet", csvConfigOf, "exchange=kraken&coin=BTC&format=parquet", ["--format", "parquet", "--exchange", "kraken", "--coin", "BTC"]],
    ["csv", dbConfigOf, "exchange=binance&coin=BTC&format=csv&interval=5m", ["--format", "csv", "--exchange", "binance", "--coin", "BTC", "--interval", "5m"]],
    ["parquet", dbConfigOf, "exchange=binance&coin=ETH&format=parquet", ["--format", "parquet", "--exchange", "binance", "--coin", "ETH"]],
  ])("%s to a file is what the API answers (%#)", async (format, configOf, query, args) => {
    const out = join(dir, `export-${Math.random().toString(36).slice(2)}.${format}`);
    const result = await run(["export", ...args, "--out", out, "-c", configOf()]);
    expect(result).toMatchObject({ code: 0, out: "" });
    expect(result.err).toMatch(/^cryptointellect: wrote \d+ rows of \w+ \w+ to /);
    const exported = readFileSync(out);
    expect(exported.length).toBeGreaterThan(100);
    expect(exported.equals(Buffer.from(await apiBytes(configOf(), query)))).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
    if (format === "parquet") {
      const duck = await (await DuckDBInstance.create(":memory:")).connect();
      const rows = (await duck.runAndReadAll(`SELECT count(*)::INT AS n, min(Coin) AS coin FROM read_parquet('${out}')`)).getRowObjectsJson();
      duck.closeSync();
      expect(rows[0]!.n).toBe(Number(/wrote (\d+) rows/.exec(result.err)![1]));
    }
  });

  test("writes to standard output without --out (or with -)", async () => {
    const proc = Bun.spawn(["bun", "src/main.ts", "export", "--format", "csv", "--exchange", "binance", "--coin", "BTC", "--out", "-", "-c", csvConfig], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(Buffer.from(stdout).equals(Buffer.from(await apiBytes(csvConfig, "exchange=binance&coin=BTC&format=csv")))).toBe(true);
  });

  test.each([
    [["--exchange", "binance", "--coin", "BTC"], "--format is required"],
    [["--format", "json", "--exchange", "binance", "--coin", "BTC"], '--format "json" is not csv or parquet'],
    [["--format", "csv", "--coin", "BTC"], "--exchange is required"],
    [["--format", "csv", "--exchange", "binance"], "--coin is required"],
    [["--format", "csv", "--exchange", "../etc", "--coin", "BTC"], "--exchange: "],
    [["--format", "csv", "--exchange", "binance", "--coin", "BTC/.."], "--coin: "],
    [["--format", "csv", "--exchange", "binance", "--coin", "BTC", "--from", "2024-02-30"], "--from: "],
    [["--format", "csv", "--exchange", "binance", "--coin", "BTC", "--from", "2024-03-09", "--to", "2024-03-08"], "--to: is before from"],
    [["--format", "csv", "--exchange", "binance", "--coin", "BTC", "--interval", "5x"], "--interval: "],
    [["--format", "csv", "--exchange", "binance", "--coin", "BTC", "--limit", "5"], 'unexpected argument "--limit"'],
    [["--format", "csv", "--exchange", "binance", "--coin", "BTC", "--out"], "--out needs a value"],
    [["--format", "csv", "--exchange", "binance", "--coin", "BTC", "extra"], 'unexpected argument "extra"'],
  ])("%j is exit 2: %s", async (args, message) => {
    const result = await run(["export", ...args, "-c", csvConfig]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`cryptointellect: export: ${message}`);
  });

  test("--help tells the options", async () => {
    const result = await run(["export", "--help"]);
    expect(result.code).toBe(0);
    for (const flag of ["--format", "--exchange", "--coin", "--interval", "--from", "--to", "--out", "parquet"]) expect(result.out).toContain(flag);
  });

  test("a store that cannot be read is exit 1, and the file asked for is left as it was", async () => {
    const port = await unusedPort();
    const config = join(dir, "down.yml");
    writeFileSync(config, `save_to_database: true\ndatabase_connection: postgres://postgres@127.0.0.1:${port}/nothing\n`);
    const out = join(dir, "kept.csv");
    writeFileSync(out, "what was there\n");
    const result = await run(["export", "--format", "csv", "--exchange", "binance", "--coin", "BTC", "--out", out, "-c", config]);
    expect(result.code).toBe(1);
    expect(result.err).toContain("cannot connect");
    expect(readFileSync(out, "utf8")).toBe("what was there\n");
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  test("a stop signal (SIGTERM, SIGINT) ends the export between chunks: exit 1, the file asked for not written", async () => {
    const config = parseConfig(readFileSync(csvConfig, "utf8"), csvConfig, {});
    const args = ["--format", "csv", "--exchange", "binance", "--coin", "BTC", "--from", "2024-03-08T00:00:00Z"];
    const out = join(dir, "stopped.csv");
    let err = "";
    const stopped = new AbortController();
    stopped.abort();
    expect(await runExport(config, [...args, "--out", out], { err: (t) => (err += t), logger: silentLogger, signal: stopped.signal })).toBe(1);
    expect(err).toContain(`export stopped after 0 rows; ${out} was not written`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
    // Midway, to standard output: what was written stays written, nothing more is read.
    const midway = new AbortController();
    const written: Uint8Array[] = [];
    const stdout = {
      isTTY: false,
      write: (bytes: Uint8Array) => {
        written.push(bytes);
        midway.abort();
      },
    };
    expect(await runExport(config, args, { err: () => {}, logger: silentLogger, signal: midway.signal, stdout })).toBe(1);
    expect(written.length).toBe(1);
  });

  test("a file in a folder that does not exist is exit 1 and creates nothing", async () => {
    const out = join(dir, "no-such-folder", "x.csv");
    const result = await run(["export", "--format", "csv", "--exchange", "binance", "--coin", "BTC", "--out", out, "-c", csvConfig]);
    expect(result.code).toBe(1);
    expect(existsSync(join(dir, "no-such-folder"))).toBe(false);
  });
});

function csvConfigOf(): string {
  return csvConfig;
}
function dbConfigOf(): string {
  return dbConfig;
}
