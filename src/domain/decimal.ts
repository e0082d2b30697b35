/** Float noise, pure: what a summed volume (0.6303000000000001) stands for. */

/**
 * The scaled digits of `a` (≥ 0) when it is a decimal of at most 8 places and 15 digits
 * (`a === digits / 1e8`), else -1. Such a value is the one decimal of 15 or fewer significant
 * digits that reads as this double, so its shortest text, and its 15-digit rounding, is itself.
 */
export function shortDecimalDigits(a: number): number {
  const scaled = Math.round(a * 1e8);
  return scaled <= 999_999_999_999_999 && scaled / 1e8 === a ? scaled : -1;
}

/**
 * `Number(value.toPrecision(15))`: the decimal a value with float noise stands for. An exchange's
 * own decimals (most values) come back as they are without the conversion, which cost a backfill
 * more than building its candles did.
 */
export function round15(value: number): number {
  if (value === 0) return 0;
  if (shortDecimalDigits(value < 0 ? -value : value) >= 0) return value;
  return Number(value.toPrecision(15));
}
