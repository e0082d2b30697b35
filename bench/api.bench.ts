/**
 * The query API's throughput and memory: `GET /api/candles?format=csv` (one answer) and `format=json`
 * (pages of 100,000 rows) for a month and for a year of one series' 1-minute rows, from the CSV files
 * and from PostgreSQL. The server is a process of its own (this file with `--serve`: the service's
 * runtime and HTTP app, no collection), started fresh for each measurement, so its peak RSS (VmHWM,
 * reset after a warm-up request) belongs to that answer alone: flat in the size of the answer is
 * the point. Baselines, in the same run: reading the day files' bytes (CSV) and PostgreSQL's own
 * `COPY (SELECT …) TO STDOUT` of the same rows.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseConfig } from "../src/config/config.ts";
import { createRuntime } from "../src/collector/runtime.ts";
import { createCsvSink } from "../src/sinks/csv.ts";
import { createDatabaseSink } from "../src/sinks/database.ts";
import { silentLogger } from "../src/telemetry/log.ts";
import { saveableCandles } from "./candles.ts";
import { median } from "./compare.ts";
import { dropPostgresDatabase, postgresReachable, postgresUrl, uniqueDatabaseName } from "./database.bench.ts";
import { type BenchContext, check, fmtBytes, fmtMs, fmtRate, fmtRatio, type Section } from "./results.ts";

const MINUTE_MS = 60_000;
const START_MS = Date.UTC(2023, 0, 1);
const COIN = "C000";
const SELF = import.meta.path;

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
}

/** Resets the peak RSS to the current RSS (Linux: 5 to clear_refs); false where that is not allowed. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

interface Served {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** This file as the server: the runtime of `config` serving its HTTP app, no cycles. */
async function startServer(config: string): Promise<Served> {
  const proc = Bun.spawn(["bun", SELF, "--serve", config], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("api bench server exited before listening");
    text += new TextDecoder().decode(value);
  }
  const port = (JSON.parse(text.split("\n")[0]!) as { port: number }).port;
  return {
    pid: proc.pid,
    port,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** Reads a whole answer, counting bytes; the text is kept only when asked (checks). */
async function drain(response: Response, keep: boolean): Promise<{ bytes: number; text: string; tail: string }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let bytes = 0;
  let text = "";
  let tail = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    bytes += value.length;
    if (keep) text += decoder.decode(value, { stream: true });
    tail = (tail + decoder.decode(value.subarray(Math.max(0, value.length - 400)))).slice(-400);
  }
  return { bytes, text, tail };
}

interface Fetched {
  rows: number;
  bytes: number;
  requests: number;
}

/** The whole range through the API: one csv/parquet answer, or JSON pages of 100,000 until `next` is null. */
async function fetchRange(port: number, format: "csv" | "json" | "parquet", fromMs: number, toMs: number, checkRows: boolean): Promise<Fetched> {
  const base = `http://127.0.0.1:${port}/api/candles?exchange=binance&coin=${COIN}&from=${iso(fromMs)}&to=${iso(toMs)}`;
  if (format !== "json") {
    const response = await fetch(`${base}&format=${format}`);
    check(response.status === 200, `${format} answered ${response.status}`);
    if (format === "parquet") {
      const body = new Uint8Array(await response.arrayBuffer());
      let rows = -1;
      if (checkRows) {
        const dir = mkdtempSync(join(tmpdir(), "ci-bench-pq-"));
        writeFileSync(join(dir, "a.parquet"), body);
        const duck = await (await DuckDBInstance.create(":memory:")).connect();
        rows = Number((await duck.runAndReadAll(`SELECT count(*)::INT AS n FROM read_parquet('${join(dir, "a.parquet")}')`)).getRowObjectsJson()[0]!.n);
        duck.closeSync();
        rmSync(dir, { recursive: true, force: true });
      }
      return { rows, bytes: body.length, requests: 1 };
    }
    const { bytes, text } = await drain(response, checkRows);
    return { rows: checkRows ? text.split("\n").length - 2 : -1, bytes, requests: 1 };
  }
  let cursor: string | null = null;
  let rows = 0;
  let bytes = 0;
  let requests = 0;
  do {
    const response: Response = await fetch(`${base}&limit=100000${cursor ? `&cursor=${cursor}` : ""}`);
    check(response.status === 200, `json answered ${response.status}`);
    const page = await drain(response, checkRows);
    bytes += page.bytes;
    requests++;
    if (checkRows) rows += (JSON.parse(page.text) as { rows: unknown[] }).rows.length;
    cursor = /"next":(null|"([A-Za-z0-9_-]+)")\}$/.exec(page.tail)?.[2] ?? null;
  } while (cursor !== null);
  return { rows: checkRows ? rows : -1, bytes, requests };
}

interface Measured {
  ms: number;
  rows: number;
  bytes: number;
  requests: number;
  rssBefore: number;
  peak: number;
  peakReset: boolean;
}

/** A fresh server per run: a warm-up request, the peak reset, then the range timed. Median time, largest peak. */
async function measure(config: string, format: "csv" | "json" | "parquet", fromMs: number, toMs: number, expectedRows: number, runs: number, timing: boolean): Promise<Measured> {
  const times: number[] = [];
  let peak = 0;
  let rssBefore = 0;
  let fetched: Fetched = { rows: 0, bytes: 0, requests: 0 };
  let peakReset = true;
  for (let run = 0; run < (timing ? runs : 1); run++) {
    const server = await startServer(config);
    try {
      // Warm-up: modules, JIT, the store's connection; then only the answer counts.
      const warm = await fetch(`http://127.0.0.1:${server.port}/api/candles?exchange=binance&coin=${COIN}&limit=10&format=${format}`);
      await warm.arrayBuffer();
      peakReset = resetPeak(server.pid) && peakReset;
      const before = memoryOf(server.pid);
      const t0 = performance.now();
      fetched = await fetchRange(server.port, format, fromMs, toMs, false);
      times.push(performance.now() - t0);
      const after = memoryOf(server.pid);
      rssBefore = Math.max(rssBefore, before.rss);
      peak = Math.max(peak, after.hwm);
      // The answer checked after it was timed (and its peak read): every row of the range, once.
      if (run === 0) {
        const checked = await fetchRange(server.port, format, fromMs, toMs, true);
        check(checked.rows === expectedRows, `${format}: ${checked.rows} rows answered, ${expectedRows} saved in the range`);
      }
    } finally {
      await server.stop();
    }
  }
  return { ms: median(times), rows: expectedRows, bytes: fetched.bytes, requests: fetched.requests, rssBefore, peak, peakReset };
}

export async function runApiBench(ctx: BenchContext): Promise<Section> {
  const section: Section = { id: "api", title: "Query API: /api/candles throughput and server memory", rows: [], notes: [] };
  const dir = mkdtempSync(join(tmpdir(), "ci-bench-api-"));
  const yearMinutes = ctx.quick ? 60 * 1440 : 365 * 1440;
  const monthMinutes = ctx.quick ? 7 * 1440 : 30 * 1440;
  const runs = ctx.quick ? 1 : 3;
  let database: string | undefined;
  try {
    ctx.log(`api: saving ${yearMinutes.toLocaleString("en-US")} one-minute rows of one series`);
    const candles = saveableCandles(["binance"], 1, yearMinutes, START_MS);
    check(candles.length === yearMinutes && candles.every((c) => c.coin === COIN), "the series has one row per minute");
    const csvDir = join(dir, "csv");
    const csv = createCsvSink({ directory: csvDir, logger: silentLogger });
    await csv.open();
    check((await csv.write(candles)) === candles.length, "the CSV sink wrote every row");
    await csv.close();
    const csvConfig = join(dir, "csv.yml");
    writeFileSync(csvConfig, `bucketing_interval: 1m\nexchanges: [Binance]\ncsv_directory: ${csvDir}\n`);
    const stores: { label: string; config: string }[] = [{ label: "CSV files", config: csvConfig }];

    const pg = await postgresReachable();
    if (pg) {
      database = uniqueDatabaseName();
      const sink = createDatabaseSink({ url: postgresUrl(database), logger: silentLogger });
      await sink.open();
      check((await sink.write(candles)) === candles.length, "the PostgreSQL sink wrote every row");
      await sink.close();
      const pgConfig = join(dir, "pg.yml");
      writeFileSync(
        pgConfig,
        `bucketing_interval: 1m\nexchanges: [Binance]\ncsv_directory: ${join(dir, "unused")}\nsave_to_database: true\nsave_to_csv: false\ndatabase_connection: "${postgresUrl(database)}"\n`,
      );
      stores.push({ label: "PostgreSQL", config: pgConfig });
    } else {
      section.notes.push("PostgreSQL was not reachable: its rows are missing from this run.");
    }

    const lastEnd = START_MS + yearMinutes * MINUTE_MS;
    const ranges = [
      { label: ctx.quick ? "a week" : "a month", fromMs: lastEnd - (monthMinutes - 1) * MINUTE_MS, rows: monthMinutes },
      { label: ctx.quick ? "two months" : "a year", fromMs: START_MS + MINUTE_MS, rows: yearMinutes },
    ];

    // Baselines: the files' bytes read in this process; PostgreSQL's COPY of the year's rows.
    const baseline = new Map<string, number>();
    {
      const times: number[] = [];
      let bytes = 0;
      for (let r = 0; r < (ctx.timing ? runs : 1); r++) {
        const t0 = performance.now();
        bytes = 0;
        for (const name of readdirSync(csvDir)) bytes += readFileSync(join(csvDir, name)).length;
        times.push(performance.now() - t0);
      }
      baseline.set("CSV files", median(times));
      section.notes.push(
        `Baseline for the CSV files: reading the ${readdirSync(csvDir).length} day files (${fmtBytes(bytes)}) into memory, no parsing, in the bench process: ${fmtMs(median(times))}.`,
      );
    }
    if (database) {
      const sql = postgres(postgresUrl(database), { max: 1, onnotice: () => {} });
      try {
        const times: number[] = [];
        let bytes = 0;
        for (let r = 0; r < (ctx.timing ? runs : 1); r++) {
          const t0 = performance.now();
          bytes = 0;
          const stream = await sql
            .unsafe(
              `COPY (SELECT "timestamp", exchange, coin, open_price, high_price, low_price, close_price, volume, bucket_interval FROM klines_data WHERE exchange = 'Binance' AND coin = '${COIN}' AND bucket_interval = 1 ORDER BY "timestamp") TO STDOUT (FORMAT csv)`,
            )
            .readable();
          for await (const chunk of stream) bytes += (chunk as Uint8Array).length;
          times.push(performance.now() - t0);
        }
        baseline.set("PostgreSQL", median(times));
        section.notes.push(
          `Baseline for PostgreSQL: \`COPY (SELECT … ORDER BY timestamp) TO STDOUT (FORMAT csv)\` of the year's rows (${fmtBytes(bytes)}) through postgres.js: ${fmtMs(median(times))}.`,
        );
      } finally {
        await sql.end({ timeout: 1 });
      }
    }

    let peakResetEverywhere = true;
    for (const store of stores) {
      for (const format of ["csv", "json", "parquet"] as const) {
        for (const range of format === "parquet" ? ranges.slice(1) : ranges) {
          ctx.log(`api: ${store.label} ${format} ${range.label}`);
          const m = await measure(store.config, format, range.fromMs, lastEnd, range.rows, runs, ctx.timing);
          peakResetEverywhere &&= m.peakReset;
          if (!ctx.timing) continue;
          const rate = m.rows / (m.ms / 1000);
          const base = baseline.get(store.label);
          const isYear = range === ranges[1];
          section.rows.push({
            what: `${store.label}, format=${format}, ${range.label} (${m.rows.toLocaleString("en-US")} rows${m.requests > 1 ? `, ${m.requests} pages` : ""}, ${fmtBytes(m.bytes)})`,
            figure: `${fmtMs(m.ms)}, ${fmtRate(rate)} rows/s; server RSS ${fmtBytes(m.rssBefore)} before, peak ${fmtBytes(m.peak)}`,
            baseline: isYear && base !== undefined ? `${fmtMs(base)} (${store.label === "PostgreSQL" ? "COPY TO STDOUT" : "reading the files"})` : undefined,
            ratio: isYear && base !== undefined ? fmtRatio(m.ms / base) : undefined,
          });
          const key = `api.${store.label === "PostgreSQL" ? "pg" : "csv"}.${format}.${isYear ? "year" : "month"}`;
          ctx.figures[`${key}.rowsPerSecond`] = rate;
          ctx.figures[`${key}.peakRssBytes`] = m.peak;
        }
      }
    }
    section.notes.push(
      `Each measurement: a fresh server process (\`bun bench/api.bench.ts --serve CONFIG\`: createRuntime and Bun.serve, the service's app without its collection loop), a warm-up request of 10 rows, the peak RSS reset (${peakResetEverywhere ? "/proc/PID/clear_refs" : "could not reset: the peak includes the warm-up"}), the range fetched and consumed by a client in this process over loopback and timed, then the answer checked (rows counted; Parquet read back by DuckDB); ${runs} run(s), median time, largest peak. Rows/s counts rows served over the client's wall time. JSON is paged at its maximum of 100,000 rows a page.`,
    );
    return section;
  } finally {
    if (database) await dropPostgresDatabase(database).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `bun bench/api.bench.ts --serve CONFIG`: the server process of the measurements. */
if (import.meta.main && process.argv[2] === "--serve") {
  const path = process.argv[3]!;
  const runtime = createRuntime(parseConfig(readFileSync(path, "utf8"), path, {}), { logger: silentLogger });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: runtime.app.fetch });
  process.stdout.write(JSON.stringify({ port: server.port }) + "\n");
  process.on("SIGTERM", async () => {
    await server.stop(true);
    await runtime.close();
    process.exit(0);
  });
}
