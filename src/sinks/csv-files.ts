/**
 * The CSV directory's file operations, apart from what the sink decides: repairing a torn last line,
 * reading rows, appending without leaving part of a chunk, replacing a file atomically (temporary
 * file, fsync, rename), listing a series' day files, and dropping leftovers of an interrupted rewrite.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { appendFile, readdir, readFile, rename, stat, truncate, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExchangeId } from "../domain/candle.ts";
import { formatInterval } from "../domain/interval.ts";
import type { Logger } from "../telemetry/log.ts";
import { CSV_HEADER, parseCsvFileName, parseRow, type CsvRow } from "./csv-format.ts";

export const DAY_MS = 86_400_000;

export interface CsvFiles {
  pathOf(name: string): string;
  exists(name: string): Promise<boolean>;
  /** Cuts a torn last line (no newline at the end) and restores a missing header. */
  repair(name: string): Promise<void>;
  /** The file's valid rows, in file order; an invalid line is logged and skipped. */
  readRows(name: string): Promise<CsvRow[]>;
  /** Appends `bytes` whole or not at all: on failure the file is cut back to its size before. */
  append(name: string, bytes: Uint8Array): Promise<void>;
  /** Replaces (or creates) the file with `content`: never a half-written file under its name. */
  replace(name: string, content: string | Uint8Array): Promise<void>;
  /** Day files of an exchange and interval, oldest first. */
  dayFiles(exchange: ExchangeId, intervalMinutes: number): Promise<{ name: string; dayMs: number }[]>;
  /** Removes the temporary copies an interrupted `replace` left (the original file is intact). */
  removeLeftovers(): Promise<void>;
}

export function createCsvFiles(directory: string, logger: Logger): CsvFiles {
  const pathOf = (name: string) => join(directory, name);
  return {
    pathOf,
    async exists(name) {
      try {
        await stat(pathOf(name));
        return true;
      } catch {
        return false;
      }
    },
    async repair(name) {
      const path = pathOf(name);
      const info = await stat(path);
      if (info.size === 0) {
        await writeFile(path, CSV_HEADER + "\n");
        return;
      }
      const fd = openSync(path, "r");
      try {
        const tail = Buffer.alloc(Math.min(info.size, 64 * 1024));
        readSync(fd, tail, 0, tail.length, info.size - tail.length);
        if (tail[tail.length - 1] === 0x0a) return;
        const cut = tail.lastIndexOf(0x0a);
        const keep = cut < 0 ? 0 : info.size - tail.length + cut + 1;
        logger.warn("CSV file ends in a partial line (interrupted write); cutting it off", { file: path, bytes: info.size - keep });
        await truncate(path, keep);
        if (keep === 0) await writeFile(path, CSV_HEADER + "\n");
      } finally {
        closeSync(fd);
      }
    },
    async readRows(name) {
      const path = pathOf(name);
      const text = await readFile(path, "utf8");
      const lines = text.split("\n");
      const rows: CsvRow[] = [];
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line === "" || line === CSV_HEADER) continue;
        const row = parseRow(line);
        if (row) rows.push(row);
        else logger.warn("CSV line is not a valid row; ignoring it", { file: path, line: i + 1 });
      }
      return rows;
    },
    async append(name, bytes) {
      const path = pathOf(name);
      const before = (await stat(path)).size;
      try {
        await appendFile(path, bytes);
      } catch (error) {
        // Never leave part of the chunk behind: the next cycle writes it again from the last row.
        await truncate(path, before).catch(() => {});
        throw error;
      }
    },
    async replace(name, content) {
      const path = pathOf(name);
      const tmp = `${path}.tmp-${process.pid}`;
      try {
        const fd = openSync(tmp, "w");
        try {
          const bytes = typeof content === "string" ? Buffer.from(content) : content;
          for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        await rename(tmp, path);
      } catch (error) {
        await unlink(tmp).catch(() => {});
        throw error;
      }
    },
    async dayFiles(exchange, intervalMinutes) {
      const label = formatInterval(intervalMinutes);
      return (await readdir(directory))
        .map((name) => ({ name, parsed: parseCsvFileName(name) }))
        .filter((f) => f.parsed?.exchange === exchange && f.parsed.label === label)
        .map((f) => ({ name: f.name, dayMs: Date.parse(`${f.parsed!.day}T00:00:00Z`) }))
        .sort((a, b) => a.dayMs - b.dayMs);
    },
    async removeLeftovers() {
      for (const n of await readdir(directory)) if (/\.csv\.tmp-\d+$/.test(n)) await unlink(join(directory, n));
    },
  };
}
