/**
 * Decimal strings from exact integers, the way exchanges print prices and volumes: exact at any
 * magnitude, unlike `toFixed` on floats. Hot candle pages use the byte-level `AsciiWriter` instead.
 */

const ZEROS = Array.from({ length: 24 }, (_, n) => "0".repeat(n));
const POWERS = Array.from({ length: 16 }, (_, n) => 10 ** n);

/**
 * `units / 10^decimals` with exactly `places` decimals (`places ≥ decimals`, `units` a non-negative
 * safe integer): `fixed(6751001, 2, 8)` → `67510.01000000`.
 */
export function fixed(units: number, decimals: number, places = decimals): string {
  if (decimals === 0) return places === 0 ? String(units) : `${units}.${ZEROS[places]}`;
  const scale = POWERS[decimals]!;
  let whole = Math.floor(units / scale);
  let fraction = units - whole * scale;
  // Division can round up near a multiple of the scale; the remainder tells.
  if (fraction < 0) {
    whole -= 1;
    fraction += scale;
  }
  const digits = String(fraction);
  return `${whole}.${ZEROS[decimals - digits.length]}${digits}${ZEROS[places - decimals]}`;
}

/** Like `fixed` with `places = decimals`, without trailing zeros (`67540.6`, `67540`). */
export function trimmed(units: number, decimals: number): string {
  const text = fixed(units, decimals);
  if (decimals === 0) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  if (text.charCodeAt(end - 1) === 46) end--;
  return text.slice(0, end);
}
