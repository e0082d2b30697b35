/** Command-line parsing, pure: argv in, a command out, or a UsageError naming what is wrong. */
import { UsageError } from "../errors.ts";
import { NATIVE_EXCHANGES } from "../exchanges/index.ts";

export type Command =
  | { name: "run" | "once" | "config" | "migrate"; configFlag?: string }
  | { name: "exchanges"; nativeOnly: boolean }
  | { name: "backfill"; configFlag?: string; args: string[] }
  | { name: "export"; configFlag?: string; args: string[] }
  | { name: "cluster"; configFlag?: string; args: string[] }
  | { name: "simulate"; args: string[] }
  | { name: "healthcheck"; url?: string; configFlag?: string; timeoutMs: number }
  | { name: "help"; topic?: string }
  | { name: "version" };

export const COMMANDS = ["run", "once", "backfill", "export", "migrate", "config", "exchanges", "cluster", "simulate", "healthcheck"] as const;

const NATIVE_NAMES = Object.values(NATIVE_EXCHANGES).map((a) => a.name);

export const USAGE = `cryptointellect — OHLCV candles from ${NATIVE_NAMES.slice(0, -1).join(", ")} and ${NATIVE_NAMES.at(-1)}, and ~90 more exchanges through ccxt, to CSV and SQL

Usage:
  cryptointellect [run]       [-c FILE]   the service: scheduler + HTTP endpoint (the default command)
  cryptointellect once        [-c FILE]   one collection cycle now (including catch-up), then exit
  cryptointellect backfill    --from DATE [--to DATE] [--exchange a,b] [--coin BTC,ETH] [-c FILE]
  cryptointellect export      --format csv|parquet --exchange ID --coin TICKER [--interval 5m]
                              [--from DATE] [--to DATE] [--out FILE] [-c FILE]   saved candles of one series
  cryptointellect migrate     [-c FILE]   create the database if needed and apply migrations
  cryptointellect config      [-c FILE]   validate; print the effective config with secrets redacted
  cryptointellect exchanges   [--native]  list the exchanges: id, name, native or ccxt, intervals, page limit
  cryptointellect cluster status [--json] [-c FILE]  instances, shard jobs and lag of a cluster
  cryptointellect simulate    [--port N]  the built-in exchange simulator
  cryptointellect healthcheck [--url U]   probe /health; exit 0 when healthy
  cryptointellect --help | --version

Options:
  -c, --config FILE   YAML config (also CRYPTOINTELLECT_CONFIG); without one, the defaults apply
  -h, --help          help for a command: cryptointellect once --help

Environment:
  CRYPTOINTELLECT_CONFIG      config file path when -c is not given
  DATABASE_URL                overrides database_connection
  CRYPTOINTELLECT_<NAME>_URL  base URL of a configured exchange (BINANCE, OKX, …) or COINGECKO
  COINGECKO_API_KEY           CoinGecko demo API key

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad config.
`;

export const COMMAND_HELP: Record<string, string> = {
  run: `Usage: cryptointellect [run] [-c FILE]

Runs the service: a collection cycle at every bucket boundary + settle_seconds (the first one at
once, catching up from the last saved bucket up to catch_up_limit), and the HTTP endpoint with
/health, /metadata, /metrics and the read-only query API (/api/series, /api/candles, /api/status)
on http.host:http.port (default 0.0.0.0:8080).
SIGTERM or SIGINT stops it cleanly: running fetches are abandoned, writes finish, exit 0.
`,
  once: `Usage: cryptointellect once [-c FILE]

Runs one collection cycle now for every exchange and coin (catching up from the last saved bucket,
up to catch_up_limit; on a fresh store, just the newest closed bucket), then exits.
Exit 0 when every series was fetched and saved, 1 when any failed (nothing is fabricated for it).
`,
  backfill: `Usage: cryptointellect backfill --from DATE [--to DATE] [--exchange a,b] [--coin BTC,ETH] [-c FILE]
       cryptointellect backfill --repair [--from DATE] [--to DATE] [--exchange a,b] [--coin BTC,ETH] [-c FILE]

Fetches history at the configured bucket interval into every configured sink (CSV and/or the
database), fetching only the buckets a sink lacks: running the same command again after an
interruption continues where it stopped. Kraken's history older than its 720 most recent candles
is rebuilt from its trades. Against a cluster (cluster.enabled) it enqueues jobs (one per exchange,
coin and day of 1m buckets) that every running instance works on, and follows them until done.

  --from DATE     first instant to cover: YYYY-MM-DD (midnight UTC) or ISO 8601 (UTC unless a zone is given)
  --to DATE       last instant (default: now, i.e. the newest closed bucket)
  --exchange a,b  only these exchanges (default: the config's)
  --coin X,Y      only these coins, by name, CoinGecko id or ticker (default: the config's top N + list)
  --repair        fill the gaps in what is saved: from --from, or from the oldest saved bucket

Progress: a bar per exchange on a terminal, periodic log lines otherwise (against a cluster, jobs
done; stopping it leaves the jobs to the instances). At the end, a summary per exchange.
Exit 0 when complete, 1 when a range failed (run --repair later), 2 for bad arguments.
`,
  export: `Usage: cryptointellect export --format csv|parquet --exchange ID --coin TICKER [--interval 5m] [--from DATE] [--to DATE] [--out FILE] [-c FILE]

Writes the saved candles of one series, oldest first, in the columns of the CSV files (TimeStamp,
Exchange, Coin, OpenPrice, HighPrice, LowPrice, ClosePrice, Volume, Bucket_Interval): the rows
GET /api/candles gives, read from the store the config writes to (the database when
save_to_database is on, else the CSV files). Nothing is fetched from an exchange.

  --format F      csv (the CSV files' header and rows, byte for byte) or parquet (TimeStamp as
                  TIMESTAMP(MILLIS, UTC), Exchange and Coin strings, prices and Volume DOUBLE,
                  Bucket_Interval INT32; row groups of 50000 rows)
  --exchange ID   exchange id, as in the config's exchanges: (binance, okx)
  --coin TICKER   coin ticker (BTC)
  --interval I    bucket interval: 5m, 1h, 1d or minutes (default: the config's bucketing_interval)
  --from DATE     first TimeStamp (bucket end) to include: YYYY-MM-DD (midnight UTC) or ISO 8601
  --to DATE       last TimeStamp to include (default: the newest saved)
  --out FILE      write FILE (a temporary file renamed into place when complete, so FILE is never
                  half written); without it, or with -, the rows go to standard output

The whole range is written, however long (memory stays flat: the store is read in pages).
Exit 0 when written, 1 when the store or FILE cannot be used, 2 for bad arguments.
`,
  migrate: `Usage: cryptointellect migrate [-c FILE]

Creates the database if needed and applies the migrations (database mode; the URL comes from
database_connection or DATABASE_URL; with no URL, the embedded SQLite file).
`,
  config: `Usage: cryptointellect config [-c FILE]

Validates the config and prints the effective config (defaults and environment applied) with
secrets redacted. Every problem is listed with its field path; exit 2 when there is any.
`,
  exchanges: `Usage: cryptointellect exchanges [--native]

Lists every exchange CryptoIntellect collects from: the native adapters (${NATIVE_NAMES.join(", ")})
and every exchange ccxt serves candles for (loading ccxt, which --native skips). For each: the id to
name in the config's exchanges:, the Exchange column's name, native or ccxt, the intervals served
natively (others are aggregated from them), the candles a request may return, and the history depth
where known.
`,
  healthcheck: `Usage: cryptointellect healthcheck [--url URL] [-c FILE] [--timeout SECONDS]

Probes the service's /health (default http://127.0.0.1:<http.port>/health). Exit 0 when it answers
200 (ok, degraded or starting), 1 otherwise. In a container whose main process is
\`cryptointellect simulate\` (without --url or -c), it probes the simulator instead.
`,
};

/** Parses argv (without the program name). */
export function parseCommandLine(argv: readonly string[]): Command {
  const args = [...argv];
  if (args.length === 0) return { name: "run" };
  const first = args[0]!;
  if (first === "--version" || first === "-v" || first === "version") return { name: "version" };
  if (first === "--help" || first === "-h" || first === "help") return { name: "help", topic: args[1] };
  const name = first.startsWith("-") ? "run" : first;
  if (!first.startsWith("-")) args.shift();
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command "${printable(name)}" (commands: ${COMMANDS.join(", ")}); see cryptointellect --help`);
  }
  if (args.includes("--help") || args.includes("-h")) return { name: "help", topic: name };
  if (name === "simulate") return { name, args };
  if (name === "exchanges") {
    const extra = args.find((a) => a !== "--native");
    if (extra !== undefined) throw new UsageError(`${name}: unexpected argument "${printable(extra)}"`);
    return { name, nativeOnly: args.includes("--native") };
  }
  if (name === "backfill" || name === "export" || name === "cluster") {
    const configFlag = takeConfigFlag(args, name);
    return { name, configFlag, args };
  }
  const configFlag = takeConfigFlag(args, name);
  if (name === "healthcheck") {
    let url: string | undefined;
    let timeoutMs = 3000;
    while (args.length > 0) {
      const a = args.shift()!;
      if (a === "--url") url = value(args, a, name);
      else if (a.startsWith("--url=")) url = a.slice(6);
      else if (a === "--timeout") timeoutMs = seconds(value(args, a, name), a) * 1000;
      else throw new UsageError(`${name}: unexpected argument "${printable(a)}"`);
    }
    if (url !== undefined && !/^https?:\/\/\S+$/.test(url)) throw new UsageError(`${name}: --url must be an http(s) URL`);
    return { name, url, configFlag, timeoutMs };
  }
  if (args.length > 0) throw new UsageError(`${name}: unexpected argument "${printable(args[0]!)}"`);
  return { name: name as "run" | "once" | "config" | "migrate", configFlag };
}

/** Removes `-c FILE` / `--config FILE` / `--config=FILE` from args. */
function takeConfigFlag(args: string[], command: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < args.length; ) {
    const a = args[i]!;
    let v: string | undefined;
    if (a === "-c" || a === "--config") {
      v = args[i + 1];
      if (v === undefined || v.startsWith("-")) throw new UsageError(`${command}: ${a} needs a file path`);
      args.splice(i, 2);
    } else if (a.startsWith("--config=")) {
      v = a.slice(9);
      args.splice(i, 1);
    } else {
      i++;
      continue;
    }
    if (found !== undefined) throw new UsageError(`${command}: the config file is given twice`);
    if (v === "") throw new UsageError(`${command}: ${a} needs a file path`);
    found = v;
  }
  return found;
}

function value(args: string[], flag: string, command: string): string {
  const v = args.shift();
  if (v === undefined || v.startsWith("-")) throw new UsageError(`${command}: ${flag} needs a value`);
  return v;
}

function seconds(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 300) throw new UsageError(`${flag} must be a number of seconds between 0 and 300`);
  return n;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 60);
}
