/**
 * `cryptointellect export`: one series' saved candles as CSV or Parquet, to a file or standard
 * output. The rows and bytes are those of GET /api/candles (the same parameters, parser and
 * answer), without its row limit. A file is written under a temporary name and renamed into place
 * once complete: never a torn file under the name asked for.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Config } from "../config/config.ts";
import { UsageError } from "../errors.ts";
import { ccxtCatalog } from "../exchanges/ccxt-catalog.ts";
import { isNativeExchange } from "../exchanges/index.ts";
import { recordExchangeName } from "../exchanges/names.ts";
import type { Logger } from "../telemetry/log.ts";
import { answerCandles } from "../query/answer.ts";
import { parseCandleQuery } from "../query/params.ts";
import { createCandleSource } from "../query/source.ts";

export interface ExportArgs {
  /** The query's parameters by their API names (`exchange`, `from`, …). */
  values: Map<string, string[]>;
  /** The file to write; undefined (or `-`): standard output. */
  out: string | undefined;
}

const FLAGS = ["format", "exchange", "coin", "interval", "from", "to"] as const;

/** `--format csv --exchange binance …` (also `--flag=value`) to the query's parameters and the output. */
export function parseExportArgs(argv: readonly string[]): ExportArgs {
  const values = new Map<string, string[]>();
  let out: string | undefined;
  const rest = [...argv];
  while (rest.length > 0) {
    const raw = rest.shift()!;
    const eq = raw.indexOf("=");
    const flag = raw.startsWith("--") && eq > 0 ? raw.slice(0, eq) : raw;
    const name = flag.slice(2);
    if (!flag.startsWith("--") || !(name === "out" || (FLAGS as readonly string[]).includes(name))) {
      throw new UsageError(`export: unexpected argument "${printable(raw)}" (see cryptointellect export --help)`);
    }
    let value: string | undefined;
    if (flag !== raw) value = raw.slice(eq + 1);
    else {
      value = rest.shift();
      if (value === undefined || (value.startsWith("--") && value !== "-")) throw new UsageError(`export: ${flag} needs a value`);
    }
    if (name === "out") {
      if (out !== undefined) throw new UsageError("export: --out is given twice");
      if (value === "") throw new UsageError("export: --out needs a file path (or - for standard output)");
      out = value;
      continue;
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const format = values.get("format")?.[0];
  if (format === undefined) throw new UsageError("export: --format is required: csv or parquet");
  if (!["csv", "parquet"].includes(format.toLowerCase())) throw new UsageError(`export: --format "${printable(format)}" is not csv or parquet`);
  for (const required of ["exchange", "coin"]) if (!values.has(required)) throw new UsageError(`export: --${required} is required`);
  return { values, out: out === "-" ? undefined : out };
}

export interface ExportIo {
  /** Diagnostics (the summary line, errors). */
  err: (text: string) => void;
  /** Standard output as bytes; default: the process's, with backpressure. */
  stdout?: { write(bytes: Uint8Array): void | Promise<void>; isTTY: boolean };
  logger: Logger;
  /** SIGTERM/SIGINT: the export stops between chunks, and a file asked for is not written. */
  signal?: AbortSignal;
}

/** Runs the export; returns the exit code. Bad arguments throw UsageError (exit 2). */
export async function runExport(config: Config, argv: readonly string[], io: ExportIo): Promise<number> {
  const args = parseExportArgs(argv);
  const parsed = parseCandleQuery(args.values, { defaultIntervalMinutes: config.bucketIntervalMinutes, unlimited: true });
  if (!parsed.ok) throw new UsageError(`export: --${parsed.parameter}: ${parsed.error}`);
  const query = parsed.query;
  const stdout = io.stdout ?? processStdout();
  if (args.out === undefined && query.format === "parquet" && stdout.isTTY) throw new UsageError("export: Parquet is binary: give --out FILE, or redirect standard output");

  // The database stores a ccxt exchange under its brand (`OKX`): name a configured one as the service does.
  if (config.saveToDatabase && config.exchanges.includes(query.exchange) && !isNativeExchange(query.exchange)) {
    const brand = ccxtCatalog.describe(query.exchange)?.brand;
    if (brand) recordExchangeName(query.exchange, brand);
  }

  const source = createCandleSource(config, { logger: io.logger });
  let rows = 0;
  try {
    const answer = await answerCandles(source, query, { logger: io.logger, onRows: (n) => (rows += n) });
    const chunks = untilStopped(answer.body, io.signal);
    if (args.out === undefined) {
      for await (const chunk of chunks) await stdout.write(chunk);
    } else {
      await writeAtomically(args.out, chunks);
      io.err(`cryptointellect: wrote ${rows} row${rows === 1 ? "" : "s"} of ${query.exchange} ${query.coin} to ${args.out}\n`);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof ExportStopped)) throw error;
    io.err(`cryptointellect: export stopped after ${rows} row${rows === 1 ? "" : "s"}${args.out === undefined ? "" : `; ${args.out} was not written`}\n`);
    return 1;
  } finally {
    await source.close();
  }
}

class ExportStopped extends Error {}

/** The body's chunks until the signal aborts (checked between chunks); then the reading is cancelled. */
async function* untilStopped(body: ReadableStream<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      if (signal?.aborted) throw new ExportStopped();
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
}

/** Streams `chunks` into a temporary file beside `path`, syncs it and renames it over `path`; on any failure `path` is untouched. */
async function writeAtomically(path: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  const fd = openSync(tmp, "wx", 0o644);
  let closed = false;
  try {
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at, chunk.length - at);
    }
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, path);
  } catch (error) {
    if (!closed) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw error;
  }
}

function processStdout(): { write(bytes: Uint8Array): Promise<void>; isTTY: boolean } {
  const sink = Bun.stdout.writer();
  return {
    isTTY: Boolean(process.stdout.isTTY),
    async write(bytes) {
      sink.write(bytes);
      await sink.flush();
    },
  };
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 60);
}
