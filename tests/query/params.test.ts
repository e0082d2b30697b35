import { describe, expect, test } from "bun:test";
import { decodeCursor, encodeCursor } from "../../src/query/cursor.ts";
import { parseCandleQuery, parseInstant, parseIntervalParameter, queryRange } from "../../src/query/params.ts";

const parse = (params: Record<string, string | string[]>, unlimited = false) =>
  parseCandleQuery(new Map(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])), { defaultIntervalMinutes: 5, unlimited });

describe("candles query parameters", () => {
  test("a minimal query takes the configured interval, JSON, 1000 rows, no bounds", () => {
    expect(parse({ exchange: "Binance", coin: "btc" })).toEqual({
      ok: true,
      query: { exchange: "binance", coin: "BTC", intervalMinutes: 5, fromEndMs: undefined, toEndMs: undefined, afterEndMs: undefined, limit: 1000, format: "json" },
    });
  });

  test("csv and parquet answers default to their limit of a million rows; export has none", () => {
    expect(parse({ exchange: "binance", coin: "BTC", format: "CSV" })).toMatchObject({ ok: true, query: { format: "csv", limit: 1_000_000 } });
    expect(parse({ exchange: "binance", coin: "BTC", format: "parquet" }, true)).toMatchObject({ ok: true, query: { format: "parquet", limit: Infinity } });
  });

  test.each([
    [{ coin: "BTC" }, "exchange"],
    [{ exchange: "binance" }, "coin"],
    [{ exchange: "", coin: "BTC" }, "exchange"],
    [{ exchange: "../etc", coin: "BTC" }, "exchange"],
    [{ exchange: "..%2f..%2f", coin: "BTC" }, "exchange"],
    [{ exchange: "/etc/passwd", coin: "BTC" }, "exchange"],
    [{ exchange: "binance\u0000", coin: "BTC" }, "exchange"],
    [{ exchange: "bin ance", coin: "BTC" }, "exchange"],
    [{ exchange: "binance", coin: "../BTC" }, "coin"],
    [{ exchange: "binance", coin: "BTC/../../x" }, "coin"],
    [{ exchange: "binance", coin: "C:\\x" }, "coin"],
    [{ exchange: "binance", coin: "BTC\u0000.csv" }, "coin"],
    [{ exchange: "binance", coin: "B".repeat(21) }, "coin"],
    [{ exchange: "binance", coin: "BTC", interval: "0m" }, "interval"],
    [{ exchange: "binance", coin: "BTC", interval: "5x" }, "interval"],
    [{ exchange: "binance", coin: "BTC", interval: "../1m" }, "interval"],
    [{ exchange: "binance", coin: "BTC", interval: "-5" }, "interval"],
    [{ exchange: "binance", coin: "BTC", interval: "400d" }, "interval"],
    [{ exchange: "binance", coin: "BTC", from: "yesterday" }, "from"],
    [{ exchange: "binance", coin: "BTC", from: "2024-02-30" }, "from"],
    [{ exchange: "binance", coin: "BTC", to: "2024-03-08T25:00:00Z" }, "to"],
    [{ exchange: "binance", coin: "BTC", to: "1709901900000" }, "to"],
    [{ exchange: "binance", coin: "BTC", from: "2024-03-09", to: "2024-03-08" }, "to"],
    [{ exchange: "binance", coin: "BTC", limit: "0" }, "limit"],
    [{ exchange: "binance", coin: "BTC", limit: "100001" }, "limit"],
    [{ exchange: "binance", coin: "BTC", limit: "1e3" }, "limit"],
    [{ exchange: "binance", coin: "BTC", format: "csv", limit: "1000001" }, "limit"],
    [{ exchange: "binance", coin: "BTC", format: "xlsx" }, "format"],
    [{ exchange: "binance", coin: "BTC", cursor: "not-a-cursor!" }, "cursor"],
    [{ exchange: "binance", coin: "BTC", cursor: encodeCursor({ series: "binance|ETH|5", afterEndMs: 0 }) }, "cursor"],
    [{ exchange: "binance", coin: "BTC", from: ["2024-03-08", "2024-03-09"] }, "from"],
    [{ exchange: "binance", coin: "BTC", form: "2024-03-08" }, "form"],
  ])("%j is refused, naming %s", (params, parameter) => {
    const parsed = parse(params);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.parameter).toBe(parameter);
      expect(parsed.error).not.toMatch(/[\u0000-\u001f]/);
    }
  });

  test.each([
    ["5m", 5],
    ["5", 5],
    ["1h", 60],
    ["2H", 120],
    ["1d", 1440],
    ["90m", 90],
  ])("interval %s is %d minutes", (text, minutes) => {
    expect(parseIntervalParameter(text)).toBe(minutes);
  });

  test.each([
    ["2024-03-08", Date.UTC(2024, 2, 8)],
    ["2024-03-08T12:45:00Z", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08T12:45Z", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08T12:45:00", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08 12:45:00", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08T12:45:00.250Z", Date.UTC(2024, 2, 8, 12, 45, 0, 250)],
    ["2024-03-08T14:45:00+02:00", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-03-08T14:45:00 02:00", Date.UTC(2024, 2, 8, 12, 45)], // an unencoded + in a query string
    ["2024-03-08T07:45:00-0500", Date.UTC(2024, 2, 8, 12, 45)],
    ["2024-02-29", Date.UTC(2024, 1, 29)],
  ])("instant %s", (text, ms) => {
    expect(parseInstant(text)).toBe(ms);
  });

  test.each(["2023-02-29", "2024-13-01", "2024-00-10", "2024-03-08T24:00:00Z", "2024-03-08T12:60Z", "08/03/2024", "2024-03-08T12:45:00+25:00", ""])("no instant in %j", (text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  test("a cursor continues its own series after the row it names, and from/to still apply", () => {
    const cursor = encodeCursor({ series: "binance|BTC|5", afterEndMs: Date.UTC(2024, 2, 8, 12) });
    const parsed = parse({ exchange: "binance", coin: "BTC", cursor, to: "2024-03-09" });
    expect(parsed).toMatchObject({ ok: true, query: { afterEndMs: Date.UTC(2024, 2, 8, 12) } });
    if (parsed.ok) expect(queryRange(parsed.query)).toEqual({ afterEndMs: Date.UTC(2024, 2, 8, 12), toEndMs: Date.UTC(2024, 2, 9) });
  });

  test("inclusive bounds become the stores' half-open range (after, to]", () => {
    expect(queryRange({ fromEndMs: 1000, toEndMs: 5000, afterEndMs: undefined })).toEqual({ afterEndMs: 999, toEndMs: 5000 });
    expect(queryRange({ fromEndMs: 1000, toEndMs: undefined, afterEndMs: 3000 })).toEqual({ afterEndMs: 3000, toEndMs: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });
    expect(queryRange({ fromEndMs: Date.UTC(1900, 0, 1), toEndMs: undefined, afterEndMs: undefined }).afterEndMs).toBe(-1);
  });
});

describe("cursor", () => {
  test("round-trips its position", () => {
    const position = { series: "okx|BTC|1", afterEndMs: 1709901900000 };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  test.each([
    "",
    "!!!",
    "x".repeat(300),
    Buffer.from("{}").toString("base64url"),
    Buffer.from('{"v":1,"s":"a","a":1.5}').toString("base64url"),
    Buffer.from("[1]").toString("base64url"),
  ])("%j is no cursor", (text) => {
    expect(decodeCursor(text)).toBeUndefined();
  });
});
