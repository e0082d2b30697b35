/**
 * Builds a response body as ASCII bytes: numbers and decimals are written digit by digit into one
 * growing buffer. A 1000-candle page is mostly digits; this avoids thousands of small strings and
 * the join that flattens them, which dominated page time when built from template strings.
 */
export interface AsciiWriter {
  /** An ASCII string as is (JSON punctuation, quoted names). */
  text(value: string): void;
  /** A non-negative safe integer. */
  int(value: number): void;
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
  let buf = new Uint8Array(initialBytes);
  let len = 0;
  const room = (extra: number) => {
    if (len + extra <= buf.length) return;
    const next = new Uint8Array(Math.max(buf.length * 2, len + extra));
    next.set(buf.subarray(0, len));
    buf = next;
  };
  /** Writes exactly `width` digits of `value` (zero-padded); `value` < 10^width. */
  const digits = (value: number, width: number): void => {
    if (value >= 2147483648) {
      // Split so each half runs on 32-bit integer arithmetic.
      const high = Math.floor(value / 1e8);
      digits(high, width - 8);
      digits(value - high * 1e8, 8);
      return;
    }
    let v = value | 0;
    for (let i = len + width - 1; i >= len; i--) {
      const q = (v / 10) | 0;
      buf[i] = 48 + v - q * 10;
      v = q;
    }
    len += width;
  };
  const int = (value: number) => {
    room(17);
    let width = 1;
    while (width < 16 && value >= POWERS[width]!) width++;
    digits(value, width);
  };
  const decimal = (units: number, decimals: number, places: number) => {
    if (decimals === 0) {
      int(units);
    } else {
      const scale = POWERS[decimals]!;
      let whole = Math.floor(units / scale);
      let fraction = units - whole * scale;
      // Division can round up near a multiple of the scale; the remainder tells.
      if (fraction < 0) {
        whole -= 1;
        fraction += scale;
      }
      int(whole);
      room(1 + decimals);
      buf[len++] = 46;
      digits(fraction, decimals);
    }
    if (places > decimals) {
      room(1 + places - decimals);
      if (decimals === 0) buf[len++] = 46;
      for (let i = decimals; i < places; i++) buf[len++] = 48;
    }
  };
  return {
    text(value) {
      room(value.length);
      for (let i = 0; i < value.length; i++) buf[len++] = value.charCodeAt(i);
    },
    int,
    decimal,
    trimmed(units, decimals) {
      let d = decimals;
      let u = units;
      while (d > 0 && u % 10 === 0) {
        u /= 10;
        d--;
      }
      decimal(u, d, d);
    },
    approx(value, decimals, places) {
      const units = Math.round(value * POWERS[decimals]!);
      if (Number.isSafeInteger(units) && units >= 0) decimal(units, decimals, places);
      else this.text(value.toFixed(places));
    },
    bytes: () => buf.subarray(0, len),
  };
}
