import { DatabaseError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { openStore } from "./open.ts";
import type { Store } from "./store.ts";
import { type DatabaseTarget, maskSecrets, parseDatabaseUrl } from "./url.ts";
import { describeDriverError } from "./store.ts";

/** Applies the embedded migrations to an open store; failures become a DatabaseError naming the target. */
export async function migrateStore(store: Store, url: string): Promise<void> {
  try {
    await store.migrate();
  } catch (error) {
    throw new DatabaseError(`migrating ${store.target} failed: ${maskSecrets(describeDriverError(error), url)}`, { cause: error });
  }
}

/**
 * The `migrate` command: creates the database when missing and applies the migrations embedded in
 * the program (nothing is read from disk), then disconnects. Among them are the original
 * Crypto-Intellect's table and column names over our tables (docs/original-sql-names.md).
 */
export async function migrateDatabase(url: string, logger: Logger, target: DatabaseTarget = parseDatabaseUrl(url)): Promise<void> {
  const store = await openStore(target, logger);
  try {
    await migrateStore(store, url);
    logger.info("database migrated", { target: store.target });
  } finally {
    await store.close();
  }
}
