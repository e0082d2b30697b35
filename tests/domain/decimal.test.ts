import { describe, expect, test } from "bun:test";
import { round15, shortDecimalDigits } from "../../src/domain/decimal.ts";
import { createPrng } from "../../src/simulator/noise.ts";

/** What round15 replaces (a negative zero reads as zero). */
const reference = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(15)));

describe("round15", () => {
  test("equals Number(toPrecision(15)) for exchange decimals, sums with float noise, tiny, huge and odd doubles", () => {
    const random = createPrng(3);
    const values = [
      0,
      -0,
      1,
      0.1 + 0.2,
      0.6303000000000001,
      1e-9,
      5e-9,
      1.5e-7,
      9_999_999.99999999,
      10_000_000.00000001,
      1e15,
      1e15 + 1,
      2 ** 53,
      1e21,
      1e300,
      Number.MIN_VALUE,
      Number.MAX_VALUE,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -12.5,
      4.717099999999999,
    ];
    for (let i = 0; i < 100_000; i++) {
      const magnitude = 10 ** Math.floor(random() * 16 - 6);
      const decimal = Number((random() * magnitude).toFixed(Math.floor(random() * 12)));
      values.push(decimal, decimal + Number((random() * magnitude).toFixed(Math.floor(random() * 9))), random() * magnitude, -decimal);
    }
    let fast = 0;
    for (const v of values) {
      if (!Object.is(round15(v), reference(v))) expect(`${v} → ${round15(v)}`).toBe(`${v} → ${reference(v)}`);
      if (v > 0 && shortDecimalDigits(v) >= 0) fast++;
    }
    // Most values take the fast path, so the comparison above tests it.
    expect(fast).toBeGreaterThan(values.length / 4);
  });

  test("shortDecimalDigits gives the digits of a decimal of up to 8 places and 15 digits, else -1", () => {
    expect(shortDecimalDigits(67510.01)).toBe(6_751_001_000_000);
    expect(shortDecimalDigits(0.00000001)).toBe(1);
    expect(shortDecimalDigits(0.1 + 0.2)).toBe(-1);
    expect(shortDecimalDigits(0.000000001)).toBe(-1);
    expect(shortDecimalDigits(10_000_000.5)).toBe(-1); // 16 digits at 8 places
    expect(shortDecimalDigits(Number.NaN)).toBe(-1);
  });
});
