import { describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { EMBEDDED_MIGRATIONS, migrationsFor } from "../../src/db/migrations.ts";
import type { Dialect } from "../../src/db/url.ts";

const ROOT = resolve(import.meta.dir, "../..");
/** As in drizzle.config.<name>.ts. */
const FOLDERS: Record<Dialect, { folder: string; kitDialect: string; schema: string }> = {
  postgres: { folder: "drizzle/pg", kitDialect: "postgresql", schema: "src/db/schema/pg.ts" },
  mysql: { folder: "drizzle/mysql", kitDialect: "mysql", schema: "src/db/schema/mysql.ts" },
  sqlite: { folder: "drizzle/sqlite", kitDialect: "sqlite", schema: "src/db/schema/sqlite.ts" },
};

describe.each(Object.keys(FOLDERS) as Dialect[])("embedded %s migrations", (dialect) => {
  const folder = join(ROOT, FOLDERS[dialect].folder);

  test("are exactly the files drizzle-kit generated, with drizzle's own split and hash", () => {
    const onDisk = readdirSync(folder)
      .filter((f) => f.endsWith(".sql"))
      .sort();
    const { journal, files } = EMBEDDED_MIGRATIONS[dialect];
    expect(journal).toEqual(JSON.parse(readFileSync(join(folder, "meta/_journal.json"), "utf8")));
    expect(
      Object.keys(files)
        .map((tag) => `${tag}.sql`)
        .sort(),
    ).toEqual(onDisk);
    for (const [tag, text] of Object.entries(files)) expect(text).toBe(readFileSync(join(folder, `${tag}.sql`), "utf8"));
    expect(migrationsFor(dialect)).toEqual(readMigrationFiles({ migrationsFolder: folder }));
  });

  test("match the schema: drizzle-kit generate finds nothing to add", () => {
    // drizzle-kit wants `out` relative to the project: a scratch folder under the ignored .tmp/.
    mkdirSync(join(ROOT, ".tmp"), { recursive: true });
    const work = mkdtempSync(join(ROOT, ".tmp", "kit-"));
    try {
      cpSync(folder, join(work, "out"), { recursive: true });
      const { kitDialect, schema } = FOLDERS[dialect];
      const run = Bun.spawnSync(
        [join(ROOT, "node_modules/.bin/drizzle-kit"), "generate", "--dialect", kitDialect, "--schema", schema, "--out", relative(ROOT, join(work, "out"))],
        {
          cwd: ROOT,
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const output = `${run.stdout.toString()}${run.stderr.toString()}`;
      expect({ exitCode: run.exitCode, output }).toMatchObject({ exitCode: 0 });
      expect(output).toContain("No schema changes");
      expect(readdirSync(join(work, "out")).sort()).toEqual(readdirSync(folder).sort());
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
