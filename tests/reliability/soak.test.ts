/**
 * The soak: the service in-process with the simulator on one fast virtual clock, a cycle every
 * simulated minute for SOAK_HOURS hours (default 2; `SOAK_HOURS=24 bun test tests/reliability/soak.test.ts`
 * is the full form), 30 coins on all four exchanges, CSV and PostgreSQL. At the end both stores equal
 * the simulator's data, every series complete and single, and the heap after GC did not grow from the
 * first simulated hour to the last. The full form writes its result to docs/soak-result.md.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { heapStats } from "bun:jsc";
import type { ExchangeId } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { createCsvSink } from "../../src/sinks/csv.ts";
import { createDatabaseSink, type DatabaseSink } from "../../src/sinks/database.ts";
import type { CandleSink } from "../../src/sinks/types.ts";
import { serverAvailable, testDatabase, type TestDatabase } from "../db/servers.ts";
import { expectedCandle, readCsvDir } from "../helpers/oracle.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";
import { checkStore, NO_PROBLEMS } from "./helpers/store-check.ts";
import { sweepSecretsHere } from "./helpers/capture.ts";

const HOURS = Math.max(1, Number(process.env.SOAK_HOURS ?? 2));
const FULL = HOURS >= 24;
const T0 = Date.parse("2024-05-01T00:00:00Z");
const DUE = T0 + 5000;
/** Heap growth allowed from the end of the first simulated hour to the end of the last. */
const HEAP_SLACK_BYTES = 8 * 1024 * 1024;

let h: Harness | undefined;
let db: TestDatabase | undefined;
afterAll(async () => {
  await h?.close();
  await db?.drop();
});

function heapAfterGc(): number {
  Bun.gc(true);
  Bun.gc(true);
  return heapStats().heapSize;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

describe("soak", async () => {
  const withPostgres = await serverAvailable("postgres");
  test(
    `${HOURS} simulated hours of 1-minute cycles, 30 coins × 4 exchanges, CSV${withPostgres ? " + PostgreSQL" : ""}: stores equal the simulator, heap flat`,
    async () => {
      const started = performance.now();
      let database: DatabaseSink | undefined;
      if (withPostgres) db = testDatabase("postgres");
      h = await startHarness({
        startMs: DUE,
        label: "soak",
        keepLines: false,
        yaml: "bucketing_interval: 1m\nn_coins_to_poll: 30\nlist_coins_to_poll: []\n",
        sinks: (dir, logger) => {
          const sinks: CandleSink[] = [createCsvSink({ directory: join(dir, "csv"), logger, lookbackDays: 2 })];
          if (db) sinks.push((database = createDatabaseSink({ url: db.url, logger })));
          return sinks;
        },
      });
      const cycles = HOURS * 60;
      const heap: number[] = [];
      let failed = 0;
      for (let i = 0; i < cycles; i++) {
        const report = await h.tickAt(DUE + i * MINUTE_MS);
        failed += report.reports.reduce((n, r) => n + r.seriesFailed + Object.values(r.sinks).filter((s) => !s.ok).length, 0);
        if ((i + 1) % 60 === 0) heap.push(heapAfterGc());
      }
      const cycleSeconds = (performance.now() - started) / 1000;
      const tracked = h.runtime.service.tracked();
      const series = [...tracked.values()].reduce((n, l) => n + l.length, 0);
      const last = T0 + (cycles - 2) * MINUTE_MS;
      const first = T0 - MINUTE_MS;

      const rows = readCsvDir(h.csvDir);
      const csv = checkStore(rows, tracked, 1, first, last);
      const dbProblems: string[] = [];
      let dbRows = 0;
      if (database) {
        for (const [exchange, markets] of tracked) {
          for (const m of markets) {
            const saved = await database.readCandles(exchange as ExchangeId, m.coin, 1, first - 60 * MINUTE_MS, last + 60 * MINUTE_MS);
            dbRows += saved.length;
            if (saved.length !== cycles || saved[0]?.openTimeMs !== first || saved.at(-1)?.openTimeMs !== last) dbProblems.push(`${exchange} ${m.coin}: ${saved.length} rows`);
            for (const c of saved) {
              const e = expectedCandle(exchange as ExchangeId, m.coin, 1, c.openTimeMs)!;
              if (c.open !== e.open || c.high !== e.high || c.low !== e.low || c.close !== e.close || c.volume !== e.volume || c.filled !== e.filled) {
                dbProblems.push(`${exchange} ${m.coin} ${new Date(c.openTimeMs).toISOString()} differs`);
              }
            }
          }
        }
      }
      const growth = heap.length > 1 ? heap.at(-1)! - heap[0]! : 0;
      const totalSeconds = (performance.now() - started) / 1000;
      const stats = h.sim.stats();
      const summary = [
        `- simulated: ${HOURS} h of 1-minute cycles (${cycles} cycles), ${series} series (30 coins × 4 exchanges, each coin where listed)`,
        `- real time: ${cycleSeconds.toFixed(1)} s for the cycles, ${totalSeconds.toFixed(1)} s with the checks (Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores)`,
        `- CSV: ${rows.length} rows; duplicates ${csv.duplicates.length}, rows differing from the simulator ${csv.mismatches.length}, series with missing or extra buckets ${csv.coverage.length}`,
        database ? `- PostgreSQL: ${dbRows} rows; series or rows differing from the simulator ${dbProblems.length}` : "- PostgreSQL: not reachable, not checked",
        `- failed series or sink writes over all cycles: ${failed}; simulator: ${stats.total.requests} requests, ${stats.total.rateLimited} refused for rate limits, ${stats.total.banned} bans`,
        `- heap after GC at the end of each simulated hour (MB): ${heap.map(mb).join(", ")}`,
        `- heap growth from the first hour to the last: ${mb(growth)} MB (allowed: ${mb(HEAP_SLACK_BYTES)} MB)`,
      ].join("\n");
      console.log(`soak result:\n${summary}`);
      if (FULL) {
        const ok = csv.duplicates.length + csv.mismatches.length + csv.coverage.length + dbProblems.length === 0 && growth < HEAP_SLACK_BYTES && stats.total.rateLimited === 0;
        writeFileSync(
          join(import.meta.dir, "..", "..", "docs", "soak-result.md"),
          `# Soak result\n\nThe last full run of \`SOAK_HOURS=24 bun test tests/reliability/soak.test.ts\` (${new Date().toISOString().slice(0, 10)}): **${ok ? "passed" : "FAILED"}**.\n\n${summary}\n`,
        );
      }
      expect(csv).toEqual(NO_PROBLEMS);
      expect(dbProblems).toEqual([]);
      expect(failed).toBe(0);
      expect(stats.total.rateLimited).toBe(0);
      expect(stats.total.banned).toBe(0);
      if (heap.length > 1) expect(growth).toBeLessThan(HEAP_SLACK_BYTES);
    },
    HOURS * 60_000 + 120_000,
  );
});

sweepSecretsHere();
