/**
 * The built executable carries the query API and the Parquet writer: `run` serves
 * /api/candles?format=parquet and `export` writes the same file, which DuckDB reads back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { buildBinary, runBinary } from "../helpers/binary.ts";
import { unusedPort } from "../db/servers.ts";
import { sampleCandles, saveEverywhere } from "../query/saved-stores.ts";

let dir: string;
let close: () => Promise<void> = async () => {};
let binary: string;

beforeAll(async () => {
  binary = await buildBinary();
  const saved = await saveEverywhere(sampleCandles(), []);
  close = saved.close;
  dir = mkdtempSync(join(tmpdir(), "ci-export-bin-"));
  const port = await unusedPort();
  // Exchanges at an address nothing answers: the service serves what is saved and collects nothing.
  writeFileSync(
    join(dir, "config.yml"),
    `bucketing_interval: 1m\nexchanges: [Binance]\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC]\ncsv_directory: ${saved.csvDirectory}\nhttp: {host: 127.0.0.1, port: ${port}}\napi_base_urls:\n  binance: http://127.0.0.1:9/binance\n  coingecko: http://127.0.0.1:9/coingecko\n`,
  );
}, 300_000);
afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the executable", () => {
  test("serves /api/candles?format=parquet and exports the same bytes", async () => {
    const config = join(dir, "config.yml");
    const port = Number(/port: (\d+)/.exec(readFileSync(config, "utf8"))![1]);
    const service = Bun.spawn([binary, "run", "-c", config], { cwd: dir, stdout: "ignore", stderr: "pipe" });
    let served: Uint8Array | undefined;
    try {
      const deadline = Date.now() + 15_000;
      while (!served && Date.now() < deadline) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/api/candles?exchange=binance&coin=BTC&format=parquet`);
          expect(response.status).toBe(200);
          expect(response.headers.get("content-disposition")).toBe('attachment; filename="binance_BTC_1m_2024-03-08T0001Z_2024-03-09T1200Z.parquet"');
          served = new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          if (service.exitCode !== null) throw new Error(`the service exited ${service.exitCode}: ${await new Response(service.stderr).text()}`);
          if (!String(error).includes("Unable to connect") && !String(error).includes("ECONNREFUSED")) throw error;
          await Bun.sleep(50);
        }
      }
    } finally {
      service.kill("SIGTERM");
      await service.exited;
    }
    expect(served).toBeDefined();
    const out = join(dir, "btc.parquet");
    const exported = await runBinary(["export", "--format", "parquet", "--exchange", "binance", "--coin", "BTC", "--out", out, "-c", join(dir, "config.yml")], { cwd: dir });
    expect(exported.code).toBe(0);
    expect(exported.stderr).toMatch(/wrote \d+ rows of binance BTC/);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(served!))).toBe(true);
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    const [row] = (
      await duck.runAndReadAll(`SELECT count(*)::INT AS n, typeof(any_value(TimeStamp)) AS t, typeof(any_value(ClosePrice)) AS p FROM read_parquet('${out}')`)
    ).getRowObjectsJson();
    duck.closeSync();
    expect(row).toEqual({ n: Number(/wrote (\d+) rows/.exec(exported.stderr)![1]), t: "TIMESTAMP WITH TIME ZONE", p: "DOUBLE" });
  }, 120_000);
});
