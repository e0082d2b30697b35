/**
 * Candles as a Parquet file, written row group by row group as rows arrive (hyparquet-writer: pure
 * JavaScript, so the executable carries it without a native or wasm part). Types: TimeStamp INT64
 * TIMESTAMP(MILLIS, adjusted to UTC), Exchange and Coin UTF-8 strings, prices and Volume DOUBLE,
 * Bucket_Interval INT32, all required. Values are the CSV files' numbers (`formatNumber`), so a
 * Parquet export is the same from the database and from the CSV files.
 */
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { shortDecimalDigits } from "../domain/decimal.ts";
import { formatNumber } from "../sinks/csv-format.ts";
import { VERSION_LINE } from "../cli/version.ts";
import type { RowEncoder } from "./encoders.ts";
import type { SavedRow } from "../domain/saved-row.ts";

/**
 * Rows per row group: a year of minutes is eleven groups. hyparquet-writer's transient memory while
 * it encodes a group grows with the group (+80 MB at 50,000 rows, +120 MB at 100,000, measured), and
 * a group of candles is ~1.2 MB of Parquet either way.
 */
export const PARQUET_ROW_GROUP_ROWS = 50_000;

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]["schema"][number];

const DOUBLES = ["OpenPrice", "HighPrice", "LowPrice", "ClosePrice", "Volume"] as const;

export const PARQUET_SCHEMA: SchemaElement[] = [
  { name: "schema", num_children: 9 },
  { name: "TimeStamp", type: "INT64", repetition_type: "REQUIRED", converted_type: "TIMESTAMP_MILLIS", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" } },
  { name: "Exchange", type: "BYTE_ARRAY", repetition_type: "REQUIRED", converted_type: "UTF8", logical_type: { type: "STRING" } },
  { name: "Coin", type: "BYTE_ARRAY", repetition_type: "REQUIRED", converted_type: "UTF8", logical_type: { type: "STRING" } },
  ...DOUBLES.map((name): SchemaElement => ({ name, type: "DOUBLE", repetition_type: "REQUIRED" })),
  { name: "Bucket_Interval", type: "INT32", repetition_type: "REQUIRED" },
];

/**
 * The value a CSV file holds for `value` (`Number(formatNumber(value))`): what every export writes.
 * A decimal of at most 8 places and 15 digits, most prices and volumes, is already that value.
 */
function csvValue(value: number): number {
  if (value === 0) return 0;
  const a = value < 0 ? -value : value;
  return a >= 1e-6 && shortDecimalDigits(a) >= 0 ? value : Number(formatNumber(value));
}

export function createParquetEncoder(options: { rowGroupRows?: number } = {}): RowEncoder {
  const groupRows = options.rowGroupRows ?? PARQUET_ROW_GROUP_ROWS;
  const writer = new ByteWriter(1 << 20);
  // hyparquet-writer calls flush after each row group: the bytes so far are handed out and the buffer reused.
  const taken: Uint8Array[] = [];
  const take = () => {
    if (writer.index === 0) return;
    taken.push(new Uint8Array(writer.buffer.slice(0, writer.index)));
    writer.index = 0;
  };
  (writer as { flush?: () => void }).flush = take;
  const parquet = new ParquetWriter({ writer, schema: PARQUET_SCHEMA, codec: "SNAPPY", createdBy: VERSION_LINE });
  const collected = () => {
    take();
    if (taken.length === 1) return taken.pop()!;
    const size = taken.reduce((n, b) => n + b.length, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const b of taken) {
      out.set(b, at);
      at += b.length;
    }
    taken.length = 0;
    return out;
  };

  // The pending row group, column by column.
  let n = 0;
  const times = new Float64Array(groupRows);
  const exchanges: string[] = [];
  const coins: string[] = [];
  const doubles = DOUBLES.map(() => new Float64Array(groupRows));
  const intervals = new Int32Array(groupRows);

  const writeGroup = async () => {
    if (n === 0) return;
    await parquet.write({
      rowGroupSize: n,
      columnData: [
        { name: "TimeStamp", data: times.subarray(0, n) },
        { name: "Exchange", data: exchanges.slice(0, n) },
        { name: "Coin", data: coins.slice(0, n) },
        ...DOUBLES.map((name, i) => ({ name, data: doubles[i]!.subarray(0, n) })),
        { name: "Bucket_Interval", data: intervals.subarray(0, n) },
      ],
    });
    n = 0;
  };

  return {
    contentType: "application/vnd.apache.parquet",
    head: collected, // the file's leading magic bytes
    async rows(rows: readonly SavedRow[]) {
      for (const r of rows) {
        times[n] = r.endMs;
        exchanges[n] = r.exchangeName;
        coins[n] = r.coin;
        doubles[0]![n] = csvValue(r.open);
        doubles[1]![n] = csvValue(r.high);
        doubles[2]![n] = csvValue(r.low);
        doubles[3]![n] = csvValue(r.close);
        doubles[4]![n] = csvValue(r.volume);
        intervals[n] = r.intervalMinutes;
        n++;
        if (n === groupRows) await writeGroup();
      }
      return collected();
    },
    async tail() {
      await writeGroup();
      await parquet.finish();
      return collected();
    },
  };
}
