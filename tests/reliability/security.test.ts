/**
 * Security: file names come only from validated exchange names and intervals (an exchange listing a
 * market whose base is `../../x` writes nothing anywhere); the HTTP endpoint, probed with raw sockets
 * on the real server, answers malformed, oversized and unknown requests with 4xx and exposes only its
 * documented routes; `config` and every error keep the secrets out. The sweep over everything the
 * suite captured is in sweep-secrets.test.ts. The Docker image's non-root user is checked by
 * scripts/docker-test.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { BINARY, buildBinary, runBinary, simulatorConfig } from "../helpers/binary.ts";
import { readCsvDir } from "../helpers/oracle.ts";
import { capture, SECRET_FORMS, SECRETS, sweepSecretsHere } from "./helpers/capture.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
const DUE = T0 + 5000;
const EVIL = ["../../x", "..\\..\\y", "a,b", "=HYPERLINK(1)", "x\ny", "/etc/passwd", "ok/../../z"];

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(p);
    if (statSync(p).isDirectory()) out.push(...walk(p));
  }
  return out;
}

describe("file names", () => {
  let h: Harness | undefined;
  afterAll(async () => h?.close());

  test("an exchange listing markets whose base is ../../x (and other hostile names) writes no file outside csv_directory, nor any row for them", async () => {
    const requested: string[] = [];
    h = await startHarness({
      startMs: DUE,
      label: "path-traversal",
      yaml: "bucketing_interval: 1m\nn_coins_to_poll: 4\nlist_coins_to_poll: [BTC]\nexchanges: [binance, kraken]\n",
      intercept: async (url, pass) => {
        requested.push(url);
        if (url.includes("/coingecko/api/v3/coins/markets")) {
          const ranking = (await (await pass()).json()) as Record<string, unknown>[];
          const evil = EVIL.map((s, i) => ({ ...ranking[0], id: `evil-${i}`, symbol: s, name: `Evil ${i}`, market_cap: 9e15 - i, market_cap_rank: 1 }));
          return Response.json([...evil, ...ranking]);
        }
        if (url.includes("/binance/api/v3/exchangeInfo")) {
          const info = (await (await pass()).json()) as { symbols: Record<string, unknown>[] };
          for (const s of EVIL) info.symbols.push({ symbol: `${s}USDT`, status: "TRADING", baseAsset: s, quoteAsset: "USDT" });
          return Response.json(info);
        }
        if (url.includes("/kraken/0/public/AssetPairs")) {
          const pairs = (await (await pass()).json()) as { error: string[]; result: Record<string, unknown> };
          for (const [i, s] of EVIL.entries()) pairs.result[`EVIL${i}USD`] = { altname: `EVIL${i}USD`, wsname: `${s}/USD`, base: s, quote: "ZUSD", status: "online" };
          return Response.json(pairs);
        }
        return undefined;
      },
    });
    for (let i = 0; i <= 2; i++) await h.tickAt(DUE + i * MINUTE_MS);
    const files = walk(h.dir).map((p) => relative(h!.dir, p));
    // Only the CSV folder and its day files, named from the exchange id and the interval.
    expect(files.filter((f) => f !== "csv" && !/^csv\/2024-05-01_(binance|kraken)_1m\.csv$/.test(f))).toEqual([]);
    // Nor where the hostile names would lead, had one been used in a path.
    for (const evil of EVIL.filter((e) => !e.startsWith("/"))) for (const suffix of ["", ".csv", "_1m.csv"]) expect(existsSync(resolve(h.csvDir, evil + suffix))).toBe(false);
    const rows = readCsvDir(h.csvDir);
    expect(rows.some((r) => r.coin === "BTC")).toBe(true);
    expect(rows.filter((r) => !/^[A-Z0-9]+$/.test(r.coin))).toEqual([]);
    // Never even asked for their candles.
    expect(requested.filter((u) => /klines|OHLC/.test(u) && /EVIL|%2E%2E|\.\.|%2F|HYPERLINK/i.test(u))).toEqual([]);
  }, 60_000);
});

/** Sends raw bytes and returns what came back before the server closed or `waitMs` passed. */
function raw(port: number, bytes: string | Uint8Array, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("latin1"));
    };
    const timer = setTimeout(done, waitMs);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      // One complete answer is all we want.
      const text = Buffer.concat(chunks).toString("latin1");
      const head = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text);
      if (head >= 0 && length && text.length >= head + 4 + Number(length[1])) done();
    });
    socket.on("error", done);
    socket.on("close", done);
    socket.write(bytes);
  });
}

const status = (answer: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);

describe("the HTTP endpoint (compiled binary, raw sockets)", () => {
  let sim: RunningSimulator;
  let work: string;
  let proc: ReturnType<typeof Bun.spawn>;
  let port = 0;
  let stderr = "";
  beforeAll(async () => {
    await buildBinary();
    sim = startSimulator();
    work = mkdtempSync(join(tmpdir(), "ci-http-"));
    const cfg = join(work, "cfg.yml");
    writeFileSync(
      cfg,
      simulatorConfig(
        sim.url,
        `csv_directory: ${join(work, "csv")}\ncoingecko_api_key: ${SECRETS.apiKey}\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC]\nexchanges: [binance]\nhttp:\n  host: 127.0.0.1\n  port: 0\n`,
      ),
    );
    proc = Bun.spawn([BINARY, "run", "-c", cfg], {
      cwd: work,
      env: { ...process.env, DATABASE_URL: `postgres://ci:${encodeURIComponent(SECRETS.databasePassword)}@127.0.0.1:9/db`, COINGECKO_API_KEY: SECRETS.apiKey },
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    const started = Date.now();
    while (port === 0 && Date.now() - started < 10_000) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += new TextDecoder().decode(value);
      const m = /service started .*http=127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) port = Number(m[1]);
    }
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += new TextDecoder().decode(value);
      }
    })();
  });
  afterAll(async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    capture("http binary stderr", stderr);
    await sim.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test("answers its three routes, and nothing in them is a secret", async () => {
    expect(port).toBeGreaterThan(0);
    for (const path of ["/health", "/metrics", "/metadata"]) {
      const answer = await raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      capture(`http ${path}`, answer);
      expect([200, 404, 503]).toContain(status(answer));
      for (const s of SECRET_FORMS) expect(answer).not.toContain(s);
    }
  });

  test.each<[string, string | Uint8Array, number[]]>([
    ["path traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", [400, 404]],
    ["encoded path traversal", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", [400, 404]],
    ["an undocumented route", "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n", [404]],
    ["the simulator's control route", "GET /_sim/stats HTTP/1.1\r\nHost: x\r\n\r\n", [404]],
    ["a dotfile", "GET /.env HTTP/1.1\r\nHost: x\r\n\r\n", [404]],
    ["POST with a body", "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", [405]],
    ["DELETE", "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", [405]],
    ["a declared 10 MB body", "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\nxxxx", [413]],
    ["a 20 KB body sent", `POST /metadata HTTP/1.1\r\nHost: x\r\nContent-Length: 20480\r\n\r\n${"x".repeat(20480)}`, [413]],
    ["a 10 KB URL", `GET /health?${"a".repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, [414, 431, 400]],
    ["a 100 KB header", `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(100_000)}\r\n\r\n`, [431, 400, 0]],
    ["a garbage request line", "GARBAGE\r\n\r\n", [400, 0]],
    ["an unknown HTTP version", "GET /health HTTP/9.9\r\nHost: x\r\n\r\n", [400, 505, 0]],
    // Bun's own HTTP parser answers 505 to a request line with a NUL in it, before our app sees it.
    ["a NUL in the path", "GET /hea\u0000lth HTTP/1.1\r\nHost: x\r\n\r\n", [400, 404, 505, 0]],
    ["binary noise", new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), [400, 0]],
    ["a bad chunked body", "POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n", [400, 405, 0]],
  ])("%s: a 4xx (or the connection closed), never a 2xx", async (name, bytes, allowed) => {
    expect(port).toBeGreaterThan(0);
    const answer = await raw(port, bytes);
    capture(`http ${name}`, answer);
    const code = status(answer);
    expect(allowed).toContain(code);
    expect(answer).not.toContain("root:x:0:0");
    for (const s of SECRET_FORMS) expect(answer).not.toContain(s);
    // Whatever came before, the service still answers.
    expect(status(await raw(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).toBeOneOf([200, 503]);
  });

  test("a header-injection attempt in the query string does not reach the answer's headers", async () => {
    const answer = await raw(port, "GET /health?x=%0d%0aSet-Cookie:%20a=b HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(answer.split("\r\n\r\n")[0]!.toLowerCase()).not.toContain("set-cookie");
  });
});

describe("secrets in commands", () => {
  test("`config` prints the effective config with the database password and the API key redacted", async () => {
    await buildBinary();
    const work = mkdtempSync(join(tmpdir(), "ci-config-"));
    try {
      writeFileSync(
        join(work, "cfg.yml"),
        `save_to_database: true\ncoingecko_api_key: ${SECRETS.apiKey}\ndatabase_connection: "postgres://ci:${encodeURIComponent(SECRETS.databasePassword)}@127.0.0.1:9/db"\n`,
      );
      const fromFile = await runBinary(["config", "-c", "cfg.yml"], { cwd: work, env: { DATABASE_URL: "", COINGECKO_API_KEY: "" } });
      const fromEnv = await runBinary(["config"], {
        cwd: work,
        env: {
          CRYPTOINTELLECT_CONFIG: "cfg.yml",
          DATABASE_URL: `postgresql+psycopg2://ci:${encodeURIComponent(SECRETS.databasePassword)}@127.0.0.1:9/db`,
          COINGECKO_API_KEY: SECRETS.apiKey,
        },
      });
      for (const r of [fromFile, fromEnv]) {
        capture("config output", r.stdout + r.stderr);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("***");
        expect(r.stdout).toContain("127.0.0.1:9/db");
        for (const s of SECRET_FORMS) expect(r.stdout + r.stderr).not.toContain(s);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("a database that cannot be reached: the error names the server, never the password", async () => {
    await buildBinary();
    const work = mkdtempSync(join(tmpdir(), "ci-dberr-"));
    const sim = startSimulator();
    try {
      writeFileSync(
        join(work, "cfg.yml"),
        simulatorConfig(
          sim.url,
          `save_to_database: true\ncsv_directory: ./csv\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC]\nexchanges: [binance]\ncoingecko_api_key: ${SECRETS.apiKey}\n`,
        ),
      );
      for (const url of [
        `postgres://ci:${encodeURIComponent(SECRETS.databasePassword)}@127.0.0.1:9/db`,
        `mysql://root:${encodeURIComponent(SECRETS.databasePassword)}@127.0.0.1:9/db`,
      ]) {
        const r = await runBinary(["once", "-c", "cfg.yml"], { cwd: work, env: { DATABASE_URL: url } });
        capture("database unreachable", r.stdout + r.stderr);
        for (const s of SECRET_FORMS) expect(r.stdout + r.stderr).not.toContain(s);
      }
    } finally {
      await sim.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});

sweepSecretsHere();
