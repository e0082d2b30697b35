/**
 * Database writes of a million candles through the database sink (idempotent writes), into the
 * real PostgreSQL against `COPY … FROM STDIN` of the same rows, and into the embedded SQLite
 * against plain prepared INSERTs in one transaction. Each run uses a database of its own, dropped after.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres, { type Sql } from "postgres";
import { candleEndMs, type Candle } from "../src/domain/candle.ts";
import type { NativeExchangeId as ExchangeId } from "../src/exchanges/index.ts";
import { NATIVE_EXCHANGE_IDS } from "../src/exchanges/index.ts";
import { exchangeName } from "../src/exchanges/names.ts";
import { createMemoryLogger } from "../src/telemetry/log.ts";
import { createDatabaseSink, type DatabaseSink } from "../src/sinks/database.ts";
import { tcpReachable } from "../tests/db/servers.ts";
import { saveableCandles } from "./candles.ts";
import { compare, type TimingOptions } from "./compare.ts";
import { type BenchContext, check, fmtMs, fmtRate, fmtRatio, type Section } from "./results.ts";

const EXCHANGES: ExchangeId[] = [...NATIVE_EXCHANGE_IDS];
export const POSTGRES_SERVER = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432";
const COLUMNS = `exchange, coin, "timestamp", open_price, high_price, low_price, close_price, volume, bucket_interval, filled`;

export function postgresReachable(): Promise<boolean> {
  const url = new URL(POSTGRES_SERVER);
  return tcpReachable(url.hostname, Number(url.port || 5432));
}

export function uniqueDatabaseName(): string {
  return `ci_bench_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
}

export function postgresUrl(database: string): string {
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function dropPostgresDatabase(name: string): Promise<void> {
  const admin = postgres(postgresUrl("postgres"), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end({ timeout: 1 });
  }
}

/**
 * Waits for the server to write out what earlier runs left in its buffers (`CHECKPOINT`), so a timed
 * run does not share the 2 cores with the checkpointer flushing a million rows loaded before it
 * (after the database section, the backfill's COPY floor took 1.07 s unsettled and 0.76 s settled).
 * Needs a superuser or pg_checkpoint; without that the run goes on unsettled. Runs on `session`
 * when one is open (any database: CHECKPOINT is server-wide), else on a connection of its own.
 */
export async function settlePostgres(session?: Sql): Promise<boolean> {
  const sql = session ?? postgres(postgresUrl("postgres"), { max: 1, onnotice: () => {} });
  try {
    await sql`CHECKPOINT`;
    return true;
  } catch {
    return false;
  } finally {
    if (session === undefined) await sql.end({ timeout: 1 });
  }
}

/** The rows as COPY's text format reads them, rendered once (the baseline does not pay for rendering). */
export function copyChunks(candles: readonly Candle[]): string[] {
  const chunks: string[] = [];
  let lines: string[] = [];
  for (const c of candles) {
    const ts = new Date(candleEndMs(c)).toISOString();
    lines.push(`${exchangeName(c.exchange)}\t${c.coin}\t${ts}\t${c.open}\t${c.high}\t${c.low}\t${c.close}\t${c.volume}\t${c.intervalMinutes}\t${c.filled ? "t" : "f"}`);
    if (lines.length === 10_000) {
      chunks.push(lines.join("\n") + "\n");
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(lines.join("\n") + "\n");
  return chunks;
}

/** COPY FROM STDIN. postgres.js does not surface an error the server raises mid-COPY (the stream just stalls), hence the deadline. */
export async function copyRows(sql: Sql, chunks: readonly string[], deadlineMs = 600_000): Promise<void> {
  const stream = await sql.unsafe(`COPY klines_data (${COLUMNS}) FROM STDIN`).writable();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`COPY did not finish within ${deadlineMs / 1000} s (an error inside COPY, such as a missing coin row?)`)), deadlineMs);
  });
  const copied = new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("finish", () => resolve());
    let i = 0;
    const pump = () => {
      while (i < chunks.length) {
        if (!stream.write(chunks[i++]!)) {
          stream.once("drain", pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  });
  try {
    await Promise.race([copied, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** One candle of each series: enough for the sink to record every coin and exchange. */
export function distinctSeries(candles: readonly Candle[]): Candle[] {
  const seen = new Map<string, Candle>();
  for (const c of candles) if (!seen.has(`${c.exchange}|${c.coin}`)) seen.set(`${c.exchange}|${c.coin}`, c);
  return [...seen.values()];
}

export async function countRows(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM klines_data`;
  return row!.n;
}

/** A few saved rows read back must equal the candles written. */
async function spotCheck(sink: DatabaseSink, candles: readonly Candle[], label: string): Promise<void> {
  for (const i of [0, Math.floor(candles.length / 2), candles.length - 1]) {
    const c = candles[i]!;
    const [saved] = await sink.readCandles(c.exchange, c.coin, 1, c.openTimeMs, c.openTimeMs);
    check(
      saved !== undefined &&
        saved.open === c.open &&
        saved.high === c.high &&
        saved.low === c.low &&
        saved.close === c.close &&
        saved.volume === c.volume &&
        saved.filled === c.filled,
      `${label}: row ${c.exchange} ${c.coin} ${new Date(c.openTimeMs).toISOString()} read back as ${JSON.stringify(saved)}`,
    );
  }
}

export interface PostgresCase {
  sink: DatabaseSink;
  sql: Sql;
  close(): Promise<void>;
}

/** Creates a database of its own, checks the sink writes every row once and idempotently, and that COPY loads the same rows. */
export async function preparePostgres(candles: Candle[]): Promise<PostgresCase> {
  const database = uniqueDatabaseName();
  const sink = createDatabaseSink({ url: postgresUrl(database), logger: createMemoryLogger() });
  let sql: Sql | undefined;
  const close = async () => {
    await sink.close().catch(() => {});
    await sql?.end({ timeout: 1 }).catch(() => {});
    await dropPostgresDatabase(database);
  };
  try {
    await sink.open();
    sql = postgres(postgresUrl(database), { max: 1, onnotice: () => {} });
    const written = await sink.write(candles);
    check(written === candles.length, `PostgreSQL sink reported ${written} new rows of ${candles.length}`);
    check((await countRows(sql)) === candles.length, "PostgreSQL holds a different number of rows than written");
    await spotCheck(sink, candles, "PostgreSQL");
    const again = candles.filter((_, i) => i % 101 === 0);
    check((await sink.write(again)) === 0, "PostgreSQL: writing saved rows again reported new rows");
    check((await countRows(sql)) === candles.length, "PostgreSQL: writing saved rows again changed the row count");
    await sql`TRUNCATE klines_data`;
    await copyRows(sql, copyChunks(candles));
    check((await countRows(sql)) === candles.length, "COPY loaded a different number of rows");
    await spotCheck(sink, candles, "PostgreSQL after COPY");
    return { sink, sql, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export interface SqliteCase {
  sink: DatabaseSink;
  client: Database;
  insert: (candles: readonly Candle[]) => number;
  close(): Promise<void>;
}

export async function prepareSqlite(candles: Candle[]): Promise<SqliteCase> {
  const dir = mkdtempSync(join(tmpdir(), "ci-bench-sqlite-"));
  const path = join(dir, "bench.db");
  const sink = createDatabaseSink({ url: `sqlite:${path}`, logger: createMemoryLogger() });
  let client: Database | undefined;
  const close = async () => {
    client?.close();
    await sink.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await sink.open();
    client = new Database(path);
    client.run("PRAGMA busy_timeout = 5000");
    const count = () => (client!.query("SELECT count(*) AS n FROM klines_data").get() as { n: number }).n;
    check((await sink.write(candles)) === candles.length, "SQLite sink did not report every row as new");
    check(count() === candles.length, "SQLite holds a different number of rows than written");
    await spotCheck(sink, candles, "SQLite");
    check((await sink.write(candles.filter((_, i) => i % 101 === 0))) === 0, "SQLite: writing saved rows again reported new rows");
    const statement = client.prepare(`INSERT INTO klines_data (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const insert = client.transaction((rows: readonly Candle[]) => {
      for (const c of rows) statement.run(exchangeName(c.exchange), c.coin, candleEndMs(c), c.open, c.high, c.low, c.close, c.volume, c.intervalMinutes, c.filled ? 1 : 0);
      return rows.length;
    });
    client.run("DELETE FROM klines_data");
    insert(candles);
    check(count() === candles.length, "plain INSERTs loaded a different number of rows");
    await spotCheck(sink, candles, "SQLite after plain INSERTs");
    return { sink, client, insert, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function runDatabaseBench(ctx: BenchContext): Promise<Section> {
  const [coins, minutes] = ctx.quick ? [10, 1_250] : [50, 5_000];
  const candles = saveableCandles(EXCHANGES, coins, minutes);
  // The full checks (idempotence, read-back, COPY equivalence) run on a smaller set first: a million
  // rows take most of a minute per pass on this machine. The timed runs are then checked by count.
  const checkCandles = saveableCandles(EXCHANGES, ctx.quick ? 5 : 10, ctx.quick ? 250 : 1_250);
  const n = candles.length;
  const section: Section = { id: "database", title: `Database writes of ${n.toLocaleString("en-US")} candles`, rows: [], notes: [] };
  section.notes.push(
    `${EXCHANGES.length} exchanges × ${coins} coins × ${minutes} minutes, written in one \`write\` call into an empty \`klines_data\` (primary key and coin index in place; emptied before every iteration, untimed). Before timing, each path is checked on ${checkCandles.length.toLocaleString("en-US")} candles: every row reported new and counted once, rows read back equal, a repeated write adds nothing, COPY and plain INSERTs load the same rows; after each timed run the row count is checked. One timed run each (baseline first): a million rows take the better part of a minute per run here.`,
    "PostgreSQL subject: the database sink's idempotent write (batches of unnested arrays, two writers; a batch of rows new to the table goes in by a plain `INSERT`, and a batch holding any saved row by `ON CONFLICT … DO UPDATE … WHERE IS DISTINCT FROM`, timed separately below). Baseline: `COPY klines_data … FROM STDIN` of the same rows, pre-rendered to COPY text (the baseline pays for no rendering, and COPY is not idempotent).",
    "SQLite subject: the database sink (prepared `INSERT … ON CONFLICT DO NOTHING` per row, UPDATE when it conflicts, one transaction). Baseline: a prepared plain `INSERT` per row in one transaction, same rows.",
  );
  const pgUp = await postgresReachable();
  if (!pgUp) {
    const message = `PostgreSQL at ${new URL(POSTGRES_SERVER).host} is unreachable`;
    if (process.env.CI) throw new Error(`${message}, and CI requires it`);
    section.notes.push(`PostgreSQL NOT MEASURED: ${message}.`);
    ctx.log(`database: ${message}; skipping PostgreSQL`);
  }
  const options: TimingOptions = { rounds: 1, timeMs: 0, iterations: 1, warmupIterations: 0 };
  if (pgUp) {
    ctx.log("database: checking PostgreSQL");
    const pg = await preparePostgres(checkCandles);
    try {
      if (ctx.timing) {
        const chunks = copyChunks(candles);
        // COPY checks the foreign keys: the coins and exchanges must exist before it runs (the sink adds its own).
        await pg.sink.write(distinctSeries(candles));
        const empty = async () => {
          await pg.sql`TRUNCATE klines_data`;
          await settlePostgres(pg.sql);
        };
        const full = async () => check((await countRows(pg.sql)) === n, "PostgreSQL: a timed run left a different number of rows");
        ctx.log(`database: timing PostgreSQL (${n} rows, COPY then the sink)`);
        const result = await compare(
          { fn: () => copyRows(pg.sql, chunks), async: true, beforeEach: empty, afterEach: full },
          { fn: () => pg.sink.write(candles), async: true, beforeEach: empty, afterEach: full },
          options,
        );
        const speedShare = 1 / result.ratio;
        section.rows.push({
          what: `PostgreSQL: ${n.toLocaleString("en-US")} candles, idempotent write through the sink`,
          figure: `${fmtMs(result.subject.p50Ms)} (${fmtRate(n / (result.subject.p50Ms / 1000))} rows/s)`,
          baseline: `${fmtMs(result.baseline.p50Ms)} COPY FROM STDIN (${fmtRate(n / (result.baseline.p50Ms / 1000))} rows/s)`,
          ratio: `${fmtRatio(result.ratio)} (the sink runs at ${(speedShare * 100).toFixed(0)}% of COPY's speed)`,
        });
        ctx.figures["pg.speedShareOfCopy"] = speedShare;
        ctx.figures["pg.rowsPerSecond"] = n / (result.subject.p50Ms / 1000);
        // The same rows again, every one already saved: the sink's upsert path (nothing changes).
        ctx.log(`database: timing PostgreSQL, the same ${n} rows written again`);
        await settlePostgres(pg.sql);
        const t0 = performance.now();
        const added = await pg.sink.write(candles);
        const againMs = performance.now() - t0;
        check(added === 0, `PostgreSQL: writing the saved rows again reported ${added} new rows`);
        await full();
        section.rows.push({
          what: `PostgreSQL: the same ${n.toLocaleString("en-US")} candles written again, every one already saved (the upsert path; nothing changes)`,
          figure: `${fmtMs(againMs)} (${fmtRate(n / (againMs / 1000))} rows/s)`,
          baseline: `${fmtMs(result.baseline.p50Ms)} COPY FROM STDIN into the empty table`,
          ratio: `${fmtRatio(againMs / result.baseline.p50Ms)}`,
        });
      }
    } finally {
      await pg.close();
    }
  }
  ctx.log("database: checking SQLite");
  const lite = await prepareSqlite(checkCandles);
  try {
    if (ctx.timing) {
      const empty = () => {
        lite.client.run("DELETE FROM klines_data");
      };
      const full = () => check((lite.client.query("SELECT count(*) AS n FROM klines_data").get() as { n: number }).n === n, "SQLite: a timed run left a different number of rows");
      ctx.log(`database: timing SQLite (${n} rows)`);
      const result = await compare(
        { fn: () => lite.insert(candles), beforeEach: empty, afterEach: full },
        { fn: () => lite.sink.write(candles), async: true, beforeEach: empty, afterEach: full },
        options,
      );
      section.rows.push({
        what: `SQLite (embedded): ${n.toLocaleString("en-US")} candles through the sink`,
        figure: `${fmtMs(result.subject.p50Ms)} (${fmtRate(n / (result.subject.p50Ms / 1000))} rows/s)`,
        baseline: `${fmtMs(result.baseline.p50Ms)} plain INSERTs (${fmtRate(n / (result.baseline.p50Ms / 1000))} rows/s)`,
        ratio: fmtRatio(result.ratio),
      });
      ctx.figures["sqlite.ratio"] = result.ratio;
      ctx.figures["sqlite.rowsPerSecond"] = n / (result.subject.p50Ms / 1000);
    }
  } finally {
    await lite.close();
  }
  return section;
}
