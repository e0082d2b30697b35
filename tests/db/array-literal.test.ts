import { describe, expect, test } from "bun:test";
import { numberArrayLiteral, textArrayLiteral } from "../../src/db/array-literal.ts";

/** What PostgreSQL reads from a literal of plain numbers: the elements between the braces. */
const elements = (literal: string) => literal.slice(1, -1).split(",");

describe("numberArrayLiteral", () => {
  test("writes each number as the shortest text that reads back as the same double", () => {
    const values = [
      0,
      -0,
      1,
      30000,
      1714604400000,
      67540.6,
      0.1,
      0.30000000000000004,
      1 / 3,
      -2.5,
      -0.00012345,
      1e-8,
      1.5e-7,
      123456789.12345678,
      1e21,
      2 ** 53 + 2,
      9.99e307,
      Number.MIN_VALUE,
    ];
    const literal = numberArrayLiteral(values);
    expect(literal.startsWith("{") && literal.endsWith("}")).toBe(true);
    const texts = elements(literal);
    expect(texts.length).toBe(values.length);
    texts.forEach((text, i) => {
      expect(Number(text)).toBe(values[i]! === 0 ? 0 : values[i]!);
      expect(text.length).toBeLessThanOrEqual(String(values[i]).length);
    });
    expect(texts.slice(0, 6)).toEqual(["0", "0", "1", "30000", "1714604400000", "67540.6"]);
  });

  test("round-trips random prices, sums with float noise and tiny volumes", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values = Array.from({ length: 20_000 }, (_, i) => {
      const x = random() * 10 ** Math.floor(random() * 14 - 8);
      return i % 3 === 0 ? Math.round(x * 1e8) / 1e8 : i % 3 === 1 ? x + 0.1 + 0.2 : -x;
    });
    expect(elements(numberArrayLiteral(values)).map(Number)).toEqual(values);
  });

  test("is {} for no values and refuses what is not a finite number", () => {
    expect(numberArrayLiteral([])).toBe("{}");
    expect(() => numberArrayLiteral([1, Number.NaN])).toThrow("not a finite number: NaN");
    expect(() => numberArrayLiteral([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});

describe("textArrayLiteral", () => {
  test("quotes every element and escapes quotes and backslashes", () => {
    expect(textArrayLiteral(["BTC", 'A"B', "C\\D", "x,y", "{z}", " ", "NULL", ""])).toBe(String.raw`{"BTC","A\"B","C\\D","x,y","{z}"," ","NULL",""}`);
    expect(textArrayLiteral([])).toBe("{}");
  });
});
