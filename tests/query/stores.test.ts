/**
 * The query API's answers from every store: the same candles saved through the real sinks into the
 * CSV files, SQLite, PostgreSQL and MariaDB give the same bytes for the same query, and those bytes
 * are what was saved (the CSV files' own text, rendered by renderRow from the candles).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Candle } from "../../src/domain/candle.ts";
import { candleEndMs } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { answerCandles } from "../../src/query/answer.ts";
import { type CandleQuery, parseCandleQuery } from "../../src/query/params.ts";
import type { CandleSource } from "../../src/query/source.ts";
import { CSV_HEADER, formatNumber, isoTimestamp, renderRow } from "../../src/sinks/csv-format.ts";
import { availableDialects, bodyBytes, sampleCandles, saveEverywhere, type SavedStore, START_MS } from "./saved-stores.ts";

const decoder = new TextDecoder();
const candles = sampleCandles();
let stores: SavedStore[] = [];
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  const saved = await saveEverywhere(candles, await availableDialects());
  stores = saved.stores;
  close = saved.close;
});
afterAll(() => close());

function query(params: Record<string, string>): CandleQuery {
  const parsed = parseCandleQuery(new Map(Object.entries(params).map(([k, v]) => [k, [v]])), { defaultIntervalMinutes: 1 });
  if (!parsed.ok) throw new Error(`${parsed.parameter}: ${parsed.error}`);
  return parsed.query;
}

async function answer(source: CandleSource, params: Record<string, string>) {
  const a = await answerCandles(source, query(params), { parquetRowGroupRows: 1000 });
  return { ...a, bytes: await bodyBytes(a.body) };
}

/** The saved candles of one series with TimeStamp in [from, to], oldest first. */
function savedSeries(exchange: string, coin: string, interval: number, fromMs = -Infinity, toMs = Infinity): Candle[] {
  return candles
    .filter((c) => c.exchange === exchange && c.coin === coin && c.intervalMinutes === interval && candleEndMs(c) >= fromMs && candleEndMs(c) <= toMs)
    .sort((a, b) => a.openTimeMs - b.openTimeMs);
}

const QUERIES: Record<string, string>[] = [
  { exchange: "binance", coin: "BTC", format: "csv" },
  { exchange: "binance", coin: "ETH", format: "csv", from: "2024-03-08T06:00:00Z", to: "2024-03-09" },
  { exchange: "kraken", coin: "BTC", format: "json", limit: "100000" },
  { exchange: "BINANCE", coin: "btc", format: "json", from: "2024-03-08T23:00Z", limit: "500" },
  { exchange: "binance", coin: "BTC", interval: "5m", format: "json", limit: "100000" },
  { exchange: "binance", coin: "BTC", interval: "5", format: "csv", to: "2024-03-08T13:00:00+01:00" },
  { exchange: "binance", coin: "BTC", format: "parquet" },
  { exchange: "binance", coin: "ETH", format: "parquet", from: "2024-03-08T10:00:00Z", to: "2024-03-08T20:00:00Z" },
  { exchange: "binance", coin: "DOGE", format: "json" },
  { exchange: "bitstamp", coin: "BTC", format: "csv" },
  { exchange: "binance", coin: "BTC", interval: "1h", format: "parquet" },
];

describe("the query API's answers from every store", () => {
  test("every store was saved to and is read", () => {
    expect(stores.length).toBeGreaterThanOrEqual(2);
    console.log(`comparing stores: ${stores.map((s) => s.label).join(", ")}`);
  });

  test.each(QUERIES.map((q) => [JSON.stringify(q), q] as const))("the same bytes from every store for %s", async (_, params) => {
    const answers = await Promise.all(stores.map((s) => answer(s.source, params)));
    const [first, ...rest] = answers;
    for (const [i, a] of rest.entries()) {
      expect({ store: stores[i + 1]!.label, filename: a.filename, next: a.next, contentType: a.contentType }).toEqual({
        store: stores[i + 1]!.label,
        filename: first!.filename,
        next: first!.next,
        contentType: first!.contentType,
      });
      expect(a.bytes.length).toBe(first!.bytes.length);
      expect(Buffer.from(a.bytes).equals(Buffer.from(first!.bytes))).toBe(true);
    }
  });

  test("a CSV answer is the CSV files' header and rows of what was saved, byte for byte", async () => {
    const fromMs = Date.UTC(2024, 2, 8, 6);
    const toMs = Date.UTC(2024, 2, 9);
    const expected =
      CSV_HEADER +
      "\n" +
      savedSeries("binance", "ETH", 1, fromMs, toMs)
        .map((c) => renderRow(c) + "\n")
        .join("");
    for (const s of stores) {
      const a = await answer(s.source, { exchange: "binance", coin: "ETH", format: "csv", from: "2024-03-08T06:00:00Z", to: "2024-03-09" });
      expect(decoder.decode(a.bytes)).toBe(expected);
      expect(a.filename).toBe("binance_ETH_1m_2024-03-08T0600Z_2024-03-09.csv");
      expect(a.contentType).toBe("text/csv; charset=utf-8");
    }
  });

  test("a JSON page holds the saved rows as numbers with the CSV files' digits, oldest first", async () => {
    const saved = savedSeries("kraken", "BTC", 1);
    for (const s of stores) {
      const a = await answer(s.source, { exchange: "kraken", coin: "BTC", limit: "100000" });
      const text = decoder.decode(a.bytes);
      const body = JSON.parse(text) as { columns: string[]; rows: unknown[][]; next: string | null };
      expect(body.columns).toEqual(["TimeStamp", "Exchange", "Coin", "OpenPrice", "HighPrice", "LowPrice", "ClosePrice", "Volume", "Bucket_Interval"]);
      expect(body.next).toBeNull();
      expect(body.rows).toEqual(
        saved.map((c) => [isoTimestamp(candleEndMs(c)), "Kraken", "BTC", ...[c.open, c.high, c.low, c.close, c.volume].map((v) => Number(formatNumber(v))), 1]),
      );
      // The digits themselves are the CSV's: 0.1 + 0.2 is written 0.3, 1e-7 as 0.0000001.
      expect(text).toContain(",0.3,1]");
      expect(text).toContain(",0.0000001,1]");
      expect(text).not.toContain("e-");
    }
  });

  test("paging with limit N serves every row once, in order, N at most per page, and ends with next null", async () => {
    const cases = [
      // One row a page across a gap (buckets 600-639 were never saved) and a run of filled buckets.
      { limit: 1, from: "2024-03-08T09:50:00Z", to: "2024-03-08T10:50:00Z" },
      { limit: 7, from: undefined, to: undefined },
      { limit: 1000, from: undefined, to: undefined },
      { limit: 1000, from: "2024-03-08T03:00:00Z", to: "2024-03-09T03:00:00Z" },
    ];
    for (const s of stores) {
      for (const { limit, from, to } of cases) {
        const saved = savedSeries("binance", "BTC", 1, from ? Date.parse(from) : -Infinity, to ? Date.parse(to) : Infinity).map((c) => isoTimestamp(candleEndMs(c)));
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const params: Record<string, string> = { exchange: "binance", coin: "BTC", limit: String(limit) };
          if (from) params.from = from;
          if (to) params.to = to;
          if (cursor) params.cursor = cursor;
          const body = JSON.parse(decoder.decode((await answer(s.source, params)).bytes)) as { rows: string[][]; next: string | null };
          expect(body.rows.length).toBeLessThanOrEqual(limit);
          if (body.next !== null) expect(body.rows.length).toBe(limit);
          seen.push(...body.rows.map((r) => r[0]!));
          cursor = body.next ?? undefined;
          pages++;
        } while (cursor);
        expect(seen).toEqual(saved);
        expect(new Set(seen).size).toBe(seen.length);
        expect(pages).toBe(Math.max(1, Math.ceil(saved.length / limit)));
      }
    }
  });

  test("a CSV answer longer than its limit is cut on a bucket and its X-Next-Cursor continues exactly after", async () => {
    const saved = savedSeries("binance", "BTC", 1).map((c) => renderRow(c));
    for (const s of stores) {
      const lines: string[] = [];
      let cursor: string | undefined;
      let answers = 0;
      do {
        const params: Record<string, string> = { exchange: "binance", coin: "BTC", format: "csv", limit: "600" };
        if (cursor) params.cursor = cursor;
        const a = await answer(s.source, params);
        const rows = decoder.decode(a.bytes).split("\n").slice(1, -1);
        expect(rows.length).toBeLessThanOrEqual(600);
        lines.push(...rows);
        cursor = a.next ?? undefined;
        answers++;
      } while (cursor);
      expect(lines).toEqual(saved);
      expect(answers).toBeGreaterThan(3);
    }
  });

  test("series statistics are the same from every store and count what was saved", async () => {
    const lists = await Promise.all(stores.map((s) => s.source.series(1)));
    for (const list of lists.slice(1)) expect(list).toEqual(lists[0]!);
    const btc = lists[0]!.find((s) => s.exchange === "binance" && s.coin === "BTC")!;
    const saved = savedSeries("binance", "BTC", 1);
    expect(btc).toEqual({
      exchange: "binance",
      exchangeName: "Binance",
      coin: "BTC",
      intervalMinutes: 1,
      firstEndMs: candleEndMs(saved[0]!),
      lastEndMs: candleEndMs(saved.at(-1)!),
      rows: saved.length,
      filledRows: saved.filter((c) => c.filled).length,
    });
    expect(lists[0]!.map((s) => `${s.exchange} ${s.coin}`)).toEqual(["binance BTC", "binance ETH", "kraken BTC"]);
    expect((await stores[0]!.source.series(5)).map((s) => s.rows)).toEqual([savedSeries("binance", "BTC", 5).length]);
  });

  test("bounds are the first and last saved TimeStamp of a series, undefined for one never saved", async () => {
    const saved = savedSeries("binance", "ETH", 1);
    for (const s of stores) {
      expect(await s.source.bounds({ exchange: "binance", coin: "ETH", intervalMinutes: 1 })).toEqual({
        firstEndMs: candleEndMs(saved[0]!),
        lastEndMs: candleEndMs(saved.at(-1)!),
      });
      expect(await s.source.bounds({ exchange: "binance", coin: "XRP", intervalMinutes: 1 })).toBeUndefined();
    }
  });

  test("an unknown exchange, coin or interval answers no rows", async () => {
    for (const s of stores) {
      const json = JSON.parse(decoder.decode((await answer(s.source, { exchange: "bitstamp", coin: "BTC" })).bytes));
      expect(json).toEqual({ columns: expect.any(Array), rows: [], next: null });
      const csv = await answer(s.source, { exchange: "binance", coin: "DOGE", format: "csv" });
      expect(decoder.decode(csv.bytes)).toBe(CSV_HEADER + "\n");
      expect(csv.filename).toBe("binance_DOGE_1m_start_end.csv");
      expect(JSON.parse(decoder.decode((await answer(s.source, { exchange: "binance", coin: "BTC", interval: "7m" })).bytes)).rows).toEqual([]);
    }
  });

  test("the range bounds are inclusive on the TimeStamp", async () => {
    const at = START_MS + 10 * MINUTE_MS; // TimeStamp of the bucket that opened at 00:09
    for (const s of stores) {
      const body = JSON.parse(decoder.decode((await answer(s.source, { exchange: "binance", coin: "BTC", from: isoTimestamp(at), to: isoTimestamp(at + 2 * MINUTE_MS) })).bytes));
      expect(body.rows.map((r: string[]) => r[0])).toEqual([isoTimestamp(at), isoTimestamp(at + MINUTE_MS), isoTimestamp(at + 2 * MINUTE_MS)]);
    }
  });
});
