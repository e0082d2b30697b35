/**
 * The bytes of a candles answer, chunk by chunk: a JSON page or the CSV files' own text (Parquet is
 * parquet.ts). Each encoder turns rows into bytes as they come, so nothing holds the whole answer.
 */
import { createAsciiWriter } from "../ascii-writer.ts";
import { CSV_HEADER, RowTextWriter, renderSavedRowBytes } from "../sinks/csv-format.ts";
import { COLUMNS, type SavedRow } from "../domain/saved-row.ts";

export interface RowEncoder {
  readonly contentType: string;
  head(): Uint8Array;
  rows(rows: readonly SavedRow[]): Uint8Array | Promise<Uint8Array>;
  /** `next`: the cursor of the following page (JSON writes it in the body). */
  tail(next: string | null): Uint8Array | Promise<Uint8Array>;
}

const text = new TextEncoder();

/** The CSV files' header and rows, byte for byte (`renderRow`'s text). */
export function createCsvEncoder(): RowEncoder {
  return {
    contentType: "text/csv; charset=utf-8",
    head: () => text.encode(CSV_HEADER + "\n"),
    rows: (rows) => renderSavedRowBytes(rows),
    tail: () => new Uint8Array(0),
  };
}

/**
 * `{"columns":[…],"rows":[[TimeStamp, Exchange, Coin, prices…, Volume, Bucket_Interval],…],"next":…}`:
 * TimeStamps as the CSV files write them, numbers as JSON numbers with the CSV files' digits.
 */
export function createJsonEncoder(): RowEncoder {
  let first = true;
  const names = new Map<string, string>();
  const quoted = (name: string) => {
    let q = names.get(name);
    if (q === undefined) names.set(name, (q = JSON.stringify(name)));
    return q;
  };
  return {
    contentType: "application/json; charset=utf-8",
    head: () => text.encode(`{"columns":${JSON.stringify(COLUMNS)},"rows":[`),
    rows(rows) {
      const w = createAsciiWriter(rows.length * 110 + 16);
      const t = new RowTextWriter(w);
      const number = (value: number) => {
        if (Number.isFinite(value)) t.number(value);
        else w.text("null");
      };
      for (const r of rows) {
        w.text(first ? '["' : ',["');
        first = false;
        t.timestamp(r.endMs);
        w.text('",');
        w.raw(t.encoded(quoted(r.exchangeName)));
        w.byte(44);
        w.raw(t.encoded(quoted(r.coin)));
        w.byte(44);
        number(r.open);
        w.byte(44);
        number(r.high);
        w.byte(44);
        number(r.low);
        w.byte(44);
        number(r.close);
        w.byte(44);
        number(r.volume);
        w.byte(44);
        t.minutes(r.intervalMinutes);
        w.byte(93);
      }
      return w.bytes();
    },
    tail: (next) => text.encode(`],"next":${next === null ? "null" : JSON.stringify(next)}}`),
  };
}
