/**
 * Parquet answers read back by another implementation, DuckDB: the same rows as the CSV answer, with
 * the types the format promises, in row groups, and an empty answer still a valid file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { answerCandles } from "../../src/query/answer.ts";
import { parseCandleQuery } from "../../src/query/params.ts";
import type { CandleSource } from "../../src/query/source.ts";
import { bodyBytes, sampleCandles, saveEverywhere } from "./saved-stores.ts";

let source: CandleSource;
let close: () => Promise<void> = async () => {};
let duck: DuckDBConnection;
const dir = mkdtempSync(join(tmpdir(), "ci-parquet-"));

beforeAll(async () => {
  const saved = await saveEverywhere(sampleCandles(), []);
  source = saved.stores[0]!.source;
  close = saved.close;
  duck = await (await DuckDBInstance.create(":memory:")).connect();
});
afterAll(async () => {
  duck.closeSync();
  await close();
  rmSync(dir, { recursive: true, force: true });
});

async function fetchAnswer(params: Record<string, string>, rowGroupRows?: number): Promise<Uint8Array> {
  const parsed = parseCandleQuery(new Map(Object.entries(params).map(([k, v]) => [k, [v]])), { defaultIntervalMinutes: 1 });
  if (!parsed.ok) throw new Error(parsed.error);
  return bodyBytes((await answerCandles(source, parsed.query, { parquetRowGroupRows: rowGroupRows })).body);
}

async function saveParquet(name: string, params: Record<string, string>, rowGroupRows?: number): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await fetchAnswer({ ...params, format: "parquet" }, rowGroupRows));
  return path;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

describe("Parquet answers, read back by DuckDB", () => {
  test("have the promised column types", async () => {
    const path = await saveParquet("types.parquet", { exchange: "binance", coin: "BTC" });
    const described = await rows(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
    expect(described.map((r) => [r.column_name, r.column_type, r.null])).toEqual([
      ["TimeStamp", "TIMESTAMP WITH TIME ZONE", "YES"],
      ["Exchange", "VARCHAR", "YES"],
      ["Coin", "VARCHAR", "YES"],
      ["OpenPrice", "DOUBLE", "YES"],
      ["HighPrice", "DOUBLE", "YES"],
      ["LowPrice", "DOUBLE", "YES"],
      ["ClosePrice", "DOUBLE", "YES"],
      ["Volume", "DOUBLE", "YES"],
      ["Bucket_Interval", "INTEGER", "YES"],
    ]);
    const schema = await rows(`SELECT name, type, converted_type, logical_type, repetition_type FROM parquet_schema('${path}') WHERE name <> 'schema'`);
    expect(schema.find((r) => r.name === "TimeStamp")).toMatchObject({ type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type: "REQUIRED" });
    expect(String(schema.find((r) => r.name === "TimeStamp")!.logical_type)).toMatch(/isAdjustedToUTC=1.*MILLIS|MILLIS.*isAdjustedToUTC=1/i);
    expect(schema.find((r) => r.name === "Coin")).toMatchObject({ type: "BYTE_ARRAY", converted_type: "UTF8" });
    expect(schema.find((r) => r.name === "Bucket_Interval")).toMatchObject({ type: "INT32", repetition_type: "REQUIRED" });
  });

  test("hold the rows of the CSV answer, value for value, in row groups of the chosen size", async () => {
    const params = { exchange: "binance", coin: "ETH", from: "2024-03-08T02:00:00Z" };
    const path = await saveParquet("rows.parquet", params, 500);
    const csv = new TextDecoder()
      .decode(await fetchAnswer({ ...params, format: "csv" }))
      .split("\n")
      .slice(1, -1);
    const read = await rows(
      `SELECT strftime(TimeStamp AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS t, Exchange, Coin, OpenPrice, HighPrice, LowPrice, ClosePrice, Volume, Bucket_Interval FROM read_parquet('${path}')`,
    );
    expect(read.length).toBe(csv.length);
    expect(read.length).toBeGreaterThan(1000);
    for (let i = 0; i < csv.length; i++) {
      const f = csv[i]!.split(",");
      const r = read[i]!;
      expect([r.t, r.Exchange, r.Coin, r.OpenPrice, r.HighPrice, r.LowPrice, r.ClosePrice, r.Volume, r.Bucket_Interval]).toEqual([
        f[0],
        f[1],
        f[2],
        ...f.slice(3, 8).map(Number),
        Number(f[8]),
      ]);
    }
    const groups = await rows(`SELECT row_group_id, row_group_num_rows FROM parquet_metadata('${path}') GROUP BY ALL ORDER BY row_group_id`);
    expect(groups.map((g) => Number(g.row_group_num_rows))).toEqual([...Array(Math.floor(csv.length / 500)).fill(500), ...(csv.length % 500 ? [csv.length % 500] : [])]);
  });

  test("an answer without rows is still a valid file with the columns", async () => {
    const path = await saveParquet("empty.parquet", { exchange: "binance", coin: "DOGE" });
    expect(await rows(`SELECT count(*)::INT AS n FROM read_parquet('${path}')`)).toEqual([{ n: 0 }]);
    expect((await rows(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).map((r) => r.column_name)).toHaveLength(9);
  });
});
