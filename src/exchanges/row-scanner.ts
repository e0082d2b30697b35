/**
 * Reads a page of flat rows (`[[1717200000000,"67510.01",…],…]`) straight from the response text:
 * no JSON.parse, no string per field. JSON.parse was the largest cost of a backfill (a Poloniex page
 * is 500 rows of 14 fields, ten of them strings). It accepts a narrow, compact form and gives up
 * (undefined) on anything else: whitespace, escapes, nested values, a number it cannot convert
 * exactly, a value of the wrong kind. The caller then parses the text as JSON and checks it with the
 * schema, so what it accepts always equals what JSON.parse and the schema would give.
 */

/**
 * `int`: a JSON integer within 2^53 (z.number().int()); `decimal`: a string holding a decimal
 * number (decimalString); `intString`: a string of 1 to 16 digits (integerString); `string`: any
 * string; `any`: any scalar (the rows' unchecked rest).
 */
export type ColumnKind = "int" | "decimal" | "intString" | "string" | "any";

export interface RowShape {
  /** Kinds of the leading columns; a row may be longer (the rest is `any`), never shorter. */
  columns: readonly ColumnKind[];
  /** Columns whose numbers are handed to `emit`, in this order. */
  pick: readonly number[];
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const OPEN = 91;
const CLOSE = 93;
const BACKSLASH = 92;

/**
 * Scans `[row,row,…]` starting at `from`. Per row, `emit` gets the picked columns' numbers (NaN for
 * a picked column that is a non-numeric string). Returns the index after the closing `]`, or
 * undefined when the text is not in the narrow form this reads.
 */
export function scanRows(text: string, from: number, shape: RowShape, emit: (values: Float64Array) => void): number | undefined {
  const { columns, pick } = shape;
  const values = new Float64Array(pick.length);
  const slotOf = new Int32Array(columns.length).fill(-1);
  for (let s = 0; s < pick.length; s++) slotOf[pick[s]!] = s;
  const n = text.length;
  let i = from;
  if (text.charCodeAt(i) !== OPEN) return undefined;
  i++;
  if (text.charCodeAt(i) === CLOSE) return i + 1;
  for (;;) {
    if (text.charCodeAt(i) !== OPEN) return undefined;
    i++;
    let column = 0;
    for (;;) {
      const kind: ColumnKind = column < columns.length ? columns[column]! : "any";
      const c = text.charCodeAt(i);
      let value = Number.NaN;
      if (c === QUOTE && kind === "decimal") {
        // A decimal string, read in the same pass that finds its closing quote.
        const j = decimalEnd(text, i + 1);
        if (j < 0 || text.charCodeAt(j) !== QUOTE) return undefined;
        value = decimalValue;
        i = j + 1;
      } else if (c === QUOTE) {
        // A string: find its end; escapes and control characters are left to JSON.parse.
        const start = i + 1;
        let j = start;
        for (; j < n; j++) {
          const d = text.charCodeAt(j);
          if (d === QUOTE) break;
          if (d === BACKSLASH || d < 32) return undefined;
        }
        if (j >= n) return undefined;
        if (kind === "intString") {
          value = integerText(text, start, j);
          if (Number.isNaN(value)) return undefined;
        } else if (kind === "int") {
          return undefined;
        }
        i = j + 1;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        if (kind !== "int" && kind !== "any") return undefined;
        // A JSON number; here only integers (anything else goes to JSON.parse).
        let j = i;
        const negative = c === MINUS;
        if (negative) j++;
        const digitsFrom = j;
        let m = 0;
        for (; j < n; j++) {
          const d = text.charCodeAt(j);
          if (d < ZERO || d > NINE) break;
          m = m * 10 + (d - ZERO);
        }
        const digits = j - digitsFrom;
        if (digits === 0 || digits > 15 || (digits > 1 && text.charCodeAt(digitsFrom) === ZERO)) return undefined;
        const after = text.charCodeAt(j);
        if (after === DOT || after === 101 || after === 69) return undefined;
        value = negative ? -m : m;
        i = j;
      } else if (kind === "any" && (text.startsWith("true", i) || text.startsWith("null", i))) {
        i += 4;
      } else if (kind === "any" && text.startsWith("false", i)) {
        i += 5;
      } else {
        return undefined;
      }
      if (column < columns.length && slotOf[column]! >= 0) values[slotOf[column]!] = value;
      column++;
      const next = text.charCodeAt(i);
      i++;
      if (next === COMMA) continue;
      if (next === CLOSE) break;
      return undefined;
    }
    if (column < columns.length) return undefined;
    emit(values);
    const next = text.charCodeAt(i);
    i++;
    if (next === COMMA) continue;
    if (next === CLOSE) return i;
    return undefined;
  }
}

/** The number `decimalEnd` read last (a module slot: no object per value). */
let decimalValue = Number.NaN;

/**
 * Reads `-?\d+(\.\d+)?([eE][-+]?\d+)?` from `start` (`decimalString`'s form); returns the index after
 * it (the caller checks what follows) with the number in `decimalValue`, or -1 when no such
 * number starts there. Up to 15 significant digits without an exponent it divides two exact doubles
 * (one correctly rounded division: the same double as Number); otherwise it calls Number on the text.
 */
function decimalEnd(text: string, start: number): number {
  let i = start;
  const negative = text.charCodeAt(i) === MINUS;
  if (negative) i++;
  let m = 0;
  const intFrom = i;
  let d = text.charCodeAt(i);
  while (d >= ZERO && d <= NINE) {
    m = m * 10 + (d - ZERO);
    d = text.charCodeAt(++i);
  }
  let digits = i - intFrom;
  if (digits === 0) return -1;
  let scale = 0;
  if (d === DOT) {
    const fracFrom = ++i;
    d = text.charCodeAt(i);
    while (d >= ZERO && d <= NINE) {
      m = m * 10 + (d - ZERO);
      d = text.charCodeAt(++i);
    }
    scale = i - fracFrom;
    if (scale === 0) return -1;
    digits += scale;
  }
  if (d === 101 || d === 69) {
    // An exponent: check its form, then let Number convert.
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 43 || sign === MINUS) i++;
    const expFrom = i;
    d = text.charCodeAt(i);
    while (d >= ZERO && d <= NINE) d = text.charCodeAt(++i);
    if (i === expFrom) return -1;
    decimalValue = Number(text.slice(start, i));
    return i;
  }
  if (digits <= 15 && scale <= 22) {
    const v = scale === 0 ? m : m / POW10[scale]!;
    decimalValue = negative ? -v : v;
  } else {
    decimalValue = Number(text.slice(start, i));
  }
  return i;
}

/** `Number(text)` for a string `integerString` accepts (1 to 16 digits), else NaN. */
function integerText(text: string, start: number, end: number): number {
  const length = end - start;
  if (length < 1 || length > 16) return Number.NaN;
  let m = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i);
    if (d < ZERO || d > NINE) return Number.NaN;
    m = m * 10 + (d - ZERO);
  }
  return length <= 15 ? m : Number(text.slice(start, end));
}
