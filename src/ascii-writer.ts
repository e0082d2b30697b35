/**
 * Builds text as bytes: numbers and decimals are written digit by digit into one growing buffer.
 * A page of candles (the simulator's bodies, the CSV sink's rows) is mostly digits; this avoids
 * thousands of small strings and the join that flattens them, which dominated when built from
 * template strings.
 */
import { shortDecimalDigits } from "./domain/decimal.ts";

export interface AsciiWriter {
  /** An ASCII string as is (JSON punctuation, quoted names). */
  text(value: string): void;
  /** One ASCII character by its code (a separator). */
  byte(code: number): void;
  /** Bytes as they are (text encoded once, e.g. UTF-8 names). */
  raw(bytes: Uint8Array): void;
  /** A non-negative safe integer. */
  int(value: number): void;
  /** A non-negative integer below 10^width, zero-padded to `width` digits. */
  padded(value: number, width: number): void;
  /** `units / 10^decimals` with exactly `places` decimals (`places ≥ decimals`), like `fixed`. */
  decimal(units: number, decimals: number, places: number): void;
  /** Like `decimal` with `places = decimals`, without trailing zeros (`67540.6`, `67540`). */
  trimmed(units: number, decimals: number): void;
  /** A float rounded to `decimals`, written with `places` decimals (approximate values: quote volumes). */
  approx(value: number, decimals: number, places: number): void;
  bytes(): Uint8Array;
}

const POWERS = Array.from({ length: 16 }, (_, n) => 10 ** n);

export function createAsciiWriter(initialBytes = 1 << 16): AsciiWriter {
  return new AsciiBuffer(initialBytes);
}

/** A class, not closures: its buffer and length stay fields the JIT keeps close (twice as fast). */
class AsciiBuffer implements AsciiWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialBytes: number) {
    this.buf = new Uint8Array(Math.max(16, initialBytes));
  }

  private room(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes exactly `width` digits of `value` (zero-padded); `value` < 10^width; room is made. */
  private digits(value: number, width: number): void {
    if (value >= 2147483648) {
      // Split so each half runs on 32-bit integer arithmetic.
      const high = Math.floor(value / 1e8);
      this.digits(high, width - 8);
      this.digits(value - high * 1e8, 8);
      return;
    }
    const buf = this.buf;
    const start = this.len;
    let v = value | 0;
    for (let i = start + width - 1; i >= start; i--) {
      const q = (v / 10) | 0;
      buf[i] = 48 + v - q * 10;
      v = q;
    }
    this.len = start + width;
  }

  text(value: string): void {
    this.room(value.length);
    const buf = this.buf;
    let len = this.len;
    for (let i = 0; i < value.length; i++) buf[len++] = value.charCodeAt(i);
    this.len = len;
  }

  byte(code: number): void {
    this.room(1);
    this.buf[this.len++] = code;
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  int(value: number): void {
    this.room(17);
    let width = 1;
    if (value < 2147483648) for (let t = value | 0; t >= 10; t = (t / 10) | 0) width++;
    else while (width < 16 && value >= POWERS[width]!) width++;
    this.digits(value, width);
  }

  padded(value: number, width: number): void {
    this.room(width);
    this.digits(value, width);
  }

  /** Writes the whole part of `units / scale` and returns the remainder (0 ≤ it < scale). */
  private whole(units: number, scale: number): number {
    let whole = Math.floor(units / scale);
    let fraction = units - whole * scale;
    // Division can round up near a multiple of the scale; the remainder tells.
    if (fraction < 0) {
      whole -= 1;
      fraction += scale;
    }
    this.int(whole);
    return fraction;
  }

  decimal(units: number, decimals: number, places: number): void {
    if (decimals === 0) {
      this.int(units);
    } else {
      const fraction = this.whole(units, POWERS[decimals]!);
      this.room(1 + decimals);
      this.buf[this.len++] = 46;
      this.digits(fraction, decimals);
    }
    if (places > decimals) {
      this.room(1 + places - decimals);
      if (decimals === 0) this.buf[this.len++] = 46;
      for (let i = decimals; i < places; i++) this.buf[this.len++] = 48;
    }
  }

  trimmed(units: number, decimals: number): void {
    if (decimals === 0) {
      this.int(units);
      return;
    }
    const fraction = this.whole(units, POWERS[decimals]!);
    if (fraction === 0) return;
    if (decimals <= 9) this.fraction32(fraction | 0, decimals);
    else this.fractionWide(fraction, decimals);
  }

  /** `.` and a fraction of `decimals` places (below 10^9), trailing zeros dropped, in 32-bit arithmetic. */
  private fraction32(fraction: number, decimals: number): void {
    let f = fraction;
    let d = decimals;
    for (let q = (f / 10) | 0; f === q * 10; q = (f / 10) | 0) {
      f = q;
      d--;
    }
    this.room(1 + d);
    this.buf[this.len++] = 46;
    this.digits(f, d);
  }

  private fractionWide(fraction: number, decimals: number): void {
    let f = fraction;
    let d = decimals;
    while (f % 10 === 0) {
      f /= 10;
      d--;
    }
    this.room(1 + d);
    this.buf[this.len++] = 46;
    this.digits(f, d);
  }

  approx(value: number, decimals: number, places: number): void {
    const units = Math.round(value * POWERS[decimals]!);
    if (Number.isSafeInteger(units) && units >= 0) this.decimal(units, decimals, places);
    else this.text(value.toFixed(places));
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * `value` as the shortest text that reads back as it, written from its digits when it is a decimal
 * of at most 8 places and 15 digits and at least 1e-6 in size (where JavaScript's own text has no
 * exponent): that decimal is the one text of 15 or fewer significant digits that reads as this
 * double, which is what `String` gives. Zero is `0`. Anything else is written as `otherwise(value)`.
 */
export function writeShortDecimal(w: AsciiWriter, value: number, otherwise: (value: number) => string): void {
  if (value === 0) {
    w.byte(48);
    return;
  }
  const a = value < 0 ? -value : value;
  const scaled = a >= 1e-6 ? shortDecimalDigits(a) : -1;
  if (scaled < 0) {
    w.text(otherwise(value));
    return;
  }
  if (value < 0) w.byte(45);
  w.trimmed(scaled, 8);
}
