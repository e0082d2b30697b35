/**
 * Raw mode: one CSV file per UTC day, exchange and interval. Rows that sort after a file's last row
 * are appended in one write; a late row for an earlier bucket rewrites the file atomically. A torn
 * last line left by a crash is cut off when the file is next opened. The file operations themselves
 * are in csv-files.ts; this is the sink: what to write where, and the cached positions.
 */
import { mkdir } from "node:fs/promises";
import type { Candle, ExchangeId, SeriesPosition } from "../domain/candle.ts";
import { type BucketRange, missingRuns } from "../domain/gaps.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import { describeError, SinkError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { createCsvFiles, DAY_MS } from "./csv-files.ts";
import { compareRows, CSV_HEADER, csvFileName, fileOrder, renderRow, renderRowBytes, type CsvRow } from "./csv-format.ts";
import type { CandleSink } from "./types.ts";

export interface CsvSinkOptions {
  directory: string;
  logger: Logger;
  /** How many days of files to read back when looking for a series' last row. */
  lookbackDays?: number;
}

interface FileState {
  /** Last row's key, or undefined for a file with a header only. */
  last: { openTimeMs: number; coin: string } | undefined;
}

export function createCsvSink(options: CsvSinkOptions): CandleSink & { directory: string } {
  const { directory } = options;
  const lookbackDays = options.lookbackDays ?? 3;
  const fs = createCsvFiles(directory, options.logger);
  const files = new Map<string, FileState>();
  /** exchange|interval → coin → last saved position, filled from files on first use. */
  const positions = new Map<string, Map<string, SeriesPosition>>();
  const unreadable = (error: unknown) => new SinkError(`CSV directory ${directory} cannot be read: ${describeError(error)}`, { cause: error });

  async function fileState(name: string): Promise<FileState> {
    const cached = files.get(name);
    if (cached) return cached;
    let state: FileState = { last: undefined };
    if (await fs.exists(name)) {
      await fs.repair(name);
      const rows = await fs.readRows(name);
      const last = rows.reduce<CsvRow | undefined>((max, r) => (!max || compareRows(r, max) > 0 ? r : max), undefined);
      state = { last: last ? { openTimeMs: last.openTimeMs, coin: last.coin } : undefined };
    }
    files.set(name, state);
    return state;
  }

  async function seriesPositions(exchange: ExchangeId, intervalMinutes: number): Promise<Map<string, SeriesPosition>> {
    const key = `${exchange}|${intervalMinutes}`;
    const cached = positions.get(key);
    if (cached) return cached;
    const names = (await fs.dayFiles(exchange, intervalMinutes))
      .map((f) => f.name)
      .reverse()
      .slice(0, lookbackDays);
    const map = new Map<string, SeriesPosition>();
    for (const name of names) {
      await fs.repair(name);
      for (const row of await fs.readRows(name)) {
        const current = map.get(row.coin);
        if (!current || row.openTimeMs > current.openTimeMs) map.set(row.coin, { openTimeMs: row.openTimeMs, close: row.close });
      }
    }
    positions.set(key, map);
    return map;
  }

  async function writeFileRows(name: string, candles: Candle[]): Promise<number> {
    const state = await fileState(name);
    const unique = fileOrder(candles, candles[0]!.intervalMinutes * MINUTE_MS);
    if (state.last === undefined && !(await fs.exists(name))) {
      await fs.replace(name, renderRowBytes(unique, CSV_HEADER + "\n"));
      state.last = unique[unique.length - 1]!;
      return unique.length;
    }
    if (state.last === undefined || compareRows(unique[0]!, state.last) > 0) {
      await fs.append(name, renderRowBytes(unique));
      state.last = unique[unique.length - 1]!;
      return unique.length;
    }
    // A late row: merge into the file, new values winning, and replace it atomically.
    const merged = new Map<string, { openTimeMs: number; coin: string; line: string }>();
    for (const r of await fs.readRows(name)) merged.set(`${r.openTimeMs}|${r.coin}`, r);
    let added = 0;
    for (const c of unique) {
      const k = `${c.openTimeMs}|${c.coin}`;
      if (!merged.has(k)) added++;
      merged.set(k, { openTimeMs: c.openTimeMs, coin: c.coin, line: renderRow(c) });
    }
    const sorted = [...merged.values()].sort(compareRows);
    await fs.replace(name, CSV_HEADER + "\n" + sorted.map((r) => r.line).join("\n") + "\n");
    const last = sorted[sorted.length - 1]!;
    state.last = { openTimeMs: last.openTimeMs, coin: last.coin };
    return added;
  }

  return {
    name: "csv",
    directory,
    async open() {
      try {
        await mkdir(directory, { recursive: true });
        await fs.removeLeftovers();
      } catch (error) {
        throw new SinkError(`CSV directory ${directory} cannot be used: ${describeError(error)}`, { cause: error });
      }
    },
    async lastSaved(exchange, coin, intervalMinutes) {
      try {
        return (await seriesPositions(exchange, intervalMinutes)).get(coin);
      } catch (error) {
        throw unreadable(error);
      }
    },
    async write(candles) {
      // Candles come in runs of one series and day: a file's name is worked out when the run changes.
      const byFile = new Map<string, Candle[]>();
      let list: Candle[] = [];
      let runExchange = "";
      let runInterval = Number.NaN;
      let runDay = Number.NaN;
      for (const c of candles) {
        const day = Math.floor(c.openTimeMs / DAY_MS);
        if (day !== runDay || c.exchange !== runExchange || c.intervalMinutes !== runInterval) {
          runDay = day;
          runExchange = c.exchange;
          runInterval = c.intervalMinutes;
          const name = csvFileName(c.exchange, c.intervalMinutes, c.openTimeMs);
          list = byFile.get(name) ?? [];
          byFile.set(name, list);
        }
        list.push(c);
      }
      // The series' last positions as the files hold them before this write (read once; reading
      // them after would read back every row just written).
      const positionMaps = new Map<string, Map<string, SeriesPosition>>();
      for (const rows of byFile.values()) {
        const { exchange, intervalMinutes } = rows[0]!;
        const key = `${exchange}|${intervalMinutes}`;
        if (positionMaps.has(key)) continue;
        try {
          positionMaps.set(key, await seriesPositions(exchange, intervalMinutes));
        } catch (error) {
          throw unreadable(error);
        }
      }
      let written = 0;
      for (const name of [...byFile.keys()].sort()) {
        const rows = byFile.get(name)!;
        try {
          written += await writeFileRows(name, rows);
        } catch (error) {
          files.delete(name);
          throw new SinkError(`CSV write to ${fs.pathOf(name)} failed: ${describeError(error)}`, { cause: error });
        }
        // One file holds one exchange and interval.
        advancePositions(positionMaps.get(`${rows[0]!.exchange}|${rows[0]!.intervalMinutes}`)!, rows);
      }
      return written;
    },
    async missingRanges(exchange, intervalMinutes, coins, fromOpenMs, toOpenMs) {
      const wanted = new Set(coins);
      const saved = new Map<string, number[]>(coins.map((c) => [c, []]));
      try {
        for (const f of await fs.dayFiles(exchange, intervalMinutes)) {
          if (f.dayMs + DAY_MS <= fromOpenMs || f.dayMs > toOpenMs) continue;
          await fs.repair(f.name);
          for (const row of await fs.readRows(f.name)) {
            if (wanted.has(row.coin) && row.openTimeMs >= fromOpenMs && row.openTimeMs <= toOpenMs) saved.get(row.coin)!.push(row.openTimeMs);
          }
        }
      } catch (error) {
        throw unreadable(error);
      }
      const out = new Map<string, BucketRange[]>();
      for (const [coin, opens] of saved)
        out.set(
          coin,
          missingRuns(
            opens.sort((a, b) => a - b),
            intervalMinutes,
            fromOpenMs,
            toOpenMs,
          ),
        );
      return out;
    },
    async firstSaved(exchange, coin, intervalMinutes) {
      for (const f of await fs.dayFiles(exchange, intervalMinutes)) {
        const rows = (await fs.readRows(f.name)).filter((r) => r.coin === coin);
        if (rows.length > 0) return Math.min(...rows.map((r) => r.openTimeMs));
      }
      return undefined;
    },
    async close() {
      files.clear();
      positions.clear();
    },
  };
}

/**
 * Moves each coin's last position to its latest candle among `rows` (the later one of equal times);
 * rows come in runs of one coin, so each run costs one map lookup.
 */
function advancePositions(map: Map<string, SeriesPosition>, rows: readonly Candle[]): void {
  let best: Candle | undefined;
  const flush = () => {
    if (!best) return;
    const current = map.get(best.coin);
    if (!current || best.openTimeMs >= current.openTimeMs) map.set(best.coin, { openTimeMs: best.openTimeMs, close: best.close });
  };
  for (const c of rows) {
    if (best && c.coin !== best.coin) {
      flush();
      best = undefined;
    }
    if (!best || c.openTimeMs >= best.openTimeMs) best = c;
  }
  flush();
}
