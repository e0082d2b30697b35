/**
 * The same candles saved through the real sinks into every store (the CSV files, SQLite, and
 * PostgreSQL and MariaDB where they run), and a query-API reader on each: what the query tests compare.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dialect } from "../../src/db/url.ts";
import type { Candle } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { createCsvSource } from "../../src/query/csv-source.ts";
import { createDatabaseSource } from "../../src/query/database-source.ts";
import type { CandleSource } from "../../src/query/source.ts";
import { createPrng } from "../../src/simulator/noise.ts";
import { createCsvSink } from "../../src/sinks/csv.ts";
import { createDatabaseSink } from "../../src/sinks/database.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { DIALECT_LABELS, serverAvailable, testDatabase, type TestDatabase } from "../db/servers.ts";

export const START_MS = Date.UTC(2024, 2, 8, 0, 0);

export interface SavedStore {
  label: string;
  source: CandleSource;
  /** The database URL, for a store that is a database. */
  url?: string;
}

/**
 * A day and a half of one-minute candles for binance BTC and ETH and kraken BTC, plus a 5m series:
 * numbers of every shape (float noise from sums, tiny, large, whole), runs of fed-forward buckets
 * (volume 0, all prices at the previous close, `filled`), and gaps (buckets never saved).
 */
export function sampleCandles(): Candle[] {
  const random = createPrng(7);
  const out: Candle[] = [];
  const series: [string, string, number, number][] = [
    ["binance", "BTC", 1, 67_500],
    ["binance", "ETH", 1, 3_900.5],
    ["kraken", "BTC", 1, 67_480],
    ["binance", "BTC", 5, 67_500],
  ];
  for (const [exchange, coin, interval, base] of series) {
    const size = interval * MINUTE_MS;
    const buckets = Math.floor((36 * 60) / interval);
    let close = base;
    for (let i = 0; i < buckets; i++) {
      const openTimeMs = START_MS + i * size;
      if (i % 97 === 13 || (i >= 600 && i < 640)) continue; // gaps: never fetched
      if (i % 53 === 7 || (i >= 900 && i < 905)) {
        out.push({ exchange, coin, intervalMinutes: interval, openTimeMs, open: close, high: close, low: close, close, volume: 0, filled: true });
        continue;
      }
      const open = close;
      const move = Number(((random() - 0.5) * base * 0.002).toFixed(2));
      const next = Number((open + move).toFixed(2));
      const high = Math.max(open, next) + Number((random() * 5).toFixed(1));
      const low = Math.min(open, next) - Number((random() * 5).toFixed(1));
      const volume = i % 11 === 0 ? 0.1 + 0.2 : i % 17 === 0 ? 1e-7 : i % 19 === 0 ? 123_456_789.123 : Number((random() * 40).toFixed(8)) + 0.00000001;
      out.push({ exchange, coin, intervalMinutes: interval, openTimeMs, open, high, low, close: next, volume, filled: false });
      close = next;
    }
  }
  return out;
}

/** Dialects whose stores this run has: SQLite always, the servers when they answer (under CI they must). */
export async function availableDialects(): Promise<Dialect[]> {
  const out: Dialect[] = ["sqlite"];
  for (const d of ["postgres", "mysql"] as const) if (await serverAvailable(d)) out.push(d);
  return out;
}

/** Saves `candles` through each sink and opens a reader on each store. `close()` removes everything. */
export async function saveEverywhere(candles: readonly Candle[], dialects: readonly Dialect[]): Promise<{ stores: SavedStore[]; csvDirectory: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "ci-query-"));
  const csvDirectory = join(dir, "csv");
  const csv = createCsvSink({ directory: csvDirectory, logger: silentLogger });
  await csv.open();
  await csv.write(candles);
  await csv.close();
  const stores: SavedStore[] = [{ label: "CSV", source: createCsvSource({ directory: csvDirectory }) }];
  const databases: TestDatabase[] = [];
  for (const dialect of dialects) {
    const db = testDatabase(dialect);
    databases.push(db);
    const sink = createDatabaseSink({ url: db.url, logger: silentLogger, now: () => START_MS, connectTimeoutSeconds: 5 });
    await sink.open();
    await sink.write(candles);
    await sink.close();
    stores.push({ label: DIALECT_LABELS[dialect], source: createDatabaseSource({ url: db.url, seriesCacheMs: 0 }), url: db.url });
  }
  return {
    stores,
    csvDirectory,
    async close() {
      for (const s of stores) await s.source.close();
      for (const db of databases) await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A whole answer body as bytes. */
export async function bodyBytes(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}
