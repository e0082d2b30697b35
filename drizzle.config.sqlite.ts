import { defineConfig } from "drizzle-kit";

// Regenerate after a schema change: bunx drizzle-kit generate --config drizzle.config.sqlite.ts
// then add the new .sql file to src/db/migrations.ts (a test checks that nothing is missing).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema/sqlite.ts",
  out: "./drizzle/sqlite",
});
