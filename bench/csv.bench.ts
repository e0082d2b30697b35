/**
 * CSV writing of a million rows to real files through the CSV sink (`createCsvSink(...).write`),
 * against writing the same bytes, pre-rendered, to the same files.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Candle } from "../src/domain/candle.ts";
import type { NativeExchangeId as ExchangeId } from "../src/exchanges/index.ts";
import { NATIVE_EXCHANGE_IDS } from "../src/exchanges/index.ts";
import { createMemoryLogger } from "../src/telemetry/log.ts";
import { createCsvSink } from "../src/sinks/csv.ts";
import type { CandleSink } from "../src/sinks/types.ts";
import { renderCsvFiles, saveableCandles } from "./candles.ts";
import { compare, type TimingOptions } from "./compare.ts";
import { type BenchContext, check, fmtBytes, fmtMs, fmtRate, fmtRatio, type Section } from "./results.ts";

const EXCHANGES: ExchangeId[] = [...NATIVE_EXCHANGE_IDS];

export interface CsvCase {
  candles: Candle[];
  /** File name → the exact bytes the sink must leave. */
  expected: Map<string, string>;
  bytes: number;
}

function readDir(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir)
      .sort()
      .map((n) => [n, readFileSync(join(dir, n), "utf8")]),
  );
}

export async function prepareCsv(coinsPerExchange: number, minutes: number): Promise<CsvCase> {
  const candles = saveableCandles(EXCHANGES, coinsPerExchange, minutes);
  const expected = renderCsvFiles(candles);
  const dir = mkdtempSync(join(tmpdir(), "ci-bench-csv-"));
  try {
    const sink = createCsvSink({ directory: dir, logger: createMemoryLogger() });
    await sink.open();
    const written = await sink.write(candles);
    check(written === candles.length, `CSV sink reported ${written} new rows of ${candles.length}`);
    const files = readDir(dir);
    check(files.size === expected.size, `CSV sink wrote ${files.size} files, expected ${expected.size}`);
    for (const [name, text] of expected) check(files.get(name) === text, `CSV file ${name} differs from the rendered rows`);
    // Idempotent: the same rows again add nothing and leave the bytes as they were.
    const again = candles.filter((_, i) => i % 997 === 0);
    check((await sink.write(again)) === 0, "writing saved rows again reported new rows");
    const after = readDir(dir);
    for (const [name, text] of expected) check(after.get(name) === text, `CSV file ${name} changed when saved rows were written again`);
    await sink.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  let bytes = 0;
  for (const text of expected.values()) bytes += Buffer.byteLength(text);
  return { candles, expected, bytes };
}

/** The baseline: the same bytes, each file written and flushed to disk once (as the sink's new files are). */
function writePrerendered(dir: string, files: Map<string, string>): number {
  let n = 0;
  for (const [name, text] of files) {
    const fd = openSync(join(dir, name), "w");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    n++;
  }
  return n;
}

export async function runCsvBench(ctx: BenchContext): Promise<Section> {
  const [coins, minutes] = ctx.quick ? [10, 2_500] : [50, 5_000];
  const c = await prepareCsv(coins, minutes);
  const rows = c.candles.length;
  const section: Section = { id: "csv", title: `CSV writing of ${rows.toLocaleString("en-US")} rows`, rows: [], notes: [] };
  section.notes.push(
    `${EXCHANGES.length} exchanges × ${coins} coins × ${minutes} minutes of 1m candles, ${c.expected.size} day files, ${fmtBytes(c.bytes)}, written to a fresh directory on the disk (${tmpdir()}) in one \`write\` call. Subject: the CSV sink (grouping by file, rendering, sorting, writing each new file to a temporary file, fsync, rename). Baseline: the same bytes, pre-rendered, written and fsynced once per file. The sink's files are first checked byte for byte against the format rendered independently, and a repeated write is checked to add nothing.`,
  );
  if (!ctx.timing) return section;
  let dir = "";
  const fresh = () => {
    dir = mkdtempSync(join(tmpdir(), "ci-bench-csv-"));
  };
  const clean = () => rmSync(dir, { recursive: true, force: true });
  let sink: CandleSink | undefined;
  const options: TimingOptions = ctx.quick ? { rounds: 1, timeMs: 0, iterations: 2, warmupIterations: 0 } : { rounds: 3, timeMs: 0, iterations: 1, warmupIterations: 0 };
  const result = await compare(
    { fn: () => writePrerendered(dir, c.expected), beforeEach: fresh, afterEach: clean },
    {
      fn: () => sink!.write(c.candles),
      async: true,
      beforeEach: async () => {
        fresh();
        sink = createCsvSink({ directory: dir, logger: createMemoryLogger() });
        await sink.open();
      },
      afterEach: clean,
    },
    options,
  );
  section.rows.push({
    what: `${rows.toLocaleString("en-US")} rows through the CSV sink`,
    figure: `${fmtMs(result.subject.p50Ms)} (${fmtRate(rows / (result.subject.p50Ms / 1000))} rows/s)`,
    baseline: `${fmtMs(result.baseline.p50Ms)} pre-rendered bytes (${fmtRate(c.bytes / 1024 / 1024 / (result.baseline.p50Ms / 1000))} MiB/s)`,
    ratio: fmtRatio(result.ratio),
  });
  ctx.figures["csv.ratio"] = result.ratio;
  ctx.figures["csv.rowsPerSecond"] = rows / (result.subject.p50Ms / 1000);
  return section;
}
