/**
 * The real database servers the suites use, each test in a database of its own. With `CI` set the
 * servers are mandatory; otherwise a dialect whose server is unreachable is skipped, with a message.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import postgres from "postgres";
import type { Dialect } from "../../src/db/url.ts";

/** Server URLs without a database; override to point the suites elsewhere. */
export const SERVER_URLS = {
  postgres: process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432",
  mysql: process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306",
} as const;

const LABELS: Record<Dialect, string> = { postgres: "PostgreSQL", mysql: "MySQL/MariaDB", sqlite: "SQLite" };

/** Whether something accepts a TCP connection at host:port within 1.5 s. */
export function tcpReachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Whether the dialect's server answers; throws under CI when it does not. */
export async function serverAvailable(dialect: Dialect): Promise<boolean> {
  if (dialect === "sqlite") return true;
  const url = new URL(SERVER_URLS[dialect]);
  const port = Number(url.port || (dialect === "postgres" ? 5432 : 3306));
  if (await tcpReachable(url.hostname, port)) return true;
  const message = `${LABELS[dialect]} at ${url.hostname}:${port} is unreachable`;
  if (process.env.CI) throw new Error(`${message}, and CI requires it`);
  console.warn(`skipping the ${LABELS[dialect]} database tests: ${message}`);
  return false;
}

/** A database name no other test (or engineer) uses. */
export function uniqueName(prefix = "ci_test"): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A server URL with `database` in its path (and `user:password` swapped in when given). */
export function serverUrl(dialect: "postgres" | "mysql", options: { database?: string; port?: number; password?: string } = {}): string {
  const url = new URL(SERVER_URLS[dialect]);
  if (options.port !== undefined) {
    url.hostname = "127.0.0.1";
    url.port = String(options.port);
  }
  if (options.password !== undefined) url.password = options.password;
  url.pathname = options.database === undefined ? "/" : `/${encodeURIComponent(options.database)}`;
  return url.toString();
}

/**
 * A place for one test's data: a database name not created yet (the sink creates it) on a server
 * dialect, or a fresh temp folder for SQLite. `drop()` removes whatever was created.
 */
export interface TestDatabase {
  dialect: Dialect;
  url: string;
  name: string;
  exists(): Promise<boolean>;
  drop(): Promise<void>;
}

export function testDatabase(dialect: Dialect, options: { port?: number; password?: string } = {}): TestDatabase {
  const name = uniqueName();
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "cryptointellect-db-"));
    const path = join(dir, "nested", `${name}.db`);
    return {
      dialect,
      url: `sqlite:${path}`,
      name: path,
      exists: async () => Bun.file(path).exists(),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  return { dialect, url: serverUrl(dialect, { database: name, ...options }), name, exists: () => databaseExists(dialect, name), drop: () => dropDatabase(dialect, name) };
}

export async function databaseExists(dialect: "postgres" | "mysql", name: string): Promise<boolean> {
  if (dialect === "postgres") {
    const sql = postgres(serverUrl("postgres", { database: "postgres" }), { max: 1, onnotice: () => {} });
    try {
      return (await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`).length === 1;
    } finally {
      await sql.end();
    }
  }
  const connection = await mysql.createConnection({ uri: serverUrl("mysql") });
  try {
    const [rows] = await connection.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [name]);
    return (rows as unknown[]).length === 1;
  } finally {
    await connection.end();
  }
}

/** Drops a test database. `force` also ends other sessions (our own leftovers); without it a busy database stays. */
export async function dropDatabase(dialect: "postgres" | "mysql", name: string, force = true): Promise<void> {
  if (dialect === "postgres") {
    const sql = postgres(serverUrl("postgres", { database: "postgres" }), { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}"${force ? " WITH (FORCE)" : ""}`);
    } finally {
      await sql.end();
    }
    return;
  }
  const connection = await mysql.createConnection({ uri: serverUrl("mysql") });
  try {
    await connection.query(`DROP DATABASE IF EXISTS \`${name.replace(/`/g, "``")}\``);
  } finally {
    await connection.end();
  }
}

/** Reads one test database directly, with the dialect's own client: what the tables really hold. */
export async function queryRows(db: TestDatabase, text: { postgres: string; mysql: string; sqlite: string }): Promise<Record<string, unknown>[]> {
  if (db.dialect === "sqlite") {
    const client = new Database(db.name, { readonly: true });
    try {
      return client.query(text.sqlite).all() as Record<string, unknown>[];
    } finally {
      client.close();
    }
  }
  if (db.dialect === "postgres") {
    const sql = postgres(serverUrl("postgres", { database: db.name }), { max: 1, onnotice: () => {} });
    try {
      return [...(await sql.unsafe(text.postgres))] as Record<string, unknown>[];
    } finally {
      await sql.end();
    }
  }
  const connection = await mysql.createConnection({ uri: serverUrl("mysql", { database: db.name }), timezone: "Z", dateStrings: true });
  try {
    const [rows] = await connection.query(text.mysql);
    return rows as Record<string, unknown>[];
  } finally {
    await connection.end();
  }
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP proxy on loopback in front of a real server: `cut()` drops every connection and refuses new
 * ones (an outage, without touching the shared server); `restore()` listens again on the same port.
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const listen = async (port: number): Promise<Server> => {
    const server = createServer((client) => {
      const upstream = tcpConnect({ host: targetHost, port: targetPort });
      track(client);
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return server;
  };
  let server: Server | undefined = await listen(0);
  const port = (server.address() as { port: number }).port;
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  return {
    port,
    cut: stop,
    async restore() {
      if (!server) server = await listen(port);
    },
    close: stop,
  };
}

export const DIALECT_LABELS = LABELS;
