/**
 * Configuration: the original YAML fields under their original names (and aliases), our extensions,
 * defaults when no file is given, and environment overrides. Parsing is pure; `loadConfig` reads.
 */
import { z } from "zod";
import type { ExchangeId } from "./domain/candle.ts";
import { formatInterval, parseInterval } from "./domain/interval.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { EXCHANGE_IDS } from "./exchanges/index.ts";
import { databaseSecrets, parseDatabaseUrl, redactDatabaseUrl } from "./db/url.ts";

export type ApiName = ExchangeId | "coingecko";
export const API_NAMES: readonly ApiName[] = ["binance", "kraken", "kucoin", "poloniex", "coingecko"];

export const DEFAULT_BASE_URLS: Record<ApiName, string> = {
  binance: "https://api.binance.com",
  kraken: "https://api.kraken.com",
  kucoin: "https://api.kucoin.com",
  poloniex: "https://api.poloniex.com",
  coingecko: "https://api.coingecko.com",
};

export const DEFAULT_SQLITE_URL = "sqlite:./cryptointellect/cryptointellect.db";

export interface Config {
  bucketIntervalMinutes: number;
  exchanges: ExchangeId[];
  /** Connection URL when database mode is on (the SQLite default filled in); undefined otherwise. */
  databaseUrl: string | undefined;
  coinsToPoll: string[];
  topN: number;
  saveToCsv: boolean;
  saveToDatabase: boolean;
  csvDirectory: string;
  quoteCurrencies: string[];
  http: { host: string; port: number };
  apiBaseUrls: Record<ApiName, string>;
  coingeckoApiKey: string | undefined;
  catchUpLimitMinutes: number;
  settleSeconds: number;
}

/** The largest config file we read: a real one is a few hundred bytes. */
export const MAX_CONFIG_BYTES = 256 * 1024;

const intervalText = (min: number) =>
  z.string().superRefine((text, ctx) => {
    const parsed = parseInterval(text);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.error });
    else if (parsed.minutes < min) ctx.addIssue({ code: "custom", message: `must be at least ${min} minute${min === 1 ? "" : "s"}` });
  });

// Coin names end up in logs and queries (never in file names, which use resolved tickers), but a
// name with control characters or path separators is a mistake or an attack either way.
const coinName = z
  .string()
  .min(1, "must not be empty")
  .max(64, "is longer than 64 characters")
  .regex(/^[\p{L}\p{N} ._()+-]+$/u, "may hold only letters, digits, spaces and . _ ( ) + -");

const exchangeName = z.string().transform((name, ctx) => {
  const id = name.trim().toLowerCase();
  if (!(EXCHANGE_IDS as string[]).includes(id)) {
    ctx.addIssue({ code: "custom", message: `unknown exchange "${name.slice(0, 40)}" (known: ${EXCHANGE_IDS.join(", ")})` });
    return z.NEVER;
  }
  return id as ExchangeId;
});

const baseUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const FileSchema = z.strictObject({
  bucketing_interval: intervalText(1).optional(),
  bucket_interval: intervalText(1).optional(),
  exchanges: z.array(exchangeName).min(1, "must name at least one exchange").optional(),
  database_connection: z.string().min(1).nullable().optional(),
  list_coins_to_poll: z.array(coinName).max(500).nullable().optional(),
  list_coins_to_pull: z.array(coinName).max(500).nullable().optional(),
  n_coins_to_poll: z.number().int("must be a whole number").min(0).max(100).optional(),
  save_to_csv: z.boolean().optional(),
  save_to_database: z.boolean().optional(),
  csv_directory: z.string().min(1).refine((p) => !/[\u0000-\u001f]/.test(p), "must not contain control characters").optional(),
  quote_currencies: z.array(z.string().regex(/^[A-Za-z0-9]{2,10}$/, "must be a ticker like USDT")).min(1).optional(),
  http: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: z.number().int().min(0).max(65535).optional(),
    })
    .optional(),
  api_base_urls: z.partialRecord(z.enum(API_NAMES as [ApiName, ...ApiName[]]), baseUrl).optional(),
  coingecko_api_key: z.string().min(1).nullable().optional(),
  catch_up_limit: intervalText(1).optional(),
  settle_seconds: z.number().int("must be a whole number").min(0).max(3600).optional(),
});

type FileConfig = z.infer<typeof FileSchema>;

export type Env = Record<string, string | undefined>;

/** Parses YAML text (undefined: no file) into the effective config, or throws ConfigError listing every problem. */
export function parseConfig(text: string | undefined, source: string, env: Env = {}): Config {
  const issues: ConfigIssue[] = [];
  let raw: unknown = {};
  if (text !== undefined) {
    if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(source, [{ path: "", message: `file is larger than ${MAX_CONFIG_BYTES} bytes` }]);
    if (text.includes("\u0000")) throw new ConfigError(source, [{ path: "", message: "file is binary, not YAML" }]);
    // Anchors and aliases are the way to a YAML bomb; a config has no use for them.
    if (/(^|[\s[{,:-])[&*][^\s,\]}]+/m.test(text.replace(/(["'])(?:(?!\1).)*\1/g, '""').replace(/#.*$/gm, ""))) {
      throw new ConfigError(source, [{ path: "", message: "YAML anchors and aliases (& and *) are not allowed in a config file" }]);
    }
    try {
      raw = Bun.YAML.parse(text);
    } catch (error) {
      throw new ConfigError(source, [{ path: "", message: `not valid YAML: ${error instanceof Error ? error.message.replace(/^YAML Parse error: /, "") : error}` }]);
    }
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
  const intervalField = both("bucketing_interval", "bucket_interval") as string | undefined;
  const coinsField = both("list_coins_to_poll", "list_coins_to_pull") as string[] | null | undefined;
  const saveToCsv = file.save_to_csv ?? true;
  const saveToDatabase = file.save_to_database ?? false;
  if (parsed.success && !saveToCsv && !saveToDatabase) {
    issues.push({ path: "save_to_csv", message: "save_to_csv and save_to_database are both false: nothing would be saved" });
  }

  let databaseUrl = env.DATABASE_URL || file.database_connection || undefined;
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL !== "" && !/^[a-z][a-z0-9+]*:/i.test(env.DATABASE_URL)) {
    issues.push({ path: "DATABASE_URL (environment)", message: "is not a URL" });
  }
  if (databaseUrl) {
    try {
      parseDatabaseUrl(databaseUrl);
    } catch (error) {
      issues.push({ path: env.DATABASE_URL ? "DATABASE_URL (environment)" : "database_connection", message: error instanceof Error ? error.message : String(error) });
    }
  }
  if (saveToDatabase && !databaseUrl) databaseUrl = DEFAULT_SQLITE_URL;

  const apiBaseUrls = { ...DEFAULT_BASE_URLS, ...(file.api_base_urls ?? {}) } as Record<ApiName, string>;
  for (const name of API_NAMES) {
    const override = env[`CRYPTOINTELLECT_${name.toUpperCase()}_URL`];
    if (override) {
      if (baseUrl.safeParse(override).success) apiBaseUrls[name] = override;
      else issues.push({ path: `CRYPTOINTELLECT_${name.toUpperCase()}_URL (environment)`, message: "must be an http(s) URL" });
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);

  const interval = intervalField ? (parseInterval(intervalField) as { minutes: number }).minutes : 1;
  return {
    bucketIntervalMinutes: interval,
    exchanges: file.exchanges ? [...new Set(file.exchanges)] : [...EXCHANGE_IDS],
    databaseUrl: saveToDatabase ? databaseUrl : undefined,
    coinsToPoll: coinsField === undefined ? ["Safemoon", "Neo", "Optimism"] : (coinsField ?? []),
    topN: file.n_coins_to_poll ?? 30,
    saveToCsv,
    saveToDatabase,
    csvDirectory: file.csv_directory ?? "./cryptointellect/csv",
    quoteCurrencies: (file.quote_currencies ?? ["USDT", "USD"]).map((q) => q.toUpperCase()),
    http: { host: file.http?.host ?? "0.0.0.0", port: file.http?.port ?? 8080 },
    apiBaseUrls,
    coingeckoApiKey: env.COINGECKO_API_KEY || file.coingecko_api_key || undefined,
    catchUpLimitMinutes: file.catch_up_limit ? (parseInterval(file.catch_up_limit) as { minutes: number }).minutes : 1440,
    settleSeconds: file.settle_seconds ?? 5,
  };
}

/** Where the config comes from: `-c FILE`, else `CRYPTOINTELLECT_CONFIG`, else none (defaults). */
export function configPath(flag: string | undefined, env: Env): string | undefined {
  return flag ?? (env.CRYPTOINTELLECT_CONFIG || undefined);
}

/** Reads and parses the config file (edge: touches the file system). */
export async function loadConfig(path: string | undefined, env: Env): Promise<Config> {
  if (path === undefined) return parseConfig(undefined, "defaults", env);
  const file = Bun.file(path);
  if (!(await file.exists())) throw new ConfigError(path, [{ path: "", message: "file does not exist" }]);
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
  if (config.databaseUrl) secrets.push(...databaseSecrets(config.databaseUrl));
  return [...new Set(secrets)];
}

/** The effective config as YAML, secrets redacted: what `cryptointellect config` prints. */
export function renderConfig(config: Config): string {
  const list = (items: readonly string[]) => (items.length === 0 ? " []" : "\n" + items.map((i) => `  - ${i}`).join("\n"));
  const lines = [
    `bucketing_interval: ${formatInterval(config.bucketIntervalMinutes)}`,
    `exchanges:${list(config.exchanges.map((e) => e[0]!.toUpperCase() + e.slice(1)))}`,
    `database_connection: ${config.databaseUrl ? JSON.stringify(redactDatabaseUrl(config.databaseUrl)) : "null"}`,
    `list_coins_to_poll:${list(config.coinsToPoll.map((c) => JSON.stringify(c)))}`,
    `n_coins_to_poll: ${config.topN}`,
    `save_to_csv: ${config.saveToCsv}`,
    `save_to_database: ${config.saveToDatabase}`,
    `csv_directory: ${JSON.stringify(config.csvDirectory)}`,
    `quote_currencies:${list(config.quoteCurrencies)}`,
    `http:\n  host: ${JSON.stringify(config.http.host)}\n  port: ${config.http.port}`,
    `api_base_urls:\n${API_NAMES.map((n) => `  ${n}: ${JSON.stringify(config.apiBaseUrls[n])}`).join("\n")}`,
    `coingecko_api_key: ${config.coingeckoApiKey ? '"***"' : "null"}`,
    `catch_up_limit: ${formatInterval(config.catchUpLimitMinutes)}`,
    `settle_seconds: ${config.settleSeconds}`,
  ];
  return lines.join("\n") + "\n";
}


function joinPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
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
