/** What the store must hold: every tracked series complete over a span, each row the simulator's, once. */
import type { ExchangeId } from "../../../src/domain/candle.ts";
import { MINUTE_MS } from "../../../src/domain/interval.ts";
import type { Market } from "../../../src/exchanges/types.ts";
import { duplicates, mismatches, readCsvDir, type SavedRow } from "../../helpers/oracle.ts";

export interface StoreProblems {
  duplicates: string[];
  mismatches: string[];
  /** `exchange coin: missing 09:03, 09:04` or `… unexpected 08:00`. */
  coverage: string[];
}

/**
 * Checks the CSV store: no duplicate, every row equal to the simulator's (nothing fabricated), and
 * each series in `tracked` holding exactly the buckets from `fromOpenMs` to `toOpenMs`.
 */
export function checkStore(
  rowsOrDir: string | readonly SavedRow[],
  tracked: ReadonlyMap<ExchangeId, readonly Market[]>,
  intervalMinutes: number,
  fromOpenMs: number,
  toOpenMs: number,
): StoreProblems {
  const rows = typeof rowsOrDir === "string" ? readCsvDir(rowsOrDir) : rowsOrDir;
  const coverage: string[] = [];
  const size = intervalMinutes * MINUTE_MS;
  const bySeries = new Map<string, number[]>();
  for (const r of rows) {
    const k = `${r.exchange} ${r.coin}`;
    let list = bySeries.get(k);
    if (!list) bySeries.set(k, (list = []));
    list.push(r.openTimeMs);
  }
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(5, 16);
  for (const [exchange, markets] of tracked) {
    for (const m of markets) {
      const have = new Set(bySeries.get(`${exchange} ${m.coin}`) ?? []);
      const missing: string[] = [];
      for (let t = fromOpenMs; t <= toOpenMs; t += size) if (!have.has(t)) missing.push(hhmm(t));
      const extra = [...have]
        .filter((t) => t < fromOpenMs || t > toOpenMs)
        .sort((a, b) => a - b)
        .map(hhmm);
      if (missing.length > 0) coverage.push(`${exchange} ${m.coin}: missing ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` … (${missing.length})` : ""}`);
      if (extra.length > 0) coverage.push(`${exchange} ${m.coin}: unexpected ${extra.slice(0, 5).join(", ")}${extra.length > 5 ? ` … (${extra.length})` : ""}`);
    }
  }
  return { duplicates: duplicates(rows), mismatches: mismatches(rows), coverage };
}

export const NO_PROBLEMS: StoreProblems = { duplicates: [], mismatches: [], coverage: [] };
