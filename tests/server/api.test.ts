/**
 * The query API on the service's own HTTP app: the whole service in-process against the simulator
 * (tests/helpers/harness.ts), candles saved by real cycles, then asked for through `app.request` and
 * through a real socket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { answerCandles } from "../../src/query/answer.ts";
import { createCsvSource } from "../../src/query/csv-source.ts";
import { parseCandleQuery } from "../../src/query/params.ts";
import { CSV_HEADER } from "../../src/sinks/csv-format.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";
import { SECRET_FORMS } from "../reliability/helpers/capture.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
const DUE = T0 + 5000;
const TICKS = 12;
const SENTINEL = "6660666";
let csvMode: Harness;
let dbMode: Harness;
let kucoinRefusals = 0;

beforeAll(async () => {
  csvMode = await startHarness({
    startMs: DUE,
    label: "api-csv",
    yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH]\nexchanges: [Binance, Kucoin]\nlive_source: rest\n",
    intercept: (url, _pass, now) => {
      if (url.includes("/kucoin/api/v1/market/candles") && kucoinRefusals < 1 && now >= DUE + MINUTE_MS) {
        kucoinRefusals++;
        return Response.json({ code: "429000", msg: "Too Many Requests" }, { status: 429, headers: { "Retry-After": "1" } });
      }
      return undefined;
    },
  });
  await csvMode.ticks(DUE, TICKS);
  dbMode = await startHarness({
    startMs: DUE,
    label: "api-db",
    yaml: "bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH]\nexchanges: [Binance, Kraken]\nsave_to_database: true\nsave_to_csv: true\ndatabase_connection: sqlite:DBFILE\n",
  });
  await dbMode.ticks(DUE, TICKS);
  // A file outside the CSV directory, named as a day file and holding the sentinel: nothing may read it.
  const outside = `${CSV_HEADER}\n2024-05-01T09:01:00Z,Binance,BTC,${SENTINEL},${SENTINEL},${SENTINEL},${SENTINEL},${SENTINEL},1\n`;
  for (const h of [csvMode, dbMode]) {
    writeFileSync(join(h.dir, "2024-05-01_binance_1m.csv"), outside);
    writeFileSync(join(h.dir, "secret.txt"), SENTINEL);
  }
});
afterAll(async () => {
  await csvMode?.close();
  await dbMode?.close();
});

const get = (h: Harness, path: string, init?: RequestInit) => h.runtime.app.request(path, init);
const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

/** The rows the CSV files hold for one series, oldest first. */
function savedLines(h: Harness, coin: string): string[] {
  return readdirSync(h.csvDir)
    .filter((n) => n.endsWith("_binance_1m.csv"))
    .sort()
    .flatMap((n) => readFileSync(join(h.csvDir, n), "utf8").split("\n").slice(1, -1))
    .filter((l) => l.split(",")[2] === coin);
}

describe("GET /api/candles", () => {
  test("answers the saved rows of a series as JSON, oldest first, in the CSV files' text", async () => {
    const response = await get(csvMode, "/api/candles?exchange=binance&coin=BTC");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = await json(response);
    const lines = savedLines(csvMode, "BTC");
    expect(lines.length).toBeGreaterThanOrEqual(TICKS - 1);
    expect((body.rows as unknown[][]).map((r) => r.join(","))).toEqual(lines);
    expect(body.next).toBeNull();
  });

  test("format=csv is the CSV files' header and rows, as an attachment named after the series and range", async () => {
    const response = await get(csvMode, "/api/candles?exchange=binance&coin=ETH&format=csv&from=2024-05-01");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = savedLines(csvMode, "ETH");
    const last = lines
      .at(-1)!
      .split(",")[0]!
      .replace(/:(\d\d):00Z$/, "$1Z")
      .replace(/:/g, "");
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="binance_ETH_1m_2024-05-01_${last}.csv"`);
    expect(await response.text()).toBe(CSV_HEADER + "\n" + lines.map((l) => l + "\n").join(""));
  });

  test("in database mode answers from the database, byte for byte what the CSV files give", async () => {
    for (const format of ["json", "csv", "parquet"]) {
      const response = await get(dbMode, `/api/candles?exchange=kraken&coin=BTC&format=${format}`);
      expect(response.status).toBe(200);
      const parsed = parseCandleQuery(
        new Map([
          ["exchange", ["kraken"]],
          ["coin", ["BTC"]],
          ["format", [format]],
        ]),
        { defaultIntervalMinutes: 1 },
      );
      if (!parsed.ok) throw new Error(parsed.error);
      const fromCsv = await answerCandles(createCsvSource({ directory: dbMode.csvDir }), parsed.query);
      const [a, b] = [new Uint8Array(await response.arrayBuffer()), new Uint8Array(await new Response(fromCsv.body).arrayBuffer())];
      expect(a.length).toBeGreaterThan(format === "csv" ? CSV_HEADER.length + 1 : 100);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    }
  });

  test.each([
    ["exchange=binance", "coin"],
    ["coin=BTC", "exchange"],
    ["exchange=binance&coin=BTC&from=2024-13-01", "from"],
    ["exchange=binance&coin=BTC&to=soon", "to"],
    ["exchange=binance&coin=BTC&interval=5x", "interval"],
    ["exchange=binance&coin=BTC&limit=0", "limit"],
    ["exchange=binance&coin=BTC&limit=100001", "limit"],
    ["exchange=binance&coin=BTC&format=xml", "format"],
    ["exchange=binance&coin=BTC&cursor=abc!", "cursor"],
    ["exchange=binance&coin=BTC&coin=ETH", "coin"],
    ["exchange=binance&coin=BTC&form=2024-05-01", "form"],
  ])("?%s is 400 naming %s", async (query, parameter) => {
    const response = await get(csvMode, `/api/candles?${query}`);
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.parameter).toBe(parameter);
    expect(String(body.error)).toStartWith(`${parameter}: `);
  });

  const HOSTILE = [
    "exchange=../../etc&coin=BTC",
    "exchange=%2e%2e%2f%2e%2e%2f&coin=BTC",
    "exchange=..%2F..%2Fsecret.txt&coin=BTC",
    "exchange=%2Fetc%2Fpasswd&coin=BTC",
    "exchange=binance%00&coin=BTC",
    "exchange=binance&coin=..%2F..%2F2024-05-01_binance_1m.csv",
    "exchange=binance&coin=%2e%2e",
    "exchange=binance&coin=BTC%00",
    "exchange=binance&coin=BTC&interval=..%2F1m",
    "exchange=binance&coin=BTC&interval=1m%2F..%2F..",
    "exchange=binance&coin=BTC&interval=%00",
    "exchange=binance&coin=C%3A%5Cwindows",
    "exchange=..&coin=..&interval=..&format=csv",
  ];

  test.each(HOSTILE)("?%s reads nothing outside the CSV directory", async (query) => {
    for (const h of [csvMode, dbMode]) {
      for (const format of ["json", "csv"]) {
        const response = await get(h, `/api/candles?${query}&format=${format}`.replace(/&format=csv&format=/, "&format="));
        const text = await response.text();
        expect([200, 400]).toContain(response.status);
        expect(text).not.toContain(SENTINEL);
        expect(text).not.toContain("root:");
      }
    }
  });

  test("path-like requests on a real socket reach nothing outside the CSV directory", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: csvMode.runtime.app.fetch });
    try {
      const raw = async (target: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(server.port!, "127.0.0.1", () => socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
          let text = "";
          socket.on("data", (d) => (text += d.toString()));
          socket.on("end", () => resolve(text));
          socket.on("error", reject);
        });
      for (const target of [
        "/api/candles?exchange=../../&coin=BTC&format=csv",
        "/api/../2024-05-01_binance_1m.csv",
        "/api/candles/../../secret.txt",
        "/api/%2e%2e/%2e%2e/secret.txt",
        "/../secret.txt",
        "/api/candles?exchange=binance&coin=BTC/../../../etc/passwd",
      ]) {
        const answer = await raw(target);
        expect(answer).toMatch(/^HTTP\/1\.1 (200|400|404)/);
        expect(answer).not.toContain(SENTINEL);
        expect(answer).not.toContain("root:");
      }
    } finally {
      await server.stop(true);
    }
  });

  test("streams csv and parquet over a real socket, with the download's headers", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: dbMode.runtime.app.fetch });
    try {
      const csv = await fetch(`http://127.0.0.1:${server.port}/api/candles?exchange=binance&coin=BTC&format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get("transfer-encoding")).toBe("chunked");
      expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="binance_BTC_1m_2024-05-01T\d{4}Z_2024-05-01T\d{4}Z\.csv"$/);
      const text = await csv.text();
      expect(text.startsWith(CSV_HEADER + "\n")).toBe(true);
      expect(text.split("\n").length).toBeGreaterThan(TICKS - 1);
      const parquet = await fetch(`http://127.0.0.1:${server.port}/api/candles?exchange=binance&coin=BTC&format=parquet`);
      expect(parquet.headers.get("content-type")).toBe("application/vnd.apache.parquet");
      expect(parquet.headers.get("content-disposition")).toMatch(/\.parquet"$/);
      const bytes = new Uint8Array(await parquet.arrayBuffer());
      expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("PAR1");
      expect(new TextDecoder().decode(bytes.subarray(bytes.length - 4))).toBe("PAR1");
    } finally {
      await server.stop(true);
    }
  });

  test("HEAD answers the headers without a body", async () => {
    const response = await get(csvMode, "/api/candles?exchange=binance&coin=BTC&format=csv", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toContain("attachment");
    expect(await response.text()).toBe("");
  });
});

describe("the query API only reads", () => {
  test.each(["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])("%s is 405 on every API path, and nothing changes", async (method) => {
    const before = readdirSync(csvMode.csvDir)
      .map((n) => `${n}:${statSync(join(csvMode.csvDir, n)).size}`)
      .sort();
    for (const path of ["/api/candles?exchange=binance&coin=BTC", "/api/series", "/api/status", "/api/anything"]) {
      const response = await get(csvMode, path, { method, body: method === "POST" || method === "PUT" ? "TimeStamp,Exchange\n" : undefined });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
    }
    expect(
      readdirSync(csvMode.csvDir)
        .map((n) => `${n}:${statSync(join(csvMode.csvDir, n)).size}`)
        .sort(),
    ).toEqual(before);
  });

  test("an unknown API path is 404 listing the routes", async () => {
    const response = await get(csvMode, "/api/nothing");
    expect(response.status).toBe(404);
    expect((await json(response)).routes).toEqual(["/api/series", "/api/candles", "/api/status"]);
  });
});

describe("GET /api/series", () => {
  test("lists every tracked series with its market and what the store holds of it", async () => {
    const response = await get(csvMode, "/api/series");
    expect(response.status).toBe(200);
    const series = (await json(response)).series as Record<string, unknown>[];
    expect(series.map((s) => `${s.exchange} ${s.coin}`)).toEqual(["binance BTC", "binance ETH", "kucoin BTC", "kucoin ETH"]);
    const btc = series[0]!;
    const lines = savedLines(csvMode, "BTC");
    expect(btc).toEqual({
      exchange: "binance",
      exchangeName: "Binance",
      coin: "BTC",
      symbol: "BTCUSDT",
      quote: "USDT",
      intervalMinutes: 1,
      first: lines[0]!.split(",")[0],
      last: lines.at(-1)!.split(",")[0],
      rows: lines.length,
      filledRows: lines.filter((l) => {
        const f = l.split(",");
        return f[7] === "0" && f[3] === f[4] && f[4] === f[5] && f[5] === f[6];
      }).length,
      missingBuckets: (Date.parse(lines.at(-1)!.split(",")[0]!) - Date.parse(lines[0]!.split(",")[0]!)) / MINUTE_MS + 1 - lines.length,
      lastFetch: expect.stringMatching(/^2024-05-01T/),
      lastError: null,
    });
  });

  test("in database mode lists the same series as the CSV files", async () => {
    const fromDb = ((await json(await get(dbMode, "/api/series"))).series as Record<string, unknown>[]).map(({ lastFetch: _, ...s }) => s);
    const csvSaved = await createCsvSource({ directory: dbMode.csvDir }).series(1);
    expect(fromDb.map((s) => [s.exchange, s.coin, s.rows, s.filledRows, s.first, s.last])).toEqual(
      csvSaved.map((s) => [
        s.exchange,
        s.coin,
        s.rows,
        s.filledRows,
        new Date(s.firstEndMs).toISOString().replace(".000", ""),
        new Date(s.lastEndMs).toISOString().replace(".000", ""),
      ]),
    );
  });
});

describe("GET /api/status", () => {
  test("has the health snapshot, each exchange's last cycle and refusals, and the config without secrets", async () => {
    const response = await get(csvMode, "/api/status");
    expect(response.status).toBe(200);
    const text = await response.clone().text();
    const body = await json(response);
    expect(body.status).toEqual(csvMode.runtime.health.snapshot(csvMode.clock.now()) as unknown as Record<string, unknown>);
    const exchanges = body.exchanges as Record<string, { lastCycle: Record<string, unknown>; refusals: Record<string, number>; stream: unknown }>;
    expect(Object.keys(exchanges)).toEqual(["binance", "kucoin"]);
    expect(exchanges.binance!.lastCycle).toMatchObject({ seriesTotal: 2, seriesOk: 2, seriesFailed: 0, error: null, sinks: { csv: { ok: true } } });
    expect(exchanges.binance!.lastCycle.finishedAt).toMatch(/^2024-05-01T/);
    expect(exchanges.kucoin!.refusals["429"]).toBeGreaterThanOrEqual(1);
    expect(exchanges.binance!.refusals).toEqual({ "429": 0, "418": 0 });
    expect(exchanges.binance!.stream).toBeNull();
    const config = body.config as Record<string, unknown>;
    expect(config).toMatchObject({ bucketIntervalMinutes: 1, settleSeconds: expect.any(Number), coingeckoApiKey: "***", exchanges: ["binance", "kucoin"] });
    for (const secret of SECRET_FORMS) expect(text).not.toContain(secret);
  });
});
