import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EMBEDDED_MIGRATIONS } from "../../src/db/migrations.ts";

const MIGRATE = resolve(import.meta.dir, "../../src/db/migrate.ts");
const LOG = resolve(import.meta.dir, "../../src/telemetry/log.ts");

describe("migrations in a compiled executable", () => {
  test("apply from a `bun build --compile` binary with nothing beside it, and again as a no-op", () => {
    const work = mkdtempSync(join(tmpdir(), "cryptointellect-compile-"));
    try {
      const entry = join(work, "entry.ts");
      writeFileSync(
        entry,
        `import { migrateDatabase } from ${JSON.stringify(MIGRATE)};
import { createLogger } from ${JSON.stringify(LOG)};
await migrateDatabase(process.argv[2]!, createLogger());
`,
      );
      const binary = join(work, "bin", "migrate");
      const build = Bun.spawnSync(["bun", "build", "--compile", entry, "--outfile", binary], { stdout: "pipe", stderr: "pipe" });
      expect({ exitCode: build.exitCode, stderr: build.stderr.toString() }).toMatchObject({ exitCode: 0 });
      rmSync(entry);

      // Run where there is no drizzle/ folder and no source: only the binary's own contents.
      const cwd = join(work, "elsewhere");
      mkdirSync(cwd);
      for (let run = 0; run < 2; run++) {
        const result = Bun.spawnSync([binary, "sqlite:./data/prices.db"], { cwd, stdout: "pipe", stderr: "pipe" });
        expect({ exitCode: result.exitCode, stderr: result.stderr.toString() }).toMatchObject({ exitCode: 0 });
        expect(result.stderr.toString()).toContain("database migrated");
      }
      const db = new Database(join(cwd, "data/prices.db"), { readonly: true });
      try {
        const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
        expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["__drizzle_migrations", "coins", "exchanges", "klines_data", "metadata"]));
        expect(db.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: EMBEDDED_MIGRATIONS.sqlite.journal.entries.length });
        // The original's SQL names (drizzle/sqlite/0001_original_sql_names.sql) came with the binary too.
        expect(db.query("SELECT Unique_ID, OpenPrice, MarketCap FROM Klines_Data, Coins").all()).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
