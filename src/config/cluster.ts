/**
 * The `cluster:` section: several instances share the work through PostgreSQL (the coordination
 * database and the store). Pure: the host name and process id behind the default instance name are
 * handed in.
 */
import { hostname } from "node:os";
import { z } from "zod";
import { type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl } from "../db/url.ts";
import type { ConfigIssue } from "../errors.ts";

export interface ClusterConfig {
  /** false: this instance works alone; the other fields are still checked but change nothing. */
  enabled: boolean;
  /**
   * The coordination database, always PostgreSQL (`+driver` removed): `cluster.database_connection`,
   * else the top-level connection (after `DATABASE_URL`). Undefined when neither is PostgreSQL.
   */
  databaseUrl: string | undefined;
  /** This instance's name in the cluster: default `<hostname>-<pid>`. */
  instance: string;
  /** Instances behind one egress IP share its rate budget: default the instance name (a group of one). */
  ipGroup: string;
}

/** Who this process is: what the default instance name is made of. */
export interface ProcessIdentity {
  hostname: string;
  pid: number;
}

/** The running process's identity (edge: reads the OS). */
export function currentProcess(): ProcessIdentity {
  return { hostname: hostname(), pid: process.pid };
}

const MAX_NAME_LENGTH = 64;

const clusterName = z
  .string()
  .min(1, "must not be empty")
  .max(MAX_NAME_LENGTH, `is longer than ${MAX_NAME_LENGTH} characters`)
  .regex(/^[A-Za-z0-9._-]*$/, "may hold only letters, digits and . _ -");

export const ClusterSchema = z.strictObject({
  enabled: z.boolean().optional(),
  database_connection: z.string().min(1).nullable().optional(),
  instance: clusterName.optional(),
  ip_group: clusterName.optional(),
});

export type ClusterFile = z.infer<typeof ClusterSchema>;

/** `<hostname>-<pid>`, the host name made to fit the name rules (other characters to `-`, cut to length). */
export function defaultInstanceName(identity: ProcessIdentity): string {
  const suffix = `-${identity.pid}`;
  const host = identity.hostname
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_NAME_LENGTH - suffix.length);
  return (host === "" ? "host" : host) + suffix;
}

/** The top-level connection as resolved: what the store uses, and where it came from (for messages). */
export interface StoreConnection {
  /** The URL (the SQLite default filled in when database mode has none), or undefined. */
  url: string | undefined;
  /** Its parse, undefined when it did not parse (that problem is already reported). */
  target: DatabaseTarget | undefined;
  /** Where it came from: `DATABASE_URL (environment)`, `database_connection`, or the SQLite default. */
  origin: "environment" | "file" | "default";
}

/** Checks the section against the rest of the config, pushing problems to `issues`. */
export function resolveCluster(file: ClusterFile | undefined, saveToDatabase: boolean, store: StoreConnection, identity: ProcessIdentity, issues: ConfigIssue[]): ClusterConfig {
  const enabled = file?.enabled ?? false;
  const given = file?.database_connection ?? undefined;
  let databaseUrl: string | undefined;
  if (given !== undefined) {
    const target = postgresTarget(given);
    if (typeof target === "string") issues.push({ path: "cluster.database_connection", message: target });
    else databaseUrl = target.url;
  } else if (store.target?.dialect === "postgres") {
    databaseUrl = store.target.url;
  }
  if (enabled) {
    if (!saveToDatabase) issues.push({ path: "cluster.enabled", message: "cluster mode needs save_to_database: true (the instances share the work through the database)" });
    if (store.url === undefined) {
      if (given === undefined) issues.push({ path: "cluster.enabled", message: "cluster mode needs PostgreSQL: set database_connection to a postgres:// URL" });
    } else if (store.target !== undefined && store.target.dialect !== "postgres") {
      issues.push({ path: "cluster.enabled", message: `cluster mode needs PostgreSQL (the coordination database and the store); ${describeStore(store.url, store.origin)}` });
    }
  }
  const instance = file?.instance ?? defaultInstanceName(identity);
  return { enabled, databaseUrl, instance, ipGroup: file?.ip_group ?? instance };
}

/** The parsed URL when it is PostgreSQL, else the problem (the password never shown). */
function postgresTarget(url: string): DatabaseTarget | string {
  let target: DatabaseTarget;
  try {
    target = parseDatabaseUrl(url);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (target.dialect !== "postgres") return `must be a PostgreSQL URL (postgres:// or postgresql://), not ${redactDatabaseUrl(url)}`;
  return target;
}

function describeStore(url: string, origin: StoreConnection["origin"]): string {
  if (origin === "default") return `database_connection is not set, so database mode uses ${url}`;
  return `${origin === "environment" ? "DATABASE_URL (environment)" : "database_connection"} is ${redactDatabaseUrl(url)}`;
}
