/** Deterministic synthetic candles for the benchmarks: the same data on every run. */
import type { Candle, RawCandle } from "../src/domain/candle.ts";
import type { NativeExchangeId as ExchangeId } from "../src/exchanges/index.ts";
import { compareRows, CSV_HEADER, csvFileName, renderRow } from "../src/sinks/csv-format.ts";
import { createPrng } from "../src/simulator/noise.ts";

export const MINUTE_MS = 60_000;
/** Where the synthetic series start: a few minutes past midnight, so the first bucket of most intervals is partial. */
export const SERIES_START_MS = Date.UTC(2024, 0, 1, 0, 3);

/**
 * `count` consecutive 1-minute candles of one series, sorted, prices on a 0.01 grid, about 5% of
 * minutes quiet (volume 0, all prices at the previous close, as Binance sends them).
 */
export function minuteCandles(count: number, seed = 1, startMs = SERIES_START_MS): RawCandle[] {
  const random = createPrng(seed);
  const out: RawCandle[] = new Array(count);
  let close = 30_000;
  for (let i = 0; i < count; i++) {
    const openTimeMs = startMs + i * MINUTE_MS;
    if (random() < 0.05) {
      out[i] = { openTimeMs, open: close, high: close, low: close, close, volume: 0 };
      continue;
    }
    const open = close;
    const next = Math.max(1, Math.round((close + (random() - 0.5) * 40) * 100) / 100);
    const high = Math.round((Math.max(open, next) + random() * 10) * 100) / 100;
    const low = Math.round((Math.min(open, next) - random() * 10) * 100) / 100;
    out[i] = { openTimeMs, open, high, low, close: next, volume: Math.round(random() * 50_000) / 10_000 + 0.0001 };
    close = next;
  }
  return out;
}

/** Saveable candles: `coins` series of `minutes` each on every exchange given, sorted by time then coin. */
export function saveableCandles(exchanges: readonly ExchangeId[], coins: number, minutes: number, startMs = SERIES_START_MS): Candle[] {
  const out: Candle[] = [];
  const names = Array.from({ length: coins }, (_, i) => `C${String(i).padStart(3, "0")}`);
  for (const [e, exchange] of exchanges.entries()) {
    const series = names.map((_, i) => minuteCandles(minutes, 1000 * (e + 1) + i, startMs));
    for (let m = 0; m < minutes; m++) {
      for (let i = 0; i < names.length; i++) {
        const c = series[i]![m]!;
        out.push({ ...c, exchange, coin: names[i]!, intervalMinutes: 1, filled: c.volume === 0 });
      }
    }
  }
  return out;
}

/**
 * The CSV files candles make, as the format defines them (a file per day, rows by time then coin),
 * rendered with the format's functions but not through the sink: what the CSV sink must leave, and
 * what the ccxt baseline writes.
 */
export function renderCsvFiles(candles: readonly Candle[]): Map<string, string> {
  const byFile = new Map<string, Candle[]>();
  for (const c of candles) {
    const name = csvFileName(c.exchange, c.intervalMinutes, c.openTimeMs);
    let list = byFile.get(name);
    if (!list) byFile.set(name, (list = []));
    list.push(c);
  }
  const out = new Map<string, string>();
  for (const [name, list] of byFile) out.set(name, CSV_HEADER + "\n" + [...list].sort(compareRows).map(renderRow).join("\n") + "\n");
  return out;
}
