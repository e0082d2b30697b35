/**
 * A candles query answered as a stream of bytes: JSON pages, the CSV files' text, or Parquet. The
 * same function serves `/api/candles` and `cryptointellect export`. Rows are read from the store in
 * chunks and encoded as they come; only the first chunk is read before the answer starts, so a
 * store that cannot be read is an error the caller can still report (503, exit 1).
 */
import { formatInterval, MINUTE_MS } from "../domain/interval.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { encodeCursor, seriesKeyText } from "./cursor.ts";
import { createCsvEncoder, createJsonEncoder, type RowEncoder } from "./encoders.ts";
import { type CandleQuery, queryRange } from "./params.ts";
import { createParquetEncoder } from "./parquet.ts";
import type { SavedRow } from "../domain/saved-row.ts";
import type { CandleSource } from "./source.ts";

/**
 * A full garbage collection after each this many rows served. The rows, texts and buffers of an
 * answer are garbage as soon as they are sent, but the collector lets them pile up: a year of
 * minutes as CSV raised the server's peak RSS by 63 MB against 24 MB for a month, and a Parquet row
 * group's transient columns by ~250 MB. Collected every 50,000 rows (a few ms each), the peak stays
 * near the month's whatever the size of the answer (bench/api.bench.ts measures it).
 */
const COLLECT_EVERY_ROWS = 50_000;

export interface CandleAnswer {
  contentType: string;
  /** The download name of a csv or parquet answer: `binance_BTC_5m_2024-03-01_2024-03-31.csv`. */
  filename: string | undefined;
  /**
   * A csv or parquet answer cut at its row limit: the cursor of the rest (`X-Next-Cursor`). A JSON
   * page carries its `next` in the body.
   */
  next: string | null;
  body: ReadableStream<Uint8Array>;
}

export interface AnswerOptions {
  logger?: Logger;
  /** Rows handed to the encoder at once (small chunks, a day file of a daily series, are joined). */
  batchRows?: number;
  parquetRowGroupRows?: number;
  /** Told the number of rows of each chunk as it is served. */
  onRows?: (rows: number) => void;
}

export async function answerCandles(source: CandleSource, query: CandleQuery, options: AnswerOptions = {}): Promise<CandleAnswer> {
  const key = { exchange: query.exchange, coin: query.coin, intervalMinutes: query.intervalMinutes };
  const series = seriesKeyText(query.exchange, query.coin, query.intervalMinutes);
  const size = query.intervalMinutes * MINUTE_MS;
  let { afterEndMs, toEndMs } = queryRange(query);
  let next: string | null = null;
  let filename: string | undefined;
  let encoder: RowEncoder;

  if (query.format === "json") {
    encoder = createJsonEncoder();
  } else {
    encoder = query.format === "csv" ? createCsvEncoder() : createParquetEncoder({ rowGroupRows: options.parquetRowGroupRows });
    // One row per bucket: a range of `limit` buckets from the first saved one holds at most `limit` rows.
    const bounds = await source.bounds(key);
    const startMs = bounds && Math.max(Math.ceil((afterEndMs + 1) / size) * size, bounds.firstEndMs);
    let cutAtMs: number | undefined;
    if (bounds && startMs !== undefined && Number.isFinite(query.limit)) {
      const lastMs = startMs + (query.limit - 1) * size;
      if (lastMs < Math.min(toEndMs, bounds.lastEndMs)) {
        cutAtMs = lastMs;
        toEndMs = lastMs;
        next = encodeCursor({ series, afterEndMs: lastMs });
      }
    }
    const fromMs = query.afterEndMs === undefined ? (query.fromEndMs ?? bounds?.firstEndMs) : startMs;
    const toMs = cutAtMs ?? query.toEndMs ?? bounds?.lastEndMs;
    filename = `${query.exchange}_${query.coin}_${formatInterval(query.intervalMinutes)}_${fileStamp(fromMs, "start")}_${fileStamp(toMs, "end")}.${query.format}`;
  }

  // JSON reads one row more than it serves: whether there is a next page.
  const maxRows = query.format === "json" ? query.limit + 1 : query.limit;
  const chunks = batched(source.rows(key, afterEndMs, toEndMs, maxRows), options.batchRows ?? 4096)[Symbol.asyncIterator]();
  let first: IteratorResult<SavedRow[]>;
  try {
    first = await chunks.next();
  } catch (error) {
    await chunks.return?.(undefined);
    throw error;
  }

  async function* bytes(): AsyncGenerator<Uint8Array> {
    try {
      yield encoder.head();
      let served = 0;
      let lastEndMs: number | undefined;
      let more = false;
      for (let r = first; !r.done; r = await chunks.next()) {
        let rows = r.value;
        if (served + rows.length > query.limit) {
          rows = rows.slice(0, query.limit - served);
          more = true;
        }
        served += rows.length;
        options.onRows?.(rows.length);
        if (rows.length > 0) {
          lastEndMs = rows[rows.length - 1]!.endMs;
          const encoded = await encoder.rows(rows);
          if (encoded.length > 0) yield encoded;
        }
        // Once the chunk is handed on, what made it is garbage.
        if (Math.floor(served / COLLECT_EVERY_ROWS) !== Math.floor((served - rows.length) / COLLECT_EVERY_ROWS)) Bun.gc(true);
        if (more) break;
      }
      if (query.format === "json") next = more && lastEndMs !== undefined ? encodeCursor({ series, afterEndMs: lastEndMs }) : null;
      const tail = await encoder.tail(next);
      if (tail.length > 0) yield tail;
    } finally {
      await chunks.return?.(undefined);
    }
  }

  return { contentType: encoder.contentType, filename, next: query.format === "json" ? null : next, body: toStream(bytes(), options.logger) };
}

/** A pull stream over the chunks: the next chunk is made only when the reader wants it. */
function toStream(chunks: AsyncGenerator<Uint8Array>, logger: Logger | undefined): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await chunks.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          // Too late for a status: the answer ends unfinished, so no reader mistakes it for a whole one.
          logger?.error("candles answer failed while streaming", { error: describeError(error) });
          controller.error(error);
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

/** Chunks joined until each has at least `rows` rows (the last may have fewer). */
async function* batched(chunks: AsyncIterable<SavedRow[]>, rows: number): AsyncGenerator<SavedRow[]> {
  let pending: SavedRow[] = [];
  for await (const chunk of chunks) {
    if (pending.length === 0 && chunk.length >= rows) {
      yield chunk;
      continue;
    }
    for (const r of chunk) pending.push(r);
    if (pending.length >= rows) {
      yield pending;
      pending = [];
    }
  }
  if (pending.length > 0) yield pending;
}

/** `2024-03-08` at midnight, else `2024-03-08T1245Z` (no colons: a file name on every system). */
export function fileStamp(ms: number | undefined, none: string): string {
  if (ms === undefined || !Number.isFinite(ms)) return none;
  const iso = new Date(ms).toISOString();
  const day = iso.slice(0, 10);
  if (ms % 86_400_000 === 0) return day;
  const time = iso.slice(11, 19).replace(/:/g, "");
  return `${day}T${time.endsWith("00") ? time.slice(0, 4) : time}Z`;
}
