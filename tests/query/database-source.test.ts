/** The database reader of the query API creates nothing: a database that does not exist reads as empty, and stays absent. */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { createDatabaseSource } from "../../src/query/database-source.ts";
import { DIALECT_LABELS, serverAvailable, testDatabase } from "../db/servers.ts";

const KEY = { exchange: "binance", coin: "BTC", intervalMinutes: 1 };

for (const dialect of ["sqlite", "postgres", "mysql"] as const) {
  describe.skipIf(!(await serverAvailable(dialect)))(`the candle reader on ${DIALECT_LABELS[dialect]}`, () => {
    test("reads a database that does not exist as empty, and does not create it", async () => {
      const db = testDatabase(dialect);
      const source = createDatabaseSource({ url: db.url, seriesCacheMs: 0 });
      try {
        expect(await source.series(1)).toEqual([]);
        expect(await source.bounds(KEY)).toBeUndefined();
        const chunks = [];
        for await (const chunk of source.rows(KEY, -1, Date.UTC(2030, 0, 1), 100)) chunks.push(chunk);
        expect(chunks).toEqual([]);
        expect(dialect === "sqlite" ? existsSync(db.name) : await db.exists()).toBe(false);
      } finally {
        await source.close();
        await db.drop();
      }
    });
  });
}
