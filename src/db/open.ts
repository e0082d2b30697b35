import type { Logger } from "../telemetry/log.ts";
import { openMysqlStore } from "./mysql.ts";
import { openPostgresStore } from "./postgres.ts";
import { openSqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";
import type { DatabaseTarget } from "./url.ts";

export interface OpenStoreOptions {
  /** Seconds to wait for a server connection (at start and while it is down). */
  connectTimeoutSeconds?: number;
}

/** Connects to the database of `target` (creating it when missing); migrations are the caller's step. */
export async function openStore(target: DatabaseTarget, logger: Logger, options: OpenStoreOptions = {}): Promise<Store> {
  switch (target.dialect) {
    case "postgres":
      return openPostgresStore(target, logger, options);
    case "mysql":
      return openMysqlStore(target, logger, options);
    case "sqlite":
      return openSqliteStore(target);
  }
}
