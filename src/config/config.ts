/**
 * Configuration: the original YAML fields under their original names (and aliases), our extensions,
 * defaults when no file is given, and environment overrides. Parsing is pure; `loadConfig` reads.
 */
import { stat } from "node:fs/promises";
import { isIP } from "node:net";
import { z } from "zod";
import type { ExchangeId } from "../domain/candle.ts";
import { type ClusterConfig, ClusterSchema, currentProcess, type ProcessIdentity, resolveCluster } from "./cluster.ts";
import { joinPath } from "./field-path.ts";
import { firstUnparsableLine, scanYaml, yamlParses } from "./yaml.ts";
import { formatInterval, type IntervalParse, parseInterval } from "../domain/interval.ts";
import { ConfigError, type ConfigIssue } from "../errors.ts";
import { ccxtCatalog, closestIds, type ExchangeCatalog } from "../exchanges/ccxt-catalog.ts";
import { isNativeExchange, NATIVE_EXCHANGE_IDS, NATIVE_EXCHANGES } from "../exchanges/index.ts";
import { databaseSecrets, type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl } from "../db/url.ts";

/** An exchange id or `coingecko`: the keys of `api_base_urls`. */
export type ApiName = string;
const COINGECKO_BASE_URL = "https://api.coingecko.com";

/** Where each native exchange and CoinGecko are reached unless `api_base_urls` says otherwise. */
export const DEFAULT_BASE_URLS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.values(NATIVE_EXCHANGES).map((a) => [a.id, a.defaultBaseUrl])),
  coingecko: COINGECKO_BASE_URL,
};

/** The quote preference when the config gives none, for exchanges that declare none of their own. */
export const DEFAULT_QUOTES: readonly string[] = ["USDT", "USD"];
/** ccxt exchanges whose main books are in USD: USD first (the native adapters declare their own). */
const CCXT_USD_FIRST = new Set(["coinbase", "coinbaseexchange", "coinbaseinternational", "kraken", "bitstamp", "gemini", "binanceus", "okxus"]);

export type AdapterKind = "native" | "ccxt";

export const DEFAULT_SQLITE_URL = "sqlite:./cryptointellect/cryptointellect.db";

export interface Config {
  bucketIntervalMinutes: number;
  exchanges: ExchangeId[];
  /** How each configured exchange is collected: native adapter, or ccxt (the only way for non-native ids). */
  exchangeAdapters: Record<ExchangeId, AdapterKind>;
  /** Connection URL when database mode is on (the SQLite default filled in); undefined otherwise. */
  databaseUrl: string | undefined;
  /** The parsed `database_connection` (or, in database mode without one, the SQLite default). */
  database?: DatabaseTarget;
  /** The connection the file or `DATABASE_URL` names, even with database mode off: what `config` shows. */
  databaseConnection?: string;
  coinsToPoll: string[];
  topN: number;
  saveToCsv: boolean;
  saveToDatabase: boolean;
  csvDirectory: string;
  /** The quote preference of each configured exchange. */
  quoteCurrencies: Record<ExchangeId, string[]>;
  http: { enabled: boolean; host: string; port: number };
  /** Base URL per exchange id and `coingecko`; a ccxt exchange without one uses ccxt's own URLs. */
  apiBaseUrls: Record<ApiName, string>;
  coingeckoApiKey: string | undefined;
  catchUpLimitMinutes: number;
  settleSeconds: number;
  /** Where live candles come from: REST polling, or the native exchanges' WebSocket streams (REST reconciles). */
  liveSource: LiveSource;
  /** Several instances sharing the work through PostgreSQL (off: this instance works alone). */
  cluster: ClusterConfig;
}

export type LiveSource = "rest" | "websocket";

/** The largest config file we read: a real one is a few hundred bytes. */
export const MAX_CONFIG_BYTES = 256 * 1024;

/** An interval field: `5m`, `2h`, `1d`; a bare whole number (`5`, or the text "5") is minutes. Parses to minutes. */
const intervalSchema = (min: number) =>
  z.unknown().transform((value, ctx) => {
    const parsed = intervalMinutesOf(value);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.error });
    else if (parsed.minutes < min) ctx.addIssue({ code: "custom", message: `must be at least ${min} minute${min === 1 ? "" : "s"}` });
    return parsed.ok ? parsed.minutes : z.NEVER;
  });

function intervalMinutesOf(value: unknown): IntervalParse {
  if (typeof value === "number" || (typeof value === "string" && /^\s*[-+]?\d+(\.\d*)?\s*$/.test(value))) {
    const minutes = Number(value);
    if (!Number.isInteger(minutes)) return { ok: false, error: `${String(value).trim()} is not a whole number of minutes: write 5 (minutes) or 5m, 2h, 1d` };
    if (minutes < 1) return { ok: false, error: `${minutes} is shorter than the 1 minute minimum` };
    return parseInterval(`${minutes}m`);
  }
  if (typeof value === "string") return parseInterval(value);
  return { ok: false, error: `expected an interval like 5m, 2h or 1d (a bare whole number is minutes), got ${describeValue(value)}` };
}

/** `http.host`: an IP address (IPv6 with or without brackets) or a host name (RFC 1123 labels). */
const hostField = z
  .string()
  .transform((text) => text.trim().replace(/^\[(.*)\]$/, "$1"))
  .superRefine((host, ctx) => {
    const problem = hostProblem(host);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

function hostProblem(host: string): string | undefined {
  const shown = JSON.stringify(host.slice(0, 60));
  const expected = "write an IP address (0.0.0.0, 127.0.0.1, ::) or a host name (localhost)";
  if (host === "") return `must not be empty: ${expected}`;
  if (isIP(host) !== 0) return undefined;
  if (host.includes("/")) return `${shown} is a URL or a path: give only the host (0.0.0.0, localhost)`;
  if (/^[^:]+:\d+$/.test(host)) return `${shown} holds a port: give the host alone, and the port as http.port`;
  if (/^[\d.]+$/.test(host)) return `${shown} is not a valid IPv4 address`;
  if (host.includes(":")) return `${shown} is not a valid IPv6 address`;
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length > 253 || !name.split(".").every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label))) {
    return `${shown} is not an IP address or a host name: ${expected}`;
  }
  return undefined;
}

// Coin names end up in logs and queries (never in file names, which use resolved tickers), but a
// name with control characters or path separators is a mistake or an attack either way.
const coinName = z
  .string()
  .min(1, "must not be empty")
  .max(64, "is longer than 64 characters")
  .regex(/^[\p{L}\p{N} ._()+-]+$/u, "may hold only letters, digits, spaces and . _ ( ) + -");

// Checked against the registry and ccxt after parsing: ccxt is loaded only for a non-native id.
const exchangeName = z
  .string()
  .transform((name) => name.trim().toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9]{2,40}$/, "must be an exchange id like binance or okx"));
const quoteTicker = z.string().regex(/^[A-Za-z0-9]{2,10}$/, "must be a ticker like USDT");
const quoteList = z.array(quoteTicker).min(1);

/** The most coins `list_coins_to_poll` may name: a benchmark collects 1,000 series per exchange. */
export const MAX_NAMED_COINS = 2000;

const baseUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const FileSchema = z.strictObject({
  bucketing_interval: intervalSchema(1).optional(),
  bucket_interval: intervalSchema(1).optional(),
  exchanges: z.array(exchangeName).min(1, "must name at least one exchange").optional(),
  database_connection: z.string().min(1).nullable().optional(),
  list_coins_to_poll: z.array(coinName).max(MAX_NAMED_COINS, `must name at most ${MAX_NAMED_COINS} coins`).nullable().optional(),
  list_coins_to_pull: z.array(coinName).max(MAX_NAMED_COINS, `must name at most ${MAX_NAMED_COINS} coins`).nullable().optional(),
  n_coins_to_poll: z.number().int("must be a whole number").min(0).max(100).optional(),
  save_to_csv: z.boolean().optional(),
  save_to_database: z.boolean().optional(),
  csv_directory: z
    .string()
    .min(1)
    .refine((p) => !/[\u0000-\u001f]/.test(p), "must not contain control characters")
    .optional(),
  quote_currencies: z.union([quoteList, z.record(z.string(), quoteList)]).optional(),
  exchange_adapters: z.record(z.string(), z.enum(["native", "ccxt"], { error: "must be native or ccxt" })).optional(),
  http: z
    .strictObject({
      /** false: no HTTP endpoint at all (no page, no API, no /health). */
      enabled: z.boolean().optional(),
      host: hostField.optional(),
      port: z.number().int().min(0).max(65535).optional(),
    })
    .optional(),
  api_base_urls: z.record(z.string(), baseUrl).optional(),
  coingecko_api_key: z.string().min(1).nullable().optional(),
  catch_up_limit: intervalSchema(1).optional(),
  settle_seconds: z.number().int("must be a whole number").min(0).max(3600).optional(),
  live_source: z.enum(["rest", "websocket"], { error: "must be rest or websocket" }).optional(),
  cluster: ClusterSchema.optional(),
});

type FileConfig = z.infer<typeof FileSchema>;

/** Every top-level field a config file may hold (config.example.yml documents each: a test checks). */
export const CONFIG_FIELDS: readonly string[] = Object.keys(FileSchema.shape);

export type Env = Record<string, string | undefined>;

/**
 * Parses YAML text (undefined: no file) into the effective config, or throws ConfigError listing every
 * problem. `identity` (host name and pid) makes the default `cluster.instance`.
 */
export function parseConfig(text: string | undefined, source: string, env: Env = {}, catalog: ExchangeCatalog = ccxtCatalog, identity: ProcessIdentity = currentProcess()): Config {
  const issues: ConfigIssue[] = [];
  let raw: unknown = {};
  if (text !== undefined) {
    if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(source, [{ path: "", message: `file is larger than ${MAX_CONFIG_BYTES} bytes` }]);
    if (text.includes("\u0000")) throw new ConfigError(source, [{ path: "", message: "file is binary, not YAML" }]);
    // Anchors and aliases are the way to a YAML bomb; a config has no use for them. Quoted text and
    // comments are blanked out first, keeping every offset, so the refusal can say where.
    const masked = text.replace(/(["'])(?:(?!\1).)*\1/g, (m) => m[0] + " ".repeat(m.length - 2) + m[0]).replace(/#.*$/gm, (m) => " ".repeat(m.length));
    const anchor = /(^|[\s[{,:-])[&*][^\s,\]}]+/m.exec(masked);
    if (anchor) {
      throw new ConfigError(source, [
        { path: "", message: `${textPlace(text, anchor.index + anchor[1]!.length)}: YAML anchors and aliases (& and *) are not allowed in a config file` },
      ]);
    }
    const scan = scanYaml(text);
    const duplicates = scan.duplicates.map((d) => {
      const where =
        d.at.line === d.first.line ? `on line ${d.first.line} (columns ${d.first.column} and ${d.at.column})` : `on line ${d.first.line} and again on line ${d.at.line}`;
      return { path: d.path, message: `duplicate key: given ${where}; keep one` };
    });
    try {
      raw = Bun.YAML.parse(text);
    } catch (error) {
      const detail = error instanceof Error ? error.message.replace(/^YAML Parse error: /, "") : String(error);
      let message: string;
      // The scan models a subset: its place is trusted when Bun also refuses the text up to that line.
      if (scan.error && !yamlParses(text, scan.error.line)) message = `line ${scan.error.line}, column ${scan.error.column}: not valid YAML: ${scan.error.message}`;
      else {
        const line = firstUnparsableLine(text);
        message = line === undefined ? `not valid YAML: ${detail}` : `line ${line}: not valid YAML: ${detail}`;
      }
      throw new ConfigError(source, [{ path: "", message }, ...duplicates]);
    }
    issues.push(...duplicates);
    if (raw === null || raw === undefined) throw new ConfigError(source, [{ path: "", message: "file is empty" }]);
    if (typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(source, [{ path: "", message: "must be a mapping of field: value" }]);
  }
  const parsed = FileSchema.safeParse(raw, { reportInput: true });
  let file: FileConfig = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) issues.push({ path: joinPath([...issue.path, key]), message: "unknown field" });
      } else {
        issues.push({ path: joinPath(issue.path), message: describeIssue(issue) });
      }
    }
  } else {
    file = parsed.data;
  }
  const both = <A extends keyof FileConfig, B extends keyof FileConfig>(a: A, b: B) => {
    if (file[a] !== undefined && file[b] !== undefined) issues.push({ path: String(b), message: `is an alias of ${String(a)}; give only one` });
    return file[a] !== undefined ? file[a] : file[b];
  };
  const intervalMinutes = both("bucketing_interval", "bucket_interval") as number | undefined;
  const coinsField = both("list_coins_to_poll", "list_coins_to_pull") as string[] | null | undefined;
  const saveToCsv = file.save_to_csv ?? true;
  const saveToDatabase = file.save_to_database ?? false;
  if (parsed.success && !saveToCsv && !saveToDatabase) {
    issues.push({ path: "save_to_csv", message: "save_to_csv and save_to_database are both false: nothing would be saved" });
  }

  const databaseConnection = env.DATABASE_URL || file.database_connection || undefined;
  let databaseUrl = databaseConnection;
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL !== "" && !/^[a-z][a-z0-9+]*:/i.test(env.DATABASE_URL)) {
    issues.push({ path: "DATABASE_URL (environment)", message: "is not a URL" });
  }
  // Parsed once, here: the database sink and `migrate` take the target as it is.
  let database: DatabaseTarget | undefined;
  if (databaseUrl) {
    try {
      database = parseDatabaseUrl(databaseUrl);
    } catch (error) {
      issues.push({ path: env.DATABASE_URL ? "DATABASE_URL (environment)" : "database_connection", message: error instanceof Error ? error.message : String(error) });
    }
  }
  if (saveToDatabase && !databaseUrl) {
    databaseUrl = DEFAULT_SQLITE_URL;
    database = parseDatabaseUrl(DEFAULT_SQLITE_URL);
  }
  const origin = env.DATABASE_URL ? "environment" : databaseConnection ? "file" : "default";
  const cluster = resolveCluster(file.cluster, saveToDatabase, { url: databaseUrl, target: database, origin }, identity, issues);
  // Streams by default; a cluster collects over REST (its instances share shard jobs, not streams).
  const liveSource: LiveSource = file.live_source ?? (cluster.enabled ? "rest" : "websocket");
  if (cluster.enabled && liveSource === "websocket") {
    issues.push({ path: "live_source", message: "cluster mode collects over REST (shard jobs shared by the instances); set live_source: rest or turn the cluster off" });
  }

  const exchanges = file.exchanges ? [...new Set(file.exchanges)] : [...NATIVE_EXCHANGE_IDS];
  // Named exchanges are checked even when another field failed, so every problem is listed at once.
  const named = parsed.success ? file.exchanges : z.array(exchangeName).safeParse((raw as { exchanges?: unknown }).exchanges).data;
  named?.forEach((id, i) => {
    const problem = exchangeProblem(id, catalog);
    if (problem) issues.push({ path: `exchanges[${i}]`, message: problem });
  });
  const exchangeAdapters: Record<ExchangeId, AdapterKind> = {};
  for (const id of exchanges) exchangeAdapters[id] = isNativeExchange(id) ? "native" : "ccxt";
  for (const [key, kind] of Object.entries(file.exchange_adapters ?? {})) {
    const id = key.toLowerCase();
    if (!exchanges.includes(id)) issues.push({ path: `exchange_adapters.${key}`, message: `"${key.slice(0, 40)}" is not in exchanges (${exchanges.join(", ")})` });
    else if (kind === "native" && !isNativeExchange(id))
      issues.push({ path: `exchange_adapters.${key}`, message: `no native adapter for ${id}: only ${NATIVE_EXCHANGE_IDS.join(", ")} have one` });
    else if (kind === "ccxt" && isNativeExchange(id) && !catalog.describe(id)?.hasOhlcv)
      issues.push({ path: `exchange_adapters.${key}`, message: `ccxt has no candles for ${id}` });
    else exchangeAdapters[id] = kind;
  }
  const apiNames = [...new Set([...NATIVE_EXCHANGE_IDS, ...exchanges, "coingecko"])];
  const apiBaseUrls: Record<ApiName, string> = { ...DEFAULT_BASE_URLS };
  for (const [key, url] of Object.entries(file.api_base_urls ?? {})) {
    const name = key.toLowerCase();
    if (apiNames.includes(name)) apiBaseUrls[name] = url;
    else issues.push({ path: `api_base_urls.${key}`, message: `not a configured exchange or coingecko (known: ${apiNames.join(", ")})` });
  }
  const quoteCurrencies = resolveQuotes(file.quote_currencies, exchanges, issues);
  for (const name of apiNames) {
    const override = env[`CRYPTOINTELLECT_${name.toUpperCase()}_URL`];
    if (override) {
      if (baseUrl.safeParse(override).success) apiBaseUrls[name] = override;
      else issues.push({ path: `CRYPTOINTELLECT_${name.toUpperCase()}_URL (environment)`, message: "must be an http(s) URL" });
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);

  return {
    bucketIntervalMinutes: intervalMinutes ?? 1,
    exchanges,
    exchangeAdapters,
    databaseUrl: saveToDatabase ? databaseUrl : undefined,
    ...(database ? { database } : {}),
    ...(databaseConnection ? { databaseConnection } : {}),
    coinsToPoll: coinsField === undefined ? ["Safemoon", "Neo", "Optimism"] : (coinsField ?? []),
    topN: file.n_coins_to_poll ?? 30,
    saveToCsv,
    saveToDatabase,
    csvDirectory: file.csv_directory ?? "./cryptointellect/csv",
    quoteCurrencies,
    http: { enabled: file.http?.enabled ?? true, host: file.http?.host ?? "0.0.0.0", port: file.http?.port ?? 8080 },
    apiBaseUrls,
    coingeckoApiKey: env.COINGECKO_API_KEY || file.coingecko_api_key || undefined,
    catchUpLimitMinutes: file.catch_up_limit ?? 1440,
    settleSeconds: file.settle_seconds ?? 5,
    liveSource,
    cluster,
  };
}

/** Why an exchange id cannot be collected, or undefined when it can (natively or through ccxt). */
function exchangeProblem(id: string, catalog: ExchangeCatalog): string | undefined {
  if (isNativeExchange(id)) return undefined;
  const info = catalog.describe(id);
  if (info?.hasOhlcv) return undefined;
  if (info) return `${id} is known to ccxt but serves no candles (no fetchOHLCV)`;
  const near = closestIds(id, [...new Set([...NATIVE_EXCHANGE_IDS, ...catalog.ids()])]);
  return `unknown exchange "${id}"${near.length > 0 ? ` (did you mean ${near.join(", ")}?)` : ""}; \`cryptointellect exchanges\` lists them all`;
}

/** Each exchange's quote preference: a list for all, or a map by id (with `default`), else built-in defaults. */
function resolveQuotes(given: string[] | Record<string, string[]> | undefined, exchanges: readonly string[], issues: ConfigIssue[]): Record<ExchangeId, string[]> {
  const upper = (list: readonly string[]) => list.map((q) => q.toUpperCase());
  const byId: Record<string, string[]> = {};
  let fallback: string[] | undefined;
  if (Array.isArray(given)) fallback = upper(given);
  else if (given) {
    for (const [key, list] of Object.entries(given)) {
      const id = key.toLowerCase();
      if (id === "default") fallback = upper(list);
      else if (exchanges.includes(id)) byId[id] = upper(list);
      else issues.push({ path: `quote_currencies.${key}`, message: `"${key.slice(0, 40)}" is not in exchanges (${exchanges.join(", ")}) nor default` });
    }
  }
  const out: Record<ExchangeId, string[]> = {};
  for (const id of exchanges) out[id] = byId[id] ?? fallback ?? [...builtInQuotes(id)];
  return out;
}

function builtInQuotes(id: string): readonly string[] {
  if (isNativeExchange(id)) return NATIVE_EXCHANGES[id].defaultQuotes ?? DEFAULT_QUOTES;
  return CCXT_USD_FIRST.has(id) ? ["USD", "USDT", "USDC"] : DEFAULT_QUOTES;
}

/** Where the config comes from: `-c FILE`, else `CRYPTOINTELLECT_CONFIG`, else none (defaults). */
export function configPath(flag: string | undefined, env: Env): string | undefined {
  return flag ?? (env.CRYPTOINTELLECT_CONFIG || undefined);
}

/** Reads and parses the config file (edge: touches the file system). */
export async function loadConfig(path: string | undefined, env: Env): Promise<Config> {
  if (path === undefined) return parseConfig(undefined, "defaults", env);
  try {
    if ((await stat(path)).isDirectory()) throw new ConfigError(path, [{ path: "", message: "is a directory, not a config file: give the YAML file inside it" }]);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = error instanceof Error && "code" in error ? String(error.code) : "error";
    if (code === "ENOENT" || code === "ENOTDIR") throw new ConfigError(path, [{ path: "", message: "file does not exist" }]);
    throw new ConfigError(path, [{ path: "", message: `cannot be read (${code})` }]);
  }
  const file = Bun.file(path);
  if (file.size > MAX_CONFIG_BYTES) throw new ConfigError(path, [{ path: "", message: `file is larger than ${MAX_CONFIG_BYTES} bytes` }]);
  let text: string;
  try {
    text = await file.text();
  } catch (error) {
    throw new ConfigError(path, [{ path: "", message: `cannot be read (${error instanceof Error && "code" in error ? String(error.code) : "error"})` }]);
  }
  return parseConfig(text, path, env);
}

/** Secrets in the config, for the logger to mask: the database password and the API key. */
export function configSecrets(config: Config): string[] {
  const secrets: string[] = [];
  if (config.coingeckoApiKey) secrets.push(config.coingeckoApiKey);
  for (const url of [config.databaseUrl, config.databaseConnection, config.cluster.databaseUrl]) if (url) secrets.push(...databaseSecrets(url));
  return [...new Set(secrets)];
}

/** The effective config as YAML, secrets redacted: what `cryptointellect config` prints. */
export function renderConfig(config: Config): string {
  const list = (items: readonly string[]) => (items.length === 0 ? " []" : "\n" + items.map((i) => `  - ${i}`).join("\n"));
  // With database mode off the connection is unused, but it is what the file says: show it.
  const shownConnection = config.databaseUrl ?? config.databaseConnection;
  const lines = [
    `bucketing_interval: ${formatInterval(config.bucketIntervalMinutes)}`,
    `exchanges:${list(config.exchanges.map((e) => (isNativeExchange(e) ? NATIVE_EXCHANGES[e].name : e)))}`,
    ...(Object.entries(config.exchangeAdapters).some(([id, kind]) => kind === "ccxt" && isNativeExchange(id))
      ? [
          `exchange_adapters:\n${Object.entries(config.exchangeAdapters)
            .map(([id, kind]) => `  ${id}: ${kind}`)
            .join("\n")}`,
        ]
      : []),
    `database_connection: ${shownConnection ? JSON.stringify(redactDatabaseUrl(shownConnection)) : "null"}`,
    `list_coins_to_poll:${list(config.coinsToPoll.map((c) => JSON.stringify(c)))}`,
    `n_coins_to_poll: ${config.topN}`,
    `save_to_csv: ${config.saveToCsv}`,
    `save_to_database: ${config.saveToDatabase}`,
    `csv_directory: ${JSON.stringify(config.csvDirectory)}`,
    `quote_currencies:\n${Object.entries(config.quoteCurrencies)
      .map(([id, quotes]) => `  ${id}: [${quotes.join(", ")}]`)
      .join("\n")}`,
    `http:\n  enabled: ${config.http.enabled}\n  host: ${JSON.stringify(config.http.host)}\n  port: ${config.http.port}`,
    `api_base_urls:\n${Object.entries(config.apiBaseUrls)
      .map(([n, url]) => `  ${n}: ${JSON.stringify(url)}`)
      .join("\n")}`,
    `coingecko_api_key: ${config.coingeckoApiKey ? '"***"' : "null"}`,
    `catch_up_limit: ${formatInterval(config.catchUpLimitMinutes)}`,
    `settle_seconds: ${config.settleSeconds}`,
    `live_source: ${config.liveSource}`,
    `cluster:\n  enabled: ${config.cluster.enabled}`,
    `  database_connection: ${config.cluster.databaseUrl ? JSON.stringify(redactDatabaseUrl(config.cluster.databaseUrl)) : "null"}`,
    `  instance: ${JSON.stringify(config.cluster.instance)}\n  ip_group: ${JSON.stringify(config.cluster.ipGroup)}`,
  ];
  return lines.join("\n") + "\n";
}

/** `line L, column C` of a character offset in `text`. */
function textPlace(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return `line ${before.split("\n").length}, column ${offset - lineStart + 1}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") {
    return `expected ${issue.expected}, got ${describeValue((issue as { input?: unknown }).input)}`;
  }
  return issue.message;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the text ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value} ${String(value).slice(0, 40)}`;
}
