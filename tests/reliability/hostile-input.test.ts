/**
 * Bad input: a corpus of bad configs and bad command lines through the compiled binary (each refused
 * with a message naming the field, exit 2, nothing written), and hostile exchange answers from a
 * loopback server (wrong types, NaN, infinities, negative prices and volumes, high < low, timestamps
 * far in the future, 50 MB bodies, deep nesting): refused with a log line, never saved, never a crash.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { configSecrets, parseConfig } from "../../src/config/config.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { createLogger } from "../../src/telemetry/log.ts";
import { createRuntime } from "../../src/collector/runtime.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { buildBinary, runBinary, simulatorConfig } from "../helpers/binary.ts";
import { mismatches, readCsvDir } from "../helpers/oracle.ts";
import { capture, SECRETS, sweepSecretsHere } from "./helpers/capture.ts";

let work: string;
beforeAll(async () => {
  await buildBinary();
  work = mkdtempSync(join(tmpdir(), "ci-hostile-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the binary in a fresh empty folder; returns its result and what it left there besides its inputs. */
async function runIn(name: string, args: string[], files: Record<string, string | Uint8Array> = {}, env: Record<string, string> = {}) {
  const cwd = join(work, name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60) + "-" + Math.random().toString(36).slice(2, 6));
  mkdirSync(cwd);
  for (const [f, content] of Object.entries(files)) writeFileSync(join(cwd, f), content);
  // Nothing listens on port 9: a config that got through would fail to fetch, never reach out.
  const result = await runBinary(args, { cwd, env: { CRYPTOINTELLECT_CONFIG: "", DATABASE_URL: "", COINGECKO_API_KEY: "", ...env } });
  capture(`binary ${name}`, `exit ${result.code}\n${result.stdout}${result.stderr}`);
  const left = readdirSync(cwd).filter((f) => !(f in files));
  return { ...result, left };
}

/** Made once, before any memory is measured: the server's own copy must not count as the client's. */
const FIFTY_MB = new Uint8Array(50 * 1024 * 1024).fill(0x20);
const BASE = `coingecko_api_key: ${SECRETS.apiKey}
csv_directory: ./out
api_base_urls: {binance: "http://127.0.0.1:9", kraken: "http://127.0.0.1:9", kucoin: "http://127.0.0.1:9", poloniex: "http://127.0.0.1:9", coingecko: "http://127.0.0.1:9"}
`;
const bomb = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`;

/** [what, config text (BASE is prepended unless the text is a Uint8Array or starts with "!"), field the message must name] */
const BAD_CONFIGS: [string, string | Uint8Array, string][] = [
  // A bare whole number is minutes (`bucketing_interval: 5` is 5m); a bare fraction or zero is not.
  ["interval as a bare fraction", "bucketing_interval: 2.5", "bucketing_interval"],
  ["interval as a bare zero", "bucketing_interval: 0", "bucketing_interval"],
  ["catch-up as a bare fraction", "catch_up_limit: 1.5", "catch_up_limit"],
  ["interval 0m", "bucketing_interval: 0m", "bucketing_interval"],
  ["interval 1x", "bucketing_interval: 1x", "bucketing_interval"],
  ["negative interval", "bucketing_interval: -5m", "bucketing_interval"],
  ["interval in seconds", "bucketing_interval: 30s", "bucketing_interval"],
  ["interval 0h", "bucketing_interval: 0h", "bucketing_interval"],
  ["alias interval 0d", "bucket_interval: 0d", "bucket_interval"],
  ["interval given twice", "bucketing_interval: 1m\nbucket_interval: 5m", "bucket_interval"],
  ["interval of a million years", "bucketing_interval: 365000000d", "bucketing_interval"],
  ["empty interval", 'bucketing_interval: ""', "bucketing_interval"],
  ["interval as a list", "bucketing_interval: [1m]", "bucketing_interval"],
  ["exchanges as a string", "exchanges: Binance", "exchanges"],
  ["no exchanges", "exchanges: []", "exchanges"],
  ["unknown exchange", "exchanges: [Binance, Bitfinexx]", "exchanges[1]"],
  ["exchange as a number", "exchanges: [42]", "exchanges[0]"],
  ["exchange with a path", "exchanges: [../binance]", "exchanges[0]"],
  ["negative N", "n_coins_to_poll: -1", "n_coins_to_poll"],
  ["huge N", "n_coins_to_poll: 1000000", "n_coins_to_poll"],
  ["fractional N", "n_coins_to_poll: 2.5", "n_coins_to_poll"],
  ["N as text", "n_coins_to_poll: ten", "n_coins_to_poll"],
  ["N infinite", "n_coins_to_poll: .inf", "n_coins_to_poll"],
  ["coin with path separators", "list_coins_to_poll: [../../etc/passwd]", "list_coins_to_poll[0]"],
  ["coin with a slash", 'list_coins_to_poll: [BTC, "a/b"]', "list_coins_to_poll[1]"],
  ["coin with a backslash", 'list_coins_to_poll: ["a\\\\b"]', "list_coins_to_poll[0]"],
  ["coin with a control character", 'list_coins_to_poll: ["bit\\x07coin"]', "list_coins_to_poll[0]"],
  ["coin with a newline", 'list_coins_to_poll: ["BTC\\nETH"]', "list_coins_to_poll[0]"],
  ["coin list as a string", "list_coins_to_poll: BTC", "list_coins_to_poll"],
  ["empty coin name", 'list_coins_to_poll: [""]', "list_coins_to_poll[0]"],
  ["both coin list names", "list_coins_to_poll: [BTC]\nlist_coins_to_pull: [ETH]", "list_coins_to_pull"],
  ["save_to_csv as yes-text", 'save_to_csv: "yes"', "save_to_csv"],
  ["both sinks off", "save_to_csv: false\nsave_to_database: false", "save_to_csv"],
  ["save_to_database as 1", "save_to_database: 1", "save_to_database"],
  ["unknown field", "n_coins: 5", "n_coins"],
  ["misspelt secret field", `coingecko_apikey: ${SECRETS.apiKey}`, "coingecko_apikey"],
  ["port out of range", "http: {port: 70000}", "http.port"],
  ["negative port", "http: {port: -1}", "http.port"],
  ["unknown http field", "http: {hostx: a}", "http.hostx"],
  ["http host with spaces", 'http: {host: "no such host !"}', "http.host"],
  ["http host as a URL", 'http: {host: "http://0.0.0.0"}', "http.host"],
  ["http host as a bad IPv4 address", "http: {host: 300.1.1.1}", "http.host"],
  ["a field given twice", "n_coins_to_poll: 5\nn_coins_to_poll: 6", "n_coins_to_poll"],
  ["a nested field given twice", "http:\n  port: 8080\n  port: 9090", "http.port"],
  ["a key given twice in a flow map", "quote_currencies: {default: [USDT], default: [USD]}", "quote_currencies.default"],
  ["file URL for an API", "!" + BASE.replace('binance: "http://127.0.0.1:9"', 'binance: "file:///etc/passwd"'), "api_base_urls.binance"],
  ["unknown API name", "!" + BASE.replace("{binance:", '{bitfinex: "http://127.0.0.1:9", binance:'), "api_base_urls.bitfinex"],
  ["javascript URL", "!" + BASE.replace('kraken: "http://127.0.0.1:9"', 'kraken: "javascript:alert(1)"'), "api_base_urls.kraken"],
  ["database URL of another scheme", `save_to_database: true\ndatabase_connection: "ftp://ci:${SECRETS.databasePassword}@127.0.0.1/x"`, "database_connection"],
  ["negative settle", "settle_seconds: -5", "settle_seconds"],
  ["settle of a day", "settle_seconds: 86400", "settle_seconds"],
  ["catch-up 0m", "catch_up_limit: 0m", "catch_up_limit"],
  ["CSV folder with a control character", "!" + BASE.replace("csv_directory: ./out", 'csv_directory: "./o\\x01ut"'), "csv_directory"],
  ["empty CSV folder", "!" + BASE.replace("csv_directory: ./out", 'csv_directory: ""'), "csv_directory"],
  ["quote with a space", 'quote_currencies: ["US D"]', "quote_currencies[0]"],
  ["API key as a number", "!csv_directory: ./out\ncoingecko_api_key: 12345", "coingecko_api_key"],
  ["empty file", "!", "(file)"],
  ["only a comment", "!# nothing here\n", "(file)"],
  ["binary file", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x10]), "(file)"],
  ["YAML bomb", bomb, "(file)"],
  ["a list, not a mapping", "!- a\n- b\n", "(file)"],
  ["a scalar, not a mapping", "!42\n", "(file)"],
  ["unreadable YAML", "exchanges: [Binance", "(file)"],
  ["unterminated quote around the secret", `!csv_directory: ./out\ncoingecko_api_key: "${SECRETS.apiKey}\nexchanges: [Binance]\n`, "(file)"],
  ["a 300 KB file", "!" + BASE + "#" + "x".repeat(300 * 1024) + "\n", "(file)"],
];

describe("bad configs (compiled binary)", () => {
  test("the corpus holds at least 40 bad configs", () => expect(BAD_CONFIGS.length).toBeGreaterThanOrEqual(40));

  test.each(BAD_CONFIGS)(
    "%s: refused naming the field, exit 2, nothing written",
    async (name, text, field) => {
      const content = typeof text !== "string" ? text : text.startsWith("!") ? text.slice(1) : BASE + text + "\n";
      for (const command of ["once", "config"]) {
        const r = await runIn(`${command} ${name}`, [command, "-c", "bad.yml"], { "bad.yml": content });
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(field === "(file)" ? "(file)" : `- ${field}:`);
        expect(r.stdout).toBe("");
        expect(r.left).toEqual([]);
      }
    },
    30_000,
  );

  test("a missing config file and a folder as config file are refused too", async () => {
    const missing = await runIn("missing file", ["once", "-c", "nope.yml"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("does not exist");
    const folder = await runIn("folder as file", ["once", "-c", "."]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain("is a directory, not a config file");
    expect(folder.stderr).not.toContain("does not exist");
    expect(folder.left).toEqual([]);
  });

  test("a YAML error is named by line and column, a duplicate key by its lines", async () => {
    const broken = await runIn("yaml position", ["config", "-c", "bad.yml"], { "bad.yml": "n_coins_to_poll: 5\nexchanges: [Binance, Kraken\n" });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("- (file): line 2, column 12: not valid YAML: the [ opened here is never closed");
    const twice = await runIn("yaml duplicate", ["config", "-c", "bad.yml"], { "bad.yml": "n_coins_to_poll: 5\nsave_to_csv: true\nn_coins_to_poll: 7\n" });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("- n_coins_to_poll: duplicate key: given on line 1 and again on line 3; keep one");
    expect(twice.stdout).toBe("");
  });

  test("config shows the database connection with its passwords redacted, also from the query and with database mode off", async () => {
    const secret = encodeURIComponent(SECRETS.databasePassword);
    const r = await runIn("query password", ["config", "-c", "ok.yml"], {
      "ok.yml": `database_connection: "postgres://ci:${secret}@127.0.0.1:9/db?sslmode=disable&password=${secret}"\n`,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('database_connection: "postgres://ci:***@127.0.0.1:9/db?sslmode=disable&password=***"');
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toContain(SECRETS.databasePassword);
    expect(r.left).toEqual([]);
  });
});

const BAD_ARGS: [string, string[], string][] = [
  ["unknown command", ["frobnicate"], "unknown command"],
  ["unknown option", ["once", "--bogus"], "unexpected argument"],
  ["-c without a file", ["once", "-c"], "needs a file path"],
  ["config twice", ["once", "-c", "a.yml", "-c", "b.yml"], "given twice"],
  ["empty --config=", ["once", "--config="], "needs a file path"],
  ["extra word after run", ["run", "now"], "unexpected argument"],
  ["backfill without --from", ["backfill"], "--from DATE is required"],
  ["backfill from yesterday", ["backfill", "--from", "yesterday"], "not a date"],
  ["backfill from the future", ["backfill", "--from", "2999-01-01"], "in the future"],
  ["backfill with an unknown exchange", ["backfill", "--from", "2024-01-01", "--exchange", "bitfinex"], "unknown exchange"],
  ["backfill with a path as coin", ["backfill", "--from", "2024-01-01", "--coin", "../../etc"], "not a coin name"],
  ["backfill --to before --from", ["backfill", "--from", "2024-01-03", "--to", "2024-01-01"], "before --to"],
  ["healthcheck with a file URL", ["healthcheck", "--url", "file:///etc/passwd"], "--url"],
  ["healthcheck with a negative timeout", ["healthcheck", "--timeout", "-1"], "--timeout"],
  ["simulate on port 99999", ["simulate", "--port", "99999"], "--port"],
  ["simulate with an unknown option", ["simulate", "--bogus"], "--bogus"],
  ["escape sequences in a command", ["\u001b[31mred"], "unknown command"],
  ["a 100 KB argument", ["once", "x".repeat(100_000)], "unexpected argument"],
];

describe("bad command lines (compiled binary)", () => {
  test.each(BAD_ARGS)(
    "%s: exit 2 with a message, nothing written",
    async (name, args, message) => {
      const r = await runIn(`args ${name}`, args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain("\u001b");
      expect(r.stderr.length).toBeLessThan(2000);
      expect(r.left).toEqual([]);
    },
    30_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Hostile exchange answers: a loopback server answers Binance's klines with a mangled copy of the
// simulator's answer (everything else is passed through to the simulator).

type Row = (string | number)[];
type Mangle = { rows?: (rows: Row[], startMs: number) => unknown; body?: () => Response };

const last = (f: (row: Row) => Row) => (rows: Row[]) => rows.map((k, i) => (i === rows.length - 1 ? f(k) : k));

const HOSTILE: [string, Mangle, RegExp][] = [
  ["a price as a number, not a string", { rows: (r) => r.map((k) => [k[0]!, 67000, ...k.slice(2)]) }, /does not match the expected format/],
  ["NaN prices", { rows: (r) => r.map((k) => [k[0]!, "NaN", ...k.slice(2)]) }, /does not match the expected format/],
  // Only the newest row (the bucket a fresh store saves) is mangled: the rows before it are good, so
  // a bucket wrongly skipped would be fed forward from them, i.e. invented.
  ["infinite prices", { rows: last((k) => [k[0]!, k[1]!, "1e999", ...k.slice(3)]) }, /candle failed quality checks.*not a finite number/],
  ["negative prices", { rows: last((k) => [k[0]!, "-5", "-1", "-9", "-5", ...k.slice(5)]) }, /candle failed quality checks.*positive/],
  ["high below low", { rows: last((k) => [k[0]!, k[1]!, k[3]!, k[2]!, ...k.slice(4)]) }, /candle failed quality checks.*inconsistent/],
  ["negative volume", { rows: last((k) => [...k.slice(0, 5), "-12.5", ...k.slice(6)]) }, /candle failed quality checks.*volume/],
  ["a timestamp far in the future", { rows: (r) => [...r, [4102444800000, ...r[0]!.slice(1, 6), 4102444859999, ...r[0]!.slice(7)]] }, /candle failed quality checks.*future/],
  ["an object instead of rows", { rows: () => ({ rows: 1 }) }, /does not match the expected format/],
  ["rows of the wrong length", { rows: (r) => r.map((k) => k.slice(0, 3)) }, /does not match the expected format/],
  ["JSON nested 100000 deep", { body: () => new Response("[".repeat(100_000) + "]".repeat(100_000)) }, /does not match the expected format|body is not JSON/],
  ["a 50 MB body with its length declared", { body: () => new Response(FIFTY_MB) }, /body larger than/],
  [
    "a 50 MB body streamed without a length",
    {
      body: () => {
        let sent = 0;
        const chunk = new Uint8Array(1024 * 1024).fill(0x5b);
        return new Response(
          new ReadableStream({
            pull(c) {
              if (sent++ >= 50) c.close();
              else c.enqueue(chunk);
            },
          }),
        );
      },
    },
    /body larger than/,
  ],
];

describe("hostile exchange answers", () => {
  let sim: RunningSimulator;
  let hostile: Server<undefined>;
  let mangle: Mangle = {};
  beforeAll(() => {
    sim = startSimulator();
    hostile = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const url = new URL(request.url);
        const upstream = await fetch(`${sim.url}${url.pathname}${url.search}`);
        if (!url.pathname.endsWith("/api/v3/klines")) return upstream;
        if (mangle.body) return mangle.body();
        const rows = (await upstream.json()) as Row[];
        return Response.json(mangle.rows ? mangle.rows(rows, Number(url.searchParams.get("startTime"))) : rows);
      },
    });
  });
  afterAll(async () => {
    await hostile.stop(true);
    await sim.stop();
  });

  test.each(HOSTILE)(
    "%s: refused with a log line, never saved, the service goes on",
    async (name, m, logged) => {
      mangle = m;
      const dir = mkdtempSync(join(work, "hostile-"));
      const config = parseConfig(
        simulatorConfig(
          sim.url,
          `csv_directory: ${dir}\ncoingecko_api_key: ${SECRETS.apiKey}\nbucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH]\nexchanges: [binance, kucoin]\n`,
        ).replace(`binance: ${sim.url}/binance`, `binance: http://127.0.0.1:${hostile.port}/binance`),
        "hostile.yml",
      );
      const lines: string[] = [];
      const logger = createLogger({ secrets: configSecrets(config), write: (l) => lines.push(l) });
      const runtime = createRuntime(config, { logger, http: { timeoutMs: 5000, backoff: { baseMs: 5, capMs: 20 } } });
      await runtime.open();
      const rssBefore = process.memoryUsage().rss;
      const now = Date.now();
      const report = await runtime.service.tick(now);
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      await runtime.close();
      capture(`hostile ${name}`, lines.join("\n"));
      const binance = report.reports.find((r) => r.exchange === "binance")!;
      expect(binance.seriesOk + binance.seriesFailed).toBe(2);
      expect(lines.some((l) => logged.test(l) && l.includes("binance"))).toBe(true);
      const rows = readCsvDir(dir);
      // Nothing from the hostile answers was saved (only a future row rides on good ones, which are
      // the simulator's own); the other exchange was not disturbed.
      expect(mismatches(rows)).toEqual([]);
      if (!name.includes("future")) expect(rows.filter((r) => r.exchange === "binance")).toEqual([]);
      expect(
        rows
          .filter((r) => r.exchange === "kucoin")
          .map((r) => r.coin)
          .sort(),
      ).toEqual(["BTC", "ETH"]);
      const newest = Math.floor((now - 5000) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
      expect(rows.every((r) => r.openTimeMs === newest)).toBe(true);
      expect(rssGrowth).toBeLessThan(200 * 1024 * 1024);
      rmSync(dir, { recursive: true, force: true });
    },
    30_000,
  );
});

sweepSecretsHere();
