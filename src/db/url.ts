/** The SQL engines we speak to. MariaDB is `mysql`. */
export type Dialect = "postgres" | "mysql" | "sqlite";

export interface DatabaseTarget {
  dialect: Dialect;
  /** The URL with any SQLAlchemy `+driver` part removed (`postgresql+psycopg2://` → `postgresql://`). */
  url: string;
  /** The database the URL names (server dialects), undefined when it names none. */
  database?: string;
  /** The file of an embedded SQLite database, or `:memory:`. */
  path?: string;
}

/** The database created and used when a server URL names none (SPEC section 6). */
export const DEFAULT_DATABASE_NAME = "CryptoIntellectDB";

/** The database a server URL leads to: the one it names, else `CryptoIntellectDB`. */
export function resolveDatabaseName(target: DatabaseTarget): string {
  return target.database ?? DEFAULT_DATABASE_NAME;
}

const SCHEMES: Record<string, Dialect> = {
  postgres: "postgres",
  postgresql: "postgres",
  mysql: "mysql",
  mariadb: "mysql",
  sqlite: "sqlite",
};

/**
 * Reads a `database_connection` URL: `postgres://` / `postgresql://`, `mysql://` (also `mariadb://`),
 * `sqlite:PATH` (also SQLAlchemy's `sqlite:///relative.db` and `sqlite:////absolute.db`). A
 * `+driver` suffix on the scheme is ignored. Throws an Error whose message never shows the password.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const match = /^([A-Za-z][A-Za-z0-9.-]*)(\+[A-Za-z0-9_.-]+)?:/.exec(url.trim());
  const scheme = match?.[1]?.toLowerCase();
  const dialect = scheme === undefined ? undefined : SCHEMES[scheme];
  if (match === null) throw new Error("the database URL has no scheme: use postgres://, mysql:// or sqlite:PATH");
  if (dialect === undefined) throw new Error(`unsupported database URL scheme "${match[1]}:": use postgres://, mysql:// or sqlite:PATH`);
  const rest = url.trim().slice(match[0].length);
  if (dialect === "sqlite") return { dialect, url: `sqlite:${sqlitePath(rest)}`, path: sqlitePath(rest) };

  const normalised = `${scheme === "mariadb" ? "mysql" : match[1]}:${rest}`;
  let parsed: URL;
  try {
    parsed = new URL(normalised);
  } catch {
    throw new Error(`database URL ${redactDatabaseUrl(url)} is not a valid URL (expected ${scheme}://user:password@host:port/database)`);
  }
  if (!rest.startsWith("//") || parsed.hostname === "") {
    throw new Error(`database URL ${redactDatabaseUrl(url)} names no host (expected ${scheme}://user:password@host:port/database)`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\/+/, "").replace(/\/+$/, ""));
  return { dialect, url: normalised, ...(database === "" ? {} : { database }) };
}

/** SQLAlchemy writes `sqlite:///rel.db` and `sqlite:////abs.db`; we also take `sqlite:rel.db`, `sqlite:/abs.db`. */
function sqlitePath(rest: string): string {
  let path = rest;
  if (path.startsWith("//")) {
    path = path.slice(2);
    if (path.startsWith("/")) path = path.slice(1);
    else if (path !== "") throw new Error(`sqlite URL "sqlite://${path}" names a host: write sqlite:PATH or sqlite:///PATH`);
  }
  if (path === "" || path === ":memory:") return ":memory:";
  return path;
}

/**
 * Where the `user:password@` part sits in a server URL. The password runs to the last `@` before the
 * query (a password may hold a raw `@`; a query value may too), else to the last `@` at all (a raw
 * `?` in the password): redacting too much is fine, too little is not.
 */
function userInfo(url: string): { start: number; colon: number; end: number } | undefined {
  const slashes = url.indexOf("://");
  if (slashes < 0) return undefined;
  const start = slashes + 3;
  const query = url.indexOf("?", start);
  let end = url.lastIndexOf("@", query < 0 ? url.length : query);
  if (end < start) end = url.lastIndexOf("@");
  if (end < start) return undefined;
  const colon = url.indexOf(":", start);
  if (colon < 0 || colon > end) return undefined;
  return { start, colon, end };
}

/**
 * Query parameters that carry a secret: `?password=` (libpq, MySQL drivers, SQLAlchemy pass it on),
 * `sslpassword`, and anything else named like a password, secret or token.
 */
const SECRET_PARAM = /([?&])([^=&?#]*(?:pass|pwd|secret|token)[^=&?#]*)=([^&#]*)/gi;

/** The URL with its password (in the user part and in the query) replaced by `***`, for logs, errors and `config` output. */
export function redactDatabaseUrl(url: string): string {
  const info = userInfo(url);
  const redacted = info === undefined ? url : `${url.slice(0, info.colon + 1)}***${url.slice(info.end)}`;
  return redacted.replace(SECRET_PARAM, (_, sep: string, name: string, value: string) => `${sep}${name}=${value === "" ? "" : "***"}`);
}

/** The password in the URL's user part (percent-decoded, as drivers send it). */
export function databasePassword(url: string): string | undefined {
  const info = userInfo(url);
  if (info === undefined) return undefined;
  const raw = url.slice(info.colon + 1, info.end);
  if (raw === "") return undefined;
  return decoded(raw);
}

/** Every spelling (as written and decoded) of the user-part password and of secret query values: what must never be printed. */
export function databaseSecrets(url: string): string[] {
  const found: string[] = [];
  const info = userInfo(url);
  if (info !== undefined) {
    const raw = url.slice(info.colon + 1, info.end);
    found.push(raw, decoded(raw));
  }
  for (const match of url.matchAll(SECRET_PARAM)) {
    const raw = match[3]!;
    // A query decodes `+` to a space as well: mask that spelling too.
    found.push(raw, decoded(raw), decoded(raw.replace(/\+/g, " ")));
  }
  return [...new Set(found.filter((s) => s !== ""))];
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `text` with every spelling of the URL's password replaced by `***`: for driver messages we pass on. */
export function maskSecrets(text: string, url: string): string {
  // Longest first, so a secret that contains another is masked whole.
  return databaseSecrets(url)
    .sort((a, b) => b.length - a.length)
    .reduce((t, secret) => t.split(secret).join("***"), text);
}
