/**
 * How an answer behaves when its store misbehaves, with a small source written for the purpose (a
 * fake, not a mock): a store that fails before the first row is an error the caller can still
 * report; one that fails midway ends the stream in an error (never a complete-looking answer); a
 * reader that goes away stops the reading.
 */
import { describe, expect, test } from "bun:test";
import { answerCandles } from "../../src/query/answer.ts";
import { parseCandleQuery } from "../../src/query/params.ts";
import type { SavedRow } from "../../src/domain/saved-row.ts";
import type { CandleSource } from "../../src/query/source.ts";
import { DatabaseError } from "../../src/errors.ts";

const T0 = Date.UTC(2024, 2, 8);
const row = (i: number): SavedRow => ({
  endMs: T0 + (i + 1) * 60_000,
  exchangeName: "Binance",
  coin: "BTC",
  open: 1,
  high: 2,
  low: 0.5,
  close: 1.5,
  volume: 3,
  intervalMinutes: 1,
});

/** A source serving `chunks` chunks of 1000 rows, failing with `failAt` (chunk index) if given. */
function fakeSource(options: { chunks: number; failAt?: number }): CandleSource & { served: number; closedEarly: boolean } {
  const source = {
    kind: "database" as const,
    served: 0,
    closedEarly: false,
    series: async () => [],
    bounds: async () => ({ firstEndMs: row(0).endMs, lastEndMs: row(options.chunks * 1000 - 1).endMs }),
    async *rows() {
      let finished = false;
      try {
        for (let c = 0; c < options.chunks; c++) {
          if (c === options.failAt) throw new DatabaseError("reading candles failed on PostgreSQL at db:5432: connection reset");
          source.served++;
          yield Array.from({ length: 1000 }, (_, i) => row(c * 1000 + i));
        }
        finished = true;
      } finally {
        if (!finished) source.closedEarly = true;
      }
    },
    close: async () => {},
  };
  return source;
}

function query(format: string) {
  const limit = format === "json" ? "100000" : "1000000";
  const parsed = parseCandleQuery(
    new Map([
      ["exchange", ["binance"]],
      ["coin", ["BTC"]],
      ["format", [format]],
      ["limit", [limit]],
    ]),
    { defaultIntervalMinutes: 1 },
  );
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.query;
}

describe("a candles answer over a failing or abandoned store", () => {
  test("a store that fails before the first row rejects the answer itself (the API says 503)", async () => {
    await expect(answerCandles(fakeSource({ chunks: 3, failAt: 0 }), query("csv"))).rejects.toThrow(DatabaseError);
  });

  test.each(["csv", "json", "parquet"])("a store that fails midway ends the %s stream in an error, not in a short answer", async (format) => {
    const answer = await answerCandles(fakeSource({ chunks: 20, failAt: 10 }), query(format), { batchRows: 1 });
    await expect(new Response(answer.body).arrayBuffer()).rejects.toThrow();
  });

  test("a reader that goes away stops the reading: nothing more is read from the store", async () => {
    const source = fakeSource({ chunks: 500 });
    const answer = await answerCandles(source, query("csv"), { batchRows: 1 });
    const reader = answer.body.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(source.closedEarly).toBe(true);
    expect(source.served).toBeLessThan(10);
  });

  test("the stream is pulled: rows are read from the store as the reader asks, not ahead of it", async () => {
    const source = fakeSource({ chunks: 500 });
    const answer = await answerCandles(source, query("csv"), { batchRows: 1 });
    const reader = answer.body.getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    await Bun.sleep(20);
    expect(source.served).toBeLessThan(10);
    await reader.cancel();
  });
});
