/**
 * The bounds of docs/numbers.md: wire decimals of up to 15 significant digits survive every sink
 * exactly, and summed volumes come out as the exact decimal sum when it has up to 15 digits.
 */
import { describe, expect, test } from "bun:test";
import { numberArrayLiteral } from "../../src/db/array-literal.ts";
import { round15 } from "../../src/domain/decimal.ts";
import { aggregateCandles } from "../../src/domain/aggregate.ts";
import { decimalOf } from "../../src/exchanges/wire.ts";
import { formatNumber } from "../../src/sinks/csv-format.ts";
import { createPrng } from "../../src/simulator/noise.ts";

/** A decimal's canonical text: no sign for zero, no trailing zeros, no exponent. */
function canonical(digits: bigint, scale: number): string {
  if (digits === 0n) return "0";
  const text = digits.toString().padStart(scale + 1, "0");
  const whole = text.slice(0, text.length - scale);
  const fraction = text.slice(text.length - scale).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

/** A random decimal of 1 to `maxDigits` significant digits with 0 to 12 places: its digits, scale and text. */
function randomDecimal(random: () => number, maxDigits = 15): { digits: bigint; scale: number; text: string } {
  const significant = 1 + Math.floor(random() * maxDigits);
  let digitText = String(1 + Math.floor(random() * 9));
  for (let i = 1; i < significant; i++) digitText += String(Math.floor(random() * 10));
  const scale = Math.floor(random() * 13);
  const digits = BigInt(digitText);
  // Wire texts often carry trailing zeros ("67510.01000000"): pad some.
  const padded = random() < 0.3 ? canonical(digits, scale) + (canonical(digits, scale).includes(".") ? "000" : "") : canonical(digits, scale);
  return { digits, scale, text: padded };
}

describe("numbers are doubles within stated bounds", () => {
  test("every wire decimal of up to 15 significant digits leaves the CSV and PostgreSQL writers as itself", () => {
    const random = createPrng(15);
    const edge = ["0.00000001", "0.00002513", "67510.01", "999999999999999", "0.999999999999999", "123456789.012345", "1e-8"];
    const cases: { text: string; want: string }[] = edge.map((t) => ({ text: t, want: canonical(...scaledOf(t)) }));
    for (let i = 0; i < 200_000; i++) {
      const d = randomDecimal(random);
      cases.push({ text: d.text, want: canonical(d.digits, d.scale) });
    }
    let checked = 0;
    for (const { text, want } of cases) {
      const value = /e/.test(text) ? Number(text) : decimalOf(text);
      const csv = formatNumber(value);
      if (csv !== want) expect(`${text} → ${csv}`).toBe(`${text} → ${want}`);
      // PostgreSQL gets the same number as text inside an array literal: it must read back as the same double.
      const literal = numberArrayLiteral([value]).slice(1, -1);
      if (Number(literal) !== value) expect(`${text} → ${literal}`).toBe(`${text} → ${value}`);
      checked++;
    }
    expect(checked).toBe(cases.length);
  });

  test("a 16- or 17-digit wire value is kept as its nearest double (beyond the bound, documented)", () => {
    expect(formatNumber(decimalOf("0.1234567890123456"))).toBe("0.123456789012346");
    expect(Number(formatNumber(decimalOf("67510.0100000001")))).toBeCloseTo(67510.01, 8);
  });

  test("sums of volumes come out as the exact decimal sum whenever it has at most 15 significant digits", () => {
    const random = createPrng(16);
    let exactChecks = 0;
    for (let bucket = 0; bucket < 6_000; bucket++) {
      const minutes = 1 + Math.floor(random() ** 3 * 1440);
      const scale = Math.floor(random() * 9); // exchanges publish volumes with 0 to 8 places
      const maxDigits = 1 + Math.floor(random() * 10);
      let exact = 0n;
      const candles = [];
      for (let m = 0; m < minutes; m++) {
        let digitText = String(1 + Math.floor(random() * 9)); // a traded minute: volume above zero
        const n = Math.floor(random() * maxDigits);
        for (let i = 0; i < n; i++) digitText += String(Math.floor(random() * 10));
        const digits = BigInt(digitText);
        exact += digits;
        const volume = Number(canonical(digits, scale));
        candles.push({ openTimeMs: m * 60_000, open: 1, high: 1, low: 1, close: 1, volume });
      }
      const want = canonical(exact, scale);
      if (want.replace(".", "").replace(/^0+/, "").length > 15) continue; // beyond the bound
      const summed = aggregateCandles(candles, 1440)[0]!.volume;
      const got = formatNumber(round15(summed));
      if (got !== want) expect(`${minutes} minutes → ${got}`).toBe(`${minutes} minutes → ${want}`);
      exactChecks++;
    }
    expect(exactChecks).toBeGreaterThan(4_500);
  });
});

function scaledOf(text: string): [bigint, number] {
  if (/e/.test(text)) {
    const value = Number(text);
    const scale = Math.max(0, -Math.floor(Math.log10(value)) + 14);
    return [BigInt(Math.round(value * 10 ** Math.min(scale, 15))), Math.min(scale, 15)];
  }
  const [whole, fraction = ""] = text.split(".");
  return [BigInt(whole + fraction), fraction.length];
}
