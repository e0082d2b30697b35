/**
 * An empty database on a chosen server, read and written with the dialect's own client, for tests
 * that must build a database by hand (as an older version or the original left it) before the
 * program opens it. `servers.ts` gives the configured servers; this one also takes another MySQL URL.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import postgres from "postgres";
import type { Dialect } from "../../src/db/url.ts";
import { dropDatabase, serverUrl, uniqueName } from "./servers.ts";

export type Row = Record<string, unknown>;

export interface ScratchDatabase {
  dialect: Dialect;
  /** What the program is given (`database_connection`). */
  url: string;
  /** Creates the database with no tables in it. */
  create(): Promise<void>;
  /** Runs one statement on a connection of its own and returns its rows. Times come back as `Date` (SQLite: as stored). */
  query(text: string): Promise<Row[]>;
  drop(): Promise<void>;
}

/** A database not created yet: on the configured PostgreSQL, on the MySQL server at `mysqlServerUrl`, or a SQLite file. */
export function scratchDatabase(dialect: Dialect, mysqlServerUrl?: string): ScratchDatabase {
  const name = uniqueName("ci_names");
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "cryptointellect-names-"));
    const path = join(dir, `${name}.db`);
    return {
      dialect,
      url: `sqlite:${path}`,
      create: async () => new Database(path, { create: true }).close(),
      async query(text) {
        const client = new Database(path);
        try {
          return client.query(text).all() as Row[];
        } finally {
          client.close();
        }
      },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (dialect === "postgres") {
    const url = serverUrl("postgres", { database: name });
    // Naive time literals (as the original wrote them) are read in the session's zone: make it UTC.
    const connect = (database: string) => postgres(serverUrl("postgres", { database }), { max: 1, onnotice: () => {}, connection: { TimeZone: "UTC" } });
    const once = async (database: string, text: string) => {
      const sql = connect(database);
      try {
        return [...(await sql.unsafe(text))] as Row[];
      } finally {
        await sql.end();
      }
    };
    return {
      dialect,
      url,
      create: async () => void (await once("postgres", `CREATE DATABASE "${name}"`)),
      query: (text) => once(name, text),
      drop: () => dropDatabase("postgres", name),
    };
  }
  const server = new URL(mysqlServerUrl ?? serverUrl("mysql"));
  server.pathname = "/";
  const url = new URL(server);
  url.pathname = `/${name}`;
  const once = async (database: string | undefined, text: string) => {
    const connection = await mysql.createConnection({ uri: server.toString(), database, timezone: "Z" });
    try {
      const [rows] = await connection.query(text);
      return (Array.isArray(rows) ? rows : []) as Row[];
    } finally {
      await connection.end();
    }
  };
  return {
    dialect,
    url: url.toString(),
    create: async () => void (await once(undefined, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`)),
    query: (text) => once(name, text),
    drop: async () => void (await once(undefined, `DROP DATABASE IF EXISTS \`${name}\``)),
  };
}
