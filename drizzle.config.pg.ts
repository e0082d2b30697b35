import { defineConfig } from "drizzle-kit";

// Regenerate after a schema change: bunx drizzle-kit generate --config drizzle.config.pg.ts
// then add the new .sql file to src/db/migrations.ts (a test checks that nothing is missing).
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/pg.ts",
  out: "./drizzle/pg",
});
