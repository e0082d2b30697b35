/** What the pipeline should have saved, computed from the simulator's own data (the test oracle). */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Candle, ExchangeId } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { CSV_HEADER, renderRow } from "../../src/sinks/csv-format.ts";
import { simBucket, simPreviousClose } from "../../src/simulator/market-data.ts";
import { brandName, newCcxtExchange } from "../../src/exchanges/ccxt-catalog.ts";
import { recordExchangeName } from "../../src/exchanges/names.ts";

// The simulated exchanges collected through ccxt are named as the runtime names them: ccxt's brand.
for (const id of ["okx", "coinbase", "bybit"]) recordExchangeName(id, brandName(newCcxtExchange(id)!.name ?? id));

/** The candle a bucket should be saved as: the simulator's bucket, or fed forward from its previous close. */
export function expectedCandle(exchange: ExchangeId, coin: string, intervalMinutes: number, openTimeMs: number): Candle | undefined {
  const b = simBucket(exchange, coin, intervalMinutes, openTimeMs);
  if (b) return { ...b, exchange, coin, intervalMinutes, filled: false };
  const close = simPreviousClose(exchange, coin, openTimeMs);
  if (close === null) return undefined;
  return { openTimeMs, open: close, high: close, low: close, close, volume: 0, exchange, coin, intervalMinutes, filled: true };
}

export function expectedRow(exchange: ExchangeId, coin: string, intervalMinutes: number, openTimeMs: number): string | undefined {
  const c = expectedCandle(exchange, coin, intervalMinutes, openTimeMs);
  return c && renderRow(c);
}

export interface SavedRow {
  file: string;
  line: string;
  exchange: ExchangeId;
  coin: string;
  intervalMinutes: number;
  openTimeMs: number;
}

/** Every data row of every CSV file in `dir`, checking each file's header and completeness. */
export function readCsvDir(dir: string): SavedRow[] {
  const rows: SavedRow[] = [];
  for (const file of readdirSync(dir)
    .filter((n) => n.endsWith(".csv"))
    .sort()) {
    const text = readFileSync(join(dir, file), "utf8");
    if (!text.endsWith("\n")) throw new Error(`${file} ends in a partial line`);
    const lines = text.split("\n").slice(0, -1);
    if (lines[0] !== CSV_HEADER) throw new Error(`${file} has no header`);
    for (const line of lines.slice(1)) {
      const f = line.split(",");
      const intervalMinutes = Number(f[8]);
      rows.push({ file, line, exchange: f[1]!.toLowerCase() as ExchangeId, coin: f[2]!, intervalMinutes, openTimeMs: Date.parse(f[0]!) - intervalMinutes * MINUTE_MS });
    }
  }
  return rows;
}

/** Rows that appear more than once (same exchange, coin, interval and bucket). */
export function duplicates(rows: readonly SavedRow[]): string[] {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const r of rows) {
    const k = `${r.exchange}|${r.coin}|${r.intervalMinutes}|${r.openTimeMs}`;
    if (seen.has(k)) dups.push(k);
    seen.add(k);
  }
  return dups;
}

/** Rows whose values differ from the simulator's, as `saved ≠ expected` texts. */
export function mismatches(rows: readonly SavedRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const want = expectedRow(r.exchange, r.coin, r.intervalMinutes, r.openTimeMs);
    if (want !== r.line) out.push(`${r.line} ≠ ${want}`);
  }
  return out;
}
