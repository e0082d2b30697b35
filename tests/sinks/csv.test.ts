import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Candle } from "../../src/domain/candle.ts";
import { SinkError } from "../../src/errors.ts";
import { createMemoryLogger, silentLogger } from "../../src/telemetry/log.ts";
import { CSV_HEADER, csvFileName, formatNumber, renderRow } from "../../src/sinks/csv-format.ts";
import { createCsvSink } from "../../src/sinks/csv.ts";

const T0 = Date.parse("2024-03-08T12:40:00Z");
const M = 60_000;
const candle = (coin: string, minute: number, close = 100, interval = 5): Candle => ({
  exchange: "binance",
  coin,
  intervalMinutes: interval,
  openTimeMs: T0 + minute * M,
  open: close - 1,
  high: close + 2,
  low: close - 3,
  close,
  volume: 1.5,
  filled: false,
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ci-csv-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const read = (name: string) => readFileSync(join(dir, name), "utf8");
const FILE = "2024-03-08_binance_5m.csv";

describe("csv sink", () => {
  test("names files by UTC day of the bucket's open, exchange and interval label", () => {
    expect(csvFileName("binance", 5, Date.parse("2024-03-08T23:55:00Z"))).toBe("2024-03-08_binance_5m.csv");
    expect(csvFileName("kraken", 60, Date.parse("2024-03-09T00:00:00Z"))).toBe("2024-03-09_kraken_1h.csv");
    expect(csvFileName("kucoin", 1440, Date.parse("2024-03-09T00:00:00Z"))).toBe("2024-03-09_kucoin_1d.csv");
    expect(csvFileName("poloniex", 7, Date.parse("2024-03-09T00:00:00Z"))).toBe("2024-03-09_poloniex_7m.csv");
  });

  test("writes the header and rows sorted by TimeStamp then Coin, TimeStamp being the bucket's end", async () => {
    const sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    expect(await sink.write([candle("ETH", 5, 3000), candle("BTC", 5, 67000), candle("ETH", 0, 2990), candle("BTC", 0, 66900)])).toBe(4);
    expect(read(FILE).split("\n")).toEqual([
      CSV_HEADER,
      "2024-03-08T12:45:00Z,Binance,BTC,66899,66902,66897,66900,1.5,5",
      "2024-03-08T12:45:00Z,Binance,ETH,2989,2992,2987,2990,1.5,5",
      "2024-03-08T12:50:00Z,Binance,BTC,66999,67002,66997,67000,1.5,5",
      "2024-03-08T12:50:00Z,Binance,ETH,2999,3002,2997,3000,1.5,5",
      "",
    ]);
  });

  test("a shuffled batch with repeats is written in file order, the first of each repeat kept", async () => {
    const sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    let seed = 11;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const coins = ["ZEC", "BTC", "ETH", "A", "btc", "SOL"];
    const batch: Candle[] = [];
    for (let i = 0; i < 500; i++) batch.push(candle(coins[Math.floor(next() * coins.length)]!, Math.floor(next() * 200) * 5, 100 + i));
    // What the file must hold: stable sort by time then coin (code-unit order), the first of each key.
    const expected = [...batch].sort((a, b) => a.openTimeMs - b.openTimeMs || (a.coin < b.coin ? -1 : a.coin > b.coin ? 1 : 0));
    const firsts = expected.filter((c, i) => i === 0 || c.openTimeMs !== expected[i - 1]!.openTimeMs || c.coin !== expected[i - 1]!.coin);
    const written = await sink.write(batch);
    expect(written).toBe(firsts.length);
    const names = readdirSync(dir)
      .filter((n) => n.endsWith(".csv"))
      .sort();
    const lines = names.flatMap((n) =>
      read(n)
        .split("\n")
        .filter((l) => l !== "" && l !== CSV_HEADER),
    );
    expect(lines).toEqual(firsts.map((c) => renderRow(c)));
  });

  test("never writes a row twice, within a batch, across batches, or after a restart", async () => {
    let sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    await sink.write([candle("BTC", 0), candle("BTC", 0)]);
    await sink.write([candle("BTC", 0), candle("BTC", 5)]);
    sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    await sink.write([candle("BTC", 5), candle("BTC", 0)]);
    expect(read(FILE).trim().split("\n")).toHaveLength(3);
  });

  test("rewrites the file sorted when a late row for an earlier bucket arrives", async () => {
    const sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    await sink.write([candle("BTC", 0), candle("ETH", 0), candle("BTC", 5), candle("ETH", 5)]);
    expect(await sink.write([candle("DOGE", 0, 0.1)])).toBe(1);
    const coins = read(FILE)
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",").slice(0, 3).join(" "));
    expect(coins).toEqual([
      "2024-03-08T12:45:00Z Binance BTC",
      "2024-03-08T12:45:00Z Binance DOGE",
      "2024-03-08T12:45:00Z Binance ETH",
      "2024-03-08T12:50:00Z Binance BTC",
      "2024-03-08T12:50:00Z Binance ETH",
    ]);
    expect(readdirSync(dir).filter((n) => n.includes(".tmp"))).toEqual([]);
  });

  test("resumes from the last saved bucket of each series after a restart", async () => {
    let sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    await sink.write([candle("BTC", 0, 10), candle("BTC", 5, 11), candle("ETH", 0, 20)]);
    sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    expect(await sink.lastSaved("binance", "BTC", 5)).toEqual({ openTimeMs: T0 + 5 * M, close: 11 });
    expect(await sink.lastSaved("binance", "ETH", 5)).toEqual({ openTimeMs: T0, close: 20 });
    expect(await sink.lastSaved("binance", "DOGE", 5)).toBeUndefined();
    expect(await sink.lastSaved("kraken", "BTC", 5)).toBeUndefined();
    expect(await sink.lastSaved("binance", "BTC", 1)).toBeUndefined();
  });

  test("cuts a torn last line left by a crash, then appends cleanly", async () => {
    let sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    await sink.write([candle("BTC", 0), candle("ETH", 0)]);
    appendFileSync(join(dir, FILE), "2024-03-08T12:50:00Z,Binance,BTC,99,10"); // killed mid-line
    const logger = createMemoryLogger();
    sink = createCsvSink({ directory: dir, logger });
    await sink.open();
    expect(await sink.lastSaved("binance", "BTC", 5)).toMatchObject({ openTimeMs: T0 });
    await sink.write([candle("BTC", 5), candle("ETH", 5)]);
    const lines = read(FILE).trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.split(",").length === 9)).toBe(true);
    expect(logger.lines.some((l) => l.includes("partial line"))).toBe(true);
  });

  test("recovers a file that was edited by hand and lost its header", async () => {
    writeFileSync(join(dir, FILE), "");
    const sink = createCsvSink({ directory: dir, logger: silentLogger });
    await sink.open();
    await sink.write([candle("BTC", 0)]);
    expect(read(FILE).split("\n")[0]).toBe(CSV_HEADER);
  });

  test("reports an unusable directory as a sink error", async () => {
    writeFileSync(join(dir, "file"), "x");
    const sink = createCsvSink({ directory: join(dir, "file", "csv"), logger: silentLogger });
    await expect(sink.open()).rejects.toBeInstanceOf(SinkError);
  });

  test.each([
    [0.1 + 0.2, "0.3"],
    [67510.01, "67510.01"],
    [1e-8, "0.00000001"],
    [12345678.12345678, "12345678.1234568"],
    [0, "0"],
  ])("formats %p as %p", (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});
