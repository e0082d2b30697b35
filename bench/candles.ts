/** Deterministic synthetic candles for the benchmarks: the same data on every run. */
import type { Candle, ExchangeId, RawCandle } from "../src/domain/candle.ts";

export const MINUTE_MS = 60_000;
/** Where the synthetic series start: a few minutes past midnight, so the first bucket of most intervals is partial. */
export const SERIES_START_MS = Date.UTC(2024, 0, 1, 0, 3);

/** mulberry32: small, fast, seeded. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` consecutive 1-minute candles of one series, sorted, prices on a 0.01 grid, about 5% of
 * minutes quiet (volume 0, all prices at the previous close, as Binance sends them).
 */
export function minuteCandles(count: number, seed = 1, startMs = SERIES_START_MS): RawCandle[] {
  const random = createRandom(seed);
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
