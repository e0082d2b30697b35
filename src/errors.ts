/**
 * The error hierarchy. Messages say what failed and where (`binance GET /api/v3/klines BTCUSDT: 429`),
 * never headers, keys, passwords or whole bodies.
 */
export type ErrorCode = "CONFIG" | "USAGE" | "EXCHANGE_HTTP" | "EXCHANGE_API" | "EXCHANGE_SCHEMA" | "RATE_LIMITED" | "BANNED" | "UNKNOWN_SYMBOL" | "SINK" | "DATABASE";

export class CryptoIntellectError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem in a config file, with its field path (`exchanges[2]`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends CryptoIntellectError {
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    super("CONFIG", `${source}: ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n${issues.map((i) => `  - ${i.path || "(file)"}: ${i.message}`).join("\n")}`);
    this.issues = issues;
  }
}

export class UsageError extends CryptoIntellectError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** A response status that is not success (retryable or not, decided by the retry policy). */
export class ExchangeHttpError extends CryptoIntellectError {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(where: string, status: number, retryAfterMs?: number) {
    super("EXCHANGE_HTTP", `${where}: HTTP ${status}`);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** An error the exchange reported in its body (Kraken's `error` array, KuCoin's code, Poloniex's `{code,message}`). */
export class ExchangeApiError extends CryptoIntellectError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(where: string, detail: string, options: { retryable: boolean; retryAfterMs?: number }) {
    super("EXCHANGE_API", `${where}: ${detail}`);
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The body did not match the wire schema: schema drift or a hostile response. Not retried. */
export class ExchangeSchemaError extends CryptoIntellectError {
  constructor(where: string, detail: string) {
    super("EXCHANGE_SCHEMA", `${where}: response does not match the expected format: ${detail}`);
  }
}

/** The exchange refused for rate limits even after waiting as told. */
export class RateLimitedError extends CryptoIntellectError {
  readonly retryAfterMs: number | undefined;
  constructor(where: string, retryAfterMs?: number) {
    super("RATE_LIMITED", `${where}: rate limited`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Binance's 418: the IP is banned until `untilMs`. Nothing is sent to that exchange before then. */
export class BannedError extends CryptoIntellectError {
  readonly untilMs: number;
  constructor(where: string, untilMs: number) {
    super("BANNED", `${where}: IP banned until ${new Date(untilMs).toISOString()}`);
    this.untilMs = untilMs;
  }
}

export class UnknownSymbolError extends CryptoIntellectError {
  constructor(where: string) {
    super("UNKNOWN_SYMBOL", `${where}: unknown symbol`);
  }
}

export class SinkError extends CryptoIntellectError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SINK", message, options);
  }
}

export class DatabaseError extends CryptoIntellectError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DATABASE", message, options);
  }
}

/** A short text for logs: the message of our errors; the name and message of others. Never a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error instanceof CryptoIntellectError ? error.message : `${error.name}: ${error.message}`;
  return String(error);
}
