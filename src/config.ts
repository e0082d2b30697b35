/**
 * Configuration: the original YAML fields under their original names (and aliases), our extensions,
 * defaults when no file is given, and environment overrides. Parsing is pure; `loadConfig` reads.
 */
import { stat } from "node:fs/promises";
import { isIP } from "node:net";
import { z } from "zod";
import type { ExchangeId } from "./domain/candle.ts";
import { formatInterval, type IntervalParse, parseInterval } from "./domain/interval.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { ccxtCatalog, closestIds, type ExchangeCatalog } from "./exchanges/ccxt-catalog.ts";
import { isNativeExchange, NATIVE_EXCHANGE_IDS, NATIVE_EXCHANGES } from "./exchanges/index.ts";
import { databaseSecrets, parseDatabaseUrl, redactDatabaseUrl } from "./db/url.ts";

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
  /** The connection the file or `DATABASE_URL` names, even with database mode off: what `config` shows. */
  databaseConnection?: string;
  coinsToPoll: string[];
  topN: number;
  saveToCsv: boolean;
  saveToDatabase: boolean;
  csvDirectory: string;
  /** The quote preference of each configured exchange. */
  quoteCurrencies: Record<ExchangeId, string[]>;
  http: { host: string; port: number };
  /** Base URL per exchange id and `coingecko`; a ccxt exchange without one uses ccxt's own URLs. */
  apiBaseUrls: Record<ApiName, string>;
  coingeckoApiKey: string | undefined;
  catchUpLimitMinutes: number;
  settleSeconds: number;
}

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

const baseUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const FileSchema = z.strictObject({
  bucketing_interval: intervalSchema(1).optional(),
  bucket_interval: intervalSchema(1).optional(),
  exchanges: z.array(exchangeName).min(1, "must name at least one exchange").optional(),
  database_connection: z.string().min(1).nullable().optional(),
  list_coins_to_poll: z.array(coinName).max(500).nullable().optional(),
  list_coins_to_pull: z.array(coinName).max(500).nullable().optional(),
  n_coins_to_poll: z.number().int("must be a whole number").min(0).max(100).optional(),
  save_to_csv: z.boolean().optional(),
  save_to_database: z.boolean().optional(),
  csv_directory: z.string().min(1).refine((p) => !/[\u0000-\u001f]/.test(p), "must not contain control characters").optional(),
  quote_currencies: z.union([quoteList, z.record(z.string(), quoteList)]).optional(),
  exchange_adapters: z.record(z.string(), z.enum(["native", "ccxt"], { error: "must be native or ccxt" })).optional(),
  http: z
    .strictObject({
      host: hostField.optional(),
      port: z.number().int().min(0).max(65535).optional(),
    })
    .optional(),
  api_base_urls: z.record(z.string(), baseUrl).optional(),
  coingecko_api_key: z.string().min(1).nullable().optional(),
  catch_up_limit: intervalSchema(1).optional(),
  settle_seconds: z.number().int("must be a whole number").min(0).max(3600).optional(),
});

type FileConfig = z.infer<typeof FileSchema>;

/** Every top-level field a config file may hold (config.example.yml documents each: a test checks). */
export const CONFIG_FIELDS: readonly string[] = Object.keys(FileSchema.shape);

export type Env = Record<string, string | undefined>;

/** Parses YAML text (undefined: no file) into the effective config, or throws ConfigError listing every problem. */
export function parseConfig(text: string | undefined, source: string, env: Env = {}, catalog: ExchangeCatalog = ccxtCatalog): Config {
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
      throw new ConfigError(source, [{ path: "", message: `${textPlace(text, anchor.index + anchor[1]!.length)}: YAML anchors and aliases (& and *) are not allowed in a config file` }]);
    }
    const scan = scanYaml(text);
    const duplicates = scan.duplicates.map((d) => {
      const where = d.at.line === d.first.line ? `on line ${d.first.line} (columns ${d.first.column} and ${d.at.column})` : `on line ${d.first.line} and again on line ${d.at.line}`;
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
  if (databaseUrl) {
    try {
      parseDatabaseUrl(databaseUrl);
    } catch (error) {
      issues.push({ path: env.DATABASE_URL ? "DATABASE_URL (environment)" : "database_connection", message: error instanceof Error ? error.message : String(error) });
    }
  }
  if (saveToDatabase && !databaseUrl) databaseUrl = DEFAULT_SQLITE_URL;

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
    else if (kind === "native" && !isNativeExchange(id)) issues.push({ path: `exchange_adapters.${key}`, message: `no native adapter for ${id}: only ${NATIVE_EXCHANGE_IDS.join(", ")} have one` });
    else if (kind === "ccxt" && isNativeExchange(id) && !catalog.describe(id)?.hasOhlcv) issues.push({ path: `exchange_adapters.${key}`, message: `ccxt has no candles for ${id}` });
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
    ...(databaseConnection ? { databaseConnection } : {}),
    coinsToPoll: coinsField === undefined ? ["Safemoon", "Neo", "Optimism"] : (coinsField ?? []),
    topN: file.n_coins_to_poll ?? 30,
    saveToCsv,
    saveToDatabase,
    csvDirectory: file.csv_directory ?? "./cryptointellect/csv",
    quoteCurrencies,
    http: { host: file.http?.host ?? "0.0.0.0", port: file.http?.port ?? 8080 },
    apiBaseUrls,
    coingeckoApiKey: env.COINGECKO_API_KEY || file.coingecko_api_key || undefined,
    catchUpLimitMinutes: file.catch_up_limit ?? 1440,
    settleSeconds: file.settle_seconds ?? 5,
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
  for (const url of [config.databaseUrl, config.databaseConnection]) if (url) secrets.push(...databaseSecrets(url));
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
      ? [`exchange_adapters:\n${Object.entries(config.exchangeAdapters).map(([id, kind]) => `  ${id}: ${kind}`).join("\n")}`]
      : []),
    `database_connection: ${shownConnection ? JSON.stringify(redactDatabaseUrl(shownConnection)) : "null"}`,
    `list_coins_to_poll:${list(config.coinsToPoll.map((c) => JSON.stringify(c)))}`,
    `n_coins_to_poll: ${config.topN}`,
    `save_to_csv: ${config.saveToCsv}`,
    `save_to_database: ${config.saveToDatabase}`,
    `csv_directory: ${JSON.stringify(config.csvDirectory)}`,
    `quote_currencies:\n${Object.entries(config.quoteCurrencies).map(([id, quotes]) => `  ${id}: [${quotes.join(", ")}]`).join("\n")}`,
    `http:\n  host: ${JSON.stringify(config.http.host)}\n  port: ${config.http.port}`,
    `api_base_urls:\n${Object.entries(config.apiBaseUrls).map(([n, url]) => `  ${n}: ${JSON.stringify(url)}`).join("\n")}`,
    `coingecko_api_key: ${config.coingeckoApiKey ? '"***"' : "null"}`,
    `catch_up_limit: ${formatInterval(config.catchUpLimitMinutes)}`,
    `settle_seconds: ${config.settleSeconds}`,
  ];
  return lines.join("\n") + "\n";
}


/** `line L, column C` of a character offset in `text`. */
function textPlace(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return `line ${before.split("\n").length}, column ${offset - lineStart + 1}`;
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

// ---------------------------------------------------------------------------------------------
// A structural pre-scan of the YAML. Bun's parser says neither where a file goes wrong nor that a
// key is given twice (the last one silently wins), so this walks the subset a config uses (block
// mappings and lists, flow lists and maps, quoted and plain scalars, block scalars, comments) for
// positions only. Values still come from Bun: the scan's syntax verdict is used only to say where
// Bun's refusal lies, never to refuse what Bun accepts.

/** A place in the file, 1-based. */
interface YamlPlace {
  line: number;
  column: number;
}

interface YamlScan {
  /** The first syntax problem met (the scan stops there). */
  error?: YamlPlace & { message: string };
  /** Keys given more than once in one mapping: the field path, the line of the repeat and of the first. */
  duplicates: { path: string; at: YamlPlace; first: YamlPlace }[];
}

class YamlScanStop extends Error {}

/** A config nests three levels; deeper is a mistake or an attack, and the scan recurses per level. */
const MAX_YAML_DEPTH = 64;

function scanYaml(input: string): YamlScan {
  const src = input.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const duplicates: YamlScan["duplicates"] = [];
  let error: YamlScan["error"];
  const lineStarts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") lineStarts.push(i + 1);
  const place = (pos: number): YamlPlace => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: pos - lineStarts[lo]! + 1 };
  };
  const at = (pos: number) => {
    const p = place(pos);
    return `line ${p.line}, column ${p.column}`;
  };
  const fail = (pos: number, message: string): never => {
    error = { ...place(pos), message };
    throw new YamlScanStop();
  };

  const blank = (c: string | undefined) => c === undefined || c === " " || c === "\t" || c === "\n";
  const isFlowIndicator = (c: string | undefined) => c !== undefined && ",[]{}".includes(c);
  const lineEnd = (p: number) => {
    const e = src.indexOf("\n", p);
    return e < 0 ? src.length : e;
  };
  const nextLine = (p: number) => lineEnd(p) + 1;
  const lineStart = (p: number) => src.lastIndexOf("\n", p - 1) + 1;
  const indentAt = (ls: number) => {
    let i = ls;
    while (src[i] === " ") i++;
    return i - ls;
  };
  const isDocMarker = (ls: number) => (src.startsWith("---", ls) || src.startsWith("...", ls)) && blank(src[ls + 3]);
  const isSeqItem = (p: number) => src[p] === "-" && blank(src[p + 1]);

  /** The start of the first line from `ls` on holding more than spaces and a comment, or -1. */
  const contentLine = (ls: number): number => {
    for (let p = ls; p < src.length; p = nextLine(p)) {
      let i = p;
      while (src[i] === " " || src[i] === "\t") i++;
      if (i >= src.length || src[i] === "\n" || src[i] === "#") continue;
      for (let k = p; k < i; k++) if (src[k] === "\t") fail(k, "a tab in the indentation: YAML indents with spaces only");
      return p;
    }
    return -1;
  };

  /** After a complete value ending at `p`, only spaces and a comment may follow on its line. */
  const restOfLine = (p: number, after: string): number => {
    let i = p;
    while (src[i] === " " || src[i] === "\t") i++;
    if (i < src.length && src[i] !== "\n" && !(src[i] === "#" && i > p)) fail(i, `unexpected text after ${after}`);
    return nextLine(i);
  };

  const keyText = (from: number, to: number): string => {
    const raw = src.slice(from, to).trim();
    if (raw.startsWith('"')) {
      try {
        return String(JSON.parse(raw));
      } catch {
        return raw.slice(1, -1);
      }
    }
    if (raw.startsWith("'")) return raw.slice(1, -1).replace(/''/g, "'");
    return raw;
  };

  const record = (keys: Map<string, YamlPlace>, key: string, pos: number, path: readonly PropertyKey[]) => {
    const first = keys.get(key);
    if (first === undefined) keys.set(key, place(pos));
    else duplicates.push({ path: joinPath([...path, key]), at: place(pos), first });
  };

  /** A quoted scalar opening at `q`; a line it runs on to must be indented more than `n`. Returns the position after it. */
  const quoted = (q: number, n: number): number => {
    const mark = src[q]!;
    for (let i = q + 1; i < src.length; i++) {
      const c = src[i];
      if (mark === '"' && c === "\\") {
        i++;
      } else if (c === mark) {
        if (mark === "'" && src[i + 1] === "'") i++;
        else return i + 1;
      } else if (c === "\n") {
        const ind = indentAt(i + 1);
        if (!blank(src[i + 1 + ind]) && ind <= n) fail(q, `the ${mark} opened here is not closed on its line`);
      }
    }
    return fail(q, `the ${mark} opened here is never closed`);
  };

  /** Where a block mapping key starting at `p` has its `:`, or -1 when the line holds no key there. */
  const keyColon = (p: number): number => {
    const c = src[p];
    if (c === undefined || c === "[" || c === "{" || c === "#" || isSeqItem(p)) return -1;
    let i = p;
    if (c === '"' || c === "'") {
      for (i++; i < src.length && src[i] !== "\n"; i++) {
        if (c === '"' && src[i] === "\\") i++;
        else if (src[i] === c) {
          if (c === "'" && src[i + 1] === "'") i++;
          else break;
        }
      }
      if (src[i] !== c) return -1;
      for (i++; src[i] === " " || src[i] === "\t"; i++);
      return src[i] === ":" && blank(src[i + 1]) ? i : -1;
    }
    for (; i < src.length && src[i] !== "\n"; i++) {
      if (src[i] === "#" && i > p && blank(src[i - 1])) return -1;
      if (src[i] === ":" && blank(src[i + 1])) return i;
    }
    return -1;
  };

  /** Skips spaces, line breaks and comments inside the flow collection opened at `open`. */
  const flowSpace = (i: number, n: number, open: number): number => {
    for (;;) {
      const c = src[i];
      if (c === " " || c === "\t") i++;
      else if (c === "#" && blank(src[i - 1])) i = lineEnd(i);
      else if (c === "\n") {
        const ind = indentAt(i + 1);
        const d = src[i + 1 + ind];
        // A line it runs on to is indented more than its key; one starting with , : ] or } may sit lower.
        if (!blank(d) && !"#,:]}".includes(d!) && ind <= n) {
          fail(open, `the ${src[open]} opened here is not closed before line ${place(i + 1).line} (a list or map that goes on to more lines must indent them)`);
        }
        i++;
      } else return i;
    }
  };

  /** A plain scalar inside a flow collection; returns the position after its last non-space character. */
  const flowPlain = (i: number, n: number, open: number): number => {
    if ("@`%#".includes(src[i]!)) fail(i, `a value cannot start with ${src[i]}: quote it`);
    if (isSeqItem(i)) fail(i, "a block list item (- ) inside brackets: write [a, b] without dashes");
    let end = i;
    for (;;) {
      const c = src[i];
      if (c === undefined || isFlowIndicator(c)) return end;
      if (c === ":" && (blank(src[i + 1]) || isFlowIndicator(src[i + 1]))) return end;
      if (c === "#" && blank(src[i - 1])) return end;
      if (c === "\n") {
        const j = flowSpace(i, n, open);
        if (j >= src.length || ",[]{}:#".includes(src[j]!)) return end;
        i = j;
        continue;
      }
      if (c !== " " && c !== "\t") end = i + 1;
      i++;
    }
  };

  const flowNode = (i: number, n: number, open: number, path: readonly PropertyKey[]): number => {
    const c = src[i];
    if (c === "[" || c === "{") return flow(i, n, path);
    if (c === '"' || c === "'") return quoted(i, n);
    return flowPlain(i, n, open);
  };

  /** A flow list or map opening at `open`, inside a block indented `n`; returns the position after its closing bracket. */
  const flow = (open: number, n: number, path: readonly PropertyKey[]): number => {
    if (path.length > MAX_YAML_DEPTH) fail(open, `nested more than ${MAX_YAML_DEPTH} levels deep`);
    const close = src[open] === "[" ? "]" : "}";
    const keys = close === "}" ? new Map<string, YamlPlace>() : undefined;
    let i = open + 1;
    for (let index = 0; ; index++) {
      i = flowSpace(i, n, open);
      let c = src[i];
      if (c === undefined) return fail(open, `the ${src[open]} opened here is never closed`);
      if (c === "]" || c === "}") {
        if (c !== close) fail(i, `${c} does not close the ${src[open]} opened at ${at(open)}`);
        return i + 1;
      }
      if (c === ",") fail(i, "an empty entry: a comma with nothing before it");
      const start = i;
      const end = flowNode(i, n, open, [...path, index]);
      i = flowSpace(end, n, open);
      if (src[i] === ":") {
        const key = keyText(start, end);
        if (keys) record(keys, key, start, path);
        i = flowSpace(i + 1, n, open);
        if (src[i] !== undefined && src[i] !== "," && src[i] !== "]" && src[i] !== "}") i = flowSpace(flowNode(i, n, open, [...path, keys ? key : index]), n, open);
      } else if (keys) {
        record(keys, keyText(start, end), start, path);
      }
      c = src[i];
      if (c === ",") i++;
      else if (c === undefined) return fail(open, `the ${src[open]} opened here is never closed`);
      else if (c !== "]" && c !== "}") fail(i, `expected , or ${close} here`);
    }
  };

  /** Lines of a `|` or `>` block scalar: blank or indented more than `n`. */
  const blockScalar = (p: number, n: number): number => {
    let i = p + 1;
    while (/[-+0-9]/.test(src[i] ?? "")) i++;
    let ls = restOfLine(i, `the ${src[p]} of a block text`);
    while (ls < src.length) {
      const ind = indentAt(ls);
      if (!blank(src[ls + ind]) && ind <= n) break;
      ls = nextLine(ls);
    }
    return contentLine(ls);
  };

  /** A value that starts on a line of its own or after `key: ` / `- `, in a block indented `n`. Returns the next content line, or -1. */
  const inlineValue = (p: number, n: number, path: readonly PropertyKey[]): number => {
    const c = src[p]!;
    if (c === "[" || c === "{") return contentLine(restOfLine(flow(p, n, path), `the closing ${c === "[" ? "]" : "}"}`));
    if (c === '"' || c === "'") return contentLine(restOfLine(quoted(p, n), "the closing quote"));
    if (c === "|" || c === ">") return blockScalar(p, n);
    if (c === "]" || c === "}") fail(p, `a ${c} with no ${c === "]" ? "[" : "{"} before it`);
    if (c === "@" || c === "`" || c === "%") fail(p, `a value cannot start with ${c}: quote it`);
    if (isSeqItem(p)) fail(p, "a list cannot start on its key's line: put its items on the lines below, or write [a, b]");
    // A plain value: the rest of the line, and the more indented lines after it (folded into one).
    const firstLine = place(p).line;
    for (let from = p; ; ) {
      let comment = false;
      for (let i = from; i < src.length && src[i] !== "\n" && !comment; i++) {
        comment = src[i] === "#" && blank(src[i - 1]);
        if (src[i] === ":" && blank(src[i + 1])) {
          if (from === p) fail(i, '": " inside a value: quote the value, or put a nested mapping on the lines below its key');
          fail(from, `unexpected indentation: line ${firstLine} already has its value, so this line cannot sit under it`);
        }
      }
      // A comment ends the value: a more indented line after it is out of place (the caller says so).
      if (comment) return contentLine(nextLine(from));
      let ls = nextLine(from);
      while (ls < src.length && /^[ \t]*(\n|$)/.test(src.slice(ls, lineEnd(ls) + 1))) ls = nextLine(ls);
      if (ls >= src.length) return -1;
      const ind = indentAt(ls);
      if (ind <= n || src[ls + ind] === "#") return contentLine(ls);
      from = ls + ind;
    }
  };

  /** A block node whose first character is at `p`, column `n`, inside a block indented `parent`. */
  const blockNode = (p: number, n: number, parent: number, path: readonly PropertyKey[]): number => {
    if (path.length > MAX_YAML_DEPTH) fail(p, `nested more than ${MAX_YAML_DEPTH} levels deep`);
    if (isSeqItem(p)) return blockSeq(p, n, path);
    if (keyColon(p) >= 0) return blockMap(p, n, path);
    return inlineValue(p, parent, path);
  };

  const misplaced = (ls: number, ind: number) => fail(ls + ind, `unexpected indentation (${ind} space${ind === 1 ? "" : "s"}): this line lines up with no key or list item above it`);

  const blockMap = (first: number, n: number, path: readonly PropertyKey[]): number => {
    const keys = new Map<string, YamlPlace>();
    for (let p = first; ; ) {
      const colon = keyColon(p);
      if (colon < 0) {
        if (isSeqItem(p)) fail(p, 'a list item where a key was expected: indent it under its key');
        fail(p, `expected a key and ": " here, like the key on line ${place(first).line}`);
      }
      if ("]}@`%".includes(src[p]!)) fail(p, `a key cannot start with ${src[p]}: quote it`);
      const key = keyText(p, colon);
      record(keys, key, p, path);
      const keyPath = [...path, key];
      let q = colon + 1;
      while (src[q] === " " || src[q] === "\t") q++;
      let next: number;
      if (q >= src.length || src[q] === "\n" || src[q] === "#") {
        const ls = contentLine(nextLine(q));
        const ind = ls < 0 ? 0 : indentAt(ls);
        if (ls < 0 || isDocMarker(ls)) next = ls;
        else if (ind > n) next = blockNode(ls + ind, ind, n, keyPath);
        else if (ind === n && isSeqItem(ls + n)) next = blockSeq(ls + n, n, keyPath);
        else next = ls;
      } else {
        next = inlineValue(q, n, keyPath);
      }
      if (next < 0 || isDocMarker(next)) return next;
      const ind = indentAt(next);
      if (ind < n) return next;
      if (ind > n) misplaced(next, ind);
      p = next + n;
    }
  };

  const blockSeq = (first: number, n: number, path: readonly PropertyKey[]): number => {
    for (let p = first, index = 0; ; index++) {
      const itemPath = [...path, index];
      let q = p + 1;
      while (src[q] === " ") q++;
      let next: number;
      if (q >= src.length || src[q] === "\n" || src[q] === "#" || src[q] === "\t") {
        const ls = contentLine(nextLine(q));
        const ind = ls < 0 ? 0 : indentAt(ls);
        next = ls >= 0 && !isDocMarker(ls) && ind > n ? blockNode(ls + ind, ind, n, itemPath) : ls;
      } else {
        next = blockNode(q, q - lineStart(q), n, itemPath);
      }
      if (next < 0 || isDocMarker(next)) return next;
      const ind = indentAt(next);
      if (ind < n) return next;
      if (ind > n) misplaced(next, ind);
      if (!isSeqItem(next + n)) return next;
      p = next + n;
    }
  };

  try {
    let ls = contentLine(0);
    while (ls >= 0 && src[ls] === "%") ls = contentLine(nextLine(ls));
    if (ls >= 0 && src.startsWith("---", ls) && blank(src[ls + 3])) {
      const rest = src.slice(ls + 3, lineEnd(ls)).trim();
      // A document that starts on its `---` line: rare in a config; leave it to Bun.
      if (rest !== "" && !rest.startsWith("#")) return { duplicates };
      ls = contentLine(nextLine(ls));
    }
    if (ls >= 0 && !isDocMarker(ls)) {
      const top = indentAt(ls);
      const next = blockNode(ls + top, top, -1, []);
      // What follows the top node: another document (Bun's answer then is not a mapping), or a stray line.
      if (next >= 0 && !isDocMarker(next)) {
        const ind = indentAt(next);
        if (ind === top && isSeqItem(ls + top)) fail(next + ind, "expected another list item (- …) here, like the lines above");
        misplaced(next, ind);
      }
    }
  } catch (stop) {
    if (!(stop instanceof YamlScanStop)) throw stop;
  }
  return { ...(error ? { error } : {}), duplicates };
}

/** Whether Bun parses the first `lineCount` lines of `text`. */
function yamlParses(text: string, lineCount: number): boolean {
  try {
    Bun.YAML.parse(text.split("\n").slice(0, lineCount).join("\n"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Where Bun's parser first refuses the text, when the scan could not say: the first line whose
 * prefix no longer parses (a bisection, so a large file costs a few parses).
 */
function firstUnparsableLine(text: string): number | undefined {
  let lo = 0;
  let hi = text.split("\n").length;
  if (yamlParses(text, hi)) return undefined;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (yamlParses(text, mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}
