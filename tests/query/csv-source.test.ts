import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Candle } from "../../src/domain/candle.ts";
import { createCsvSource } from "../../src/query/csv-source.ts";
import type { SavedRow } from "../../src/domain/saved-row.ts";
import { CSV_HEADER, renderRow } from "../../src/sinks/csv-format.ts";
import { createMemoryLogger } from "../../src/telemetry/log.ts";

const DAY = Date.UTC(2024, 2, 8);
const KEY = { exchange: "binance", coin: "BTC", intervalMinutes: 1 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(): { root: string; csv: string } {
  const root = mkdtempSync(join(tmpdir(), "ci-csv-source-"));
  dirs.push(root);
  const csv = join(root, "csv");
  mkdirSync(csv);
  return { root, csv };
}

const candle = (minute: number, coin = "BTC", over: Partial<Candle> = {}): Candle => ({
  exchange: "binance",
  coin,
  intervalMinutes: 1,
  openTimeMs: DAY + minute * 60_000,
  open: 100 + minute,
  high: 110 + minute,
  low: 90,
  close: 101,
  volume: 2.5,
  filled: false,
  ...over,
});
const file = (candles: Candle[]) => CSV_HEADER + "\n" + candles.map((c) => renderRow(c) + "\n").join("");

async function collect(rows: AsyncIterable<SavedRow[]>): Promise<SavedRow[][]> {
  const out: SavedRow[][] = [];
  for await (const chunk of rows) out.push(chunk);
  return out;
}

describe("CSV reader of the query API", () => {
  test("reads one coin's rows day file by day file, oldest first, within (after, to]", async () => {
    const { csv } = folder();
    writeFileSync(join(csv, "2024-03-08_binance_1m.csv"), file([candle(1438), candle(1438, "ETH"), candle(1439), candle(1439, "ETH")]));
    writeFileSync(join(csv, "2024-03-09_binance_1m.csv"), file([candle(1440), candle(1441, "ETH"), candle(1442)]));
    writeFileSync(join(csv, "2024-03-09_kraken_1m.csv"), file([{ ...candle(1440), exchange: "kraken" }]));
    writeFileSync(join(csv, "2024-03-09_binance_5m.csv"), file([{ ...candle(1440), intervalMinutes: 5 }]));
    const chunks = await collect(createCsvSource({ directory: csv }).rows(KEY, -1, Number.MAX_SAFE_INTEGER, Infinity));
    expect(chunks.map((c) => c.map((r) => (r.endMs - DAY) / 60_000 - 1))).toEqual([
      [1438, 1439],
      [1440, 1442],
    ]);
    expect(chunks[0]![0]).toEqual({
      endMs: DAY + 1439 * 60_000,
      exchangeName: "Binance",
      coin: "BTC",
      open: 1538,
      high: 1548,
      low: 90,
      close: 101,
      volume: 2.5,
      intervalMinutes: 1,
    });
    const some = await collect(createCsvSource({ directory: csv }).rows(KEY, DAY + 1439 * 60_000, DAY + 1441 * 60_000, Infinity));
    expect(some.flat().map((r) => r.endMs)).toEqual([DAY + 1440 * 60_000, DAY + 1441 * 60_000]);
    const two = await collect(createCsvSource({ directory: csv }).rows(KEY, -1, Number.MAX_SAFE_INTEGER, 3));
    expect(two.flat()).toHaveLength(3);
  });

  test("a last line without its newline (an append in progress, or torn) is not read; invalid lines are skipped and logged", async () => {
    const { csv } = folder();
    const logger = createMemoryLogger();
    const name = join(csv, "2024-03-08_binance_1m.csv");
    writeFileSync(
      name,
      file([candle(0), candle(1)]) +
        "2024-03-08T00:03:00Z,Binance,BTC,1,2,0.5,1,3,1\n" +
        "2024-03-08T00:04:00Z,Binance,BTC,x,2,1,1,1,1\n" +
        "2024-03-08T00:05:30Z,Binance,BTC,1,2,1,1,1,1\n" +
        renderRow(candle(9)),
    );
    const rows = (await collect(createCsvSource({ directory: csv, logger }).rows(KEY, -1, Number.MAX_SAFE_INTEGER, Infinity))).flat();
    expect(rows.map((r) => (r.endMs - DAY) / 60_000)).toEqual([1, 2, 3]);
    expect(logger.lines.join("\n")).toContain("lines=2");
    appendFileSync(name, "\n");
    const after = (await collect(createCsvSource({ directory: csv }).rows(KEY, -1, Number.MAX_SAFE_INTEGER, Infinity))).flat();
    expect(after.map((r) => (r.endMs - DAY) / 60_000)).toEqual([1, 2, 3, 10]);
  });

  test("opens only regular files named as the sink names them: no symbolic link out of the directory, no other file", async () => {
    const { root, csv } = folder();
    const sentinel = "2024-03-08T00:01:00Z,Binance,BTC,666,666,666,666,666,1\n";
    writeFileSync(join(root, "outside.csv"), CSV_HEADER + "\n" + sentinel);
    symlinkSync(join(root, "outside.csv"), join(csv, "2024-03-08_binance_1m.csv"));
    writeFileSync(join(csv, "2024-03-09_binance_1m.csv.tmp-123"), CSV_HEADER + "\n" + sentinel);
    writeFileSync(join(csv, "2024-03-09_Binance_1m.csv"), CSV_HEADER + "\n" + sentinel);
    mkdirSync(join(csv, "2024-03-10_binance_1m.csv"));
    const source = createCsvSource({ directory: csv });
    expect((await collect(source.rows(KEY, -1, Number.MAX_SAFE_INTEGER, Infinity))).flat()).toEqual([]);
    expect(await source.series(1)).toEqual([]);
    expect(await source.bounds(KEY)).toBeUndefined();
  });

  test("a directory that does not exist yet holds nothing", async () => {
    const { root } = folder();
    const source = createCsvSource({ directory: join(root, "not-yet") });
    expect(await source.series(1)).toEqual([]);
    expect((await collect(source.rows(KEY, -1, Number.MAX_SAFE_INTEGER, Infinity))).flat()).toEqual([]);
  });

  test("series statistics follow the files as they change; filled rows are volume 0 with one price", async () => {
    const { csv } = folder();
    const name = join(csv, "2024-03-08_binance_1m.csv");
    const filled = (m: number) => candle(m, "BTC", { open: 101, high: 101, low: 101, close: 101, volume: 0, filled: true });
    writeFileSync(name, file([candle(0), candle(0, "ETH"), filled(1), candle(3)]));
    const source = createCsvSource({ directory: csv });
    expect(await source.series(1)).toEqual([
      { exchange: "binance", exchangeName: "Binance", coin: "BTC", intervalMinutes: 1, firstEndMs: DAY + 60_000, lastEndMs: DAY + 4 * 60_000, rows: 3, filledRows: 1 },
      { exchange: "binance", exchangeName: "Binance", coin: "ETH", intervalMinutes: 1, firstEndMs: DAY + 60_000, lastEndMs: DAY + 60_000, rows: 1, filledRows: 0 },
    ]);
    appendFileSync(name, renderRow(filled(4)) + "\n");
    writeFileSync(join(csv, "2024-03-09_binance_1m.csv"), file([candle(1440)]));
    const [btc] = await source.series(1);
    expect(btc).toMatchObject({ lastEndMs: DAY + 1441 * 60_000, rows: 5, filledRows: 2 });
    expect(await source.bounds(KEY)).toEqual({ firstEndMs: DAY + 60_000, lastEndMs: DAY + 1441 * 60_000 });
  });
});
