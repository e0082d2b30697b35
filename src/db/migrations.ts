import { createHash } from "node:crypto";
import type { MigrationMeta } from "drizzle-orm/migrator";
import mysqlJournal from "../../drizzle/mysql/meta/_journal.json";
import mysqlInit from "../../drizzle/mysql/0000_init.sql" with { type: "text" };
import mysqlOriginalNames from "../../drizzle/mysql/0001_original_sql_names.sql" with { type: "text" };
import pgJournal from "../../drizzle/pg/meta/_journal.json";
import pgInit from "../../drizzle/pg/0000_init.sql" with { type: "text" };
import pgOriginalNames from "../../drizzle/pg/0001_original_sql_names.sql" with { type: "text" };
import sqliteJournal from "../../drizzle/sqlite/meta/_journal.json";
import sqliteInit from "../../drizzle/sqlite/0000_init.sql" with { type: "text" };
import sqliteOriginalNames from "../../drizzle/sqlite/0001_original_sql_names.sql" with { type: "text" };
import type { Dialect } from "./url.ts";

/**
 * The drizzle-kit migrations, embedded at build time so a `bun build --compile` binary needs no
 * `drizzle/` folder beside it. After `drizzle-kit generate`, add the new file here: a test fails
 * while a journal entry has no embedded SQL.
 */
export interface EmbeddedMigrations {
  journal: { entries: { idx: number; when: number; tag: string; breakpoints: boolean }[] };
  files: Record<string, string>;
}

export const EMBEDDED_MIGRATIONS: Record<Dialect, EmbeddedMigrations> = {
  postgres: { journal: pgJournal, files: { "0000_init": pgInit, "0001_original_sql_names": pgOriginalNames } },
  mysql: { journal: mysqlJournal, files: { "0000_init": mysqlInit, "0001_original_sql_names": mysqlOriginalNames } },
  sqlite: { journal: sqliteJournal, files: { "0000_init": sqliteInit, "0001_original_sql_names": sqliteOriginalNames } },
};

/** The migrations of a dialect in drizzle's own form (same split and hash as its file-based migrator). */
export function migrationsFor(dialect: Dialect): MigrationMeta[] {
  const { journal, files } = EMBEDDED_MIGRATIONS[dialect];
  return journal.entries.map((entry) => {
    const text = files[entry.tag];
    if (text === undefined) throw new Error(`migration ${dialect}/${entry.tag}.sql is in the journal but not embedded in src/db/migrations.ts`);
    return {
      sql: text.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash("sha256").update(text).digest("hex"),
    };
  });
}
