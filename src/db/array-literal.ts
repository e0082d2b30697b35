/**
 * PostgreSQL array literals (`{1.5,2,"BTC"}`) for the batch upsert: each column goes to the server
 * as one text parameter, cast there (`$1::float8[]`). postgres.js would otherwise serialise every
 * element in JavaScript, about 6 µs of client CPU a row, more than the rest of a backfill's work
 * per candle. Numbers are written as the shortest text that reads back as the same double (pure).
 */
import { createAsciiWriter, writeShortDecimal } from "../ascii-writer.ts";

const COMMA = 44;
const decoder = new TextDecoder();

/** `{…}` of finite numbers; each element reads back as exactly the same double. */
export function numberArrayLiteral(values: readonly number[]): string {
  const w = createAsciiWriter(values.length * 12 + 2);
  w.byte(123);
  for (let i = 0; i < values.length; i++) {
    if (i > 0) w.byte(COMMA);
    const value = values[i]!;
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    if (Number.isSafeInteger(value) && value >= 0) {
      w.int(value);
      continue;
    }
    writeShortDecimal(w, value, String);
  }
  w.byte(125);
  return decoder.decode(w.bytes());
}

/** `{"…",…}` of strings, each quoted, with `"` and `\` escaped. */
export function textArrayLiteral(values: readonly string[]): string {
  const quoted = new Map<string, string>();
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    let q = quoted.get(value);
    if (q === undefined) {
      q = `"${value.replace(/["\\]/g, "\\$&")}"`;
      quoted.set(value, q);
    }
    out[i] = q;
  }
  return `{${out.join(",")}}`;
}
