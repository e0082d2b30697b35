/**
 * `/api/series`: every tracked series and every saved one of the configured interval, with what the
 * store holds of it and how its exchange's last fetch went. Pure: the caller hands in the markets,
 * the store's statistics and the health snapshot.
 */
import type { HealthSnapshot } from "../collector/health.ts";
import type { ExchangeId } from "../domain/candle.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import { exchangeName } from "../exchanges/names.ts";
import type { Market } from "../exchanges/types.ts";
import { isoTimestamp } from "../sinks/csv-format.ts";
import type { SavedSeries } from "./source.ts";

export interface SeriesEntry {
  exchange: string;
  exchangeName: string;
  coin: string;
  /** The exchange's market symbol and quote currency; null for a saved series not tracked now. */
  symbol: string | null;
  quote: string | null;
  intervalMinutes: number;
  /** TimeStamps (bucket ends) of the first and last saved bucket. */
  first: string | null;
  last: string | null;
  rows: number;
  filledRows: number;
  /** Buckets between first and last that are not saved. */
  missingBuckets: number;
  /** The exchange's last successful cycle and its last error (per exchange: fetches are not tracked per series). */
  lastFetch: string | null;
  lastError: string | null;
}

export function listSeries(input: {
  intervalMinutes: number;
  tracked: ReadonlyMap<ExchangeId, readonly Market[]>;
  saved: readonly SavedSeries[];
  health: HealthSnapshot;
}): SeriesEntry[] {
  const size = input.intervalMinutes * MINUTE_MS;
  const entries = new Map<string, SeriesEntry>();
  const entry = (exchange: string, coin: string, name: string): SeriesEntry => {
    const key = `${exchange}|${coin}`;
    let e = entries.get(key);
    if (!e) {
      const h = input.health.exchanges[exchange];
      e = {
        exchange,
        exchangeName: name,
        coin,
        symbol: null,
        quote: null,
        intervalMinutes: input.intervalMinutes,
        first: null,
        last: null,
        rows: 0,
        filledRows: 0,
        missingBuckets: 0,
        lastFetch: h?.lastSuccess ?? null,
        lastError: h?.lastError ?? null,
      };
      entries.set(key, e);
    }
    return e;
  };
  for (const [exchange, markets] of input.tracked) {
    for (const m of markets) {
      const e = entry(exchange, m.coin, exchangeName(exchange));
      e.symbol = m.symbol;
      e.quote = m.quote;
    }
  }
  for (const s of input.saved) {
    if (s.intervalMinutes !== input.intervalMinutes) continue;
    const e = entry(s.exchange, s.coin, s.exchangeName);
    e.exchangeName = s.exchangeName;
    e.first = isoTimestamp(s.firstEndMs);
    e.last = isoTimestamp(s.lastEndMs);
    e.rows = s.rows;
    e.filledRows = s.filledRows;
    e.missingBuckets = Math.max(0, Math.round((s.lastEndMs - s.firstEndMs) / size) + 1 - s.rows);
  }
  return [...entries.values()].sort((a, b) => compare(a.exchange, b.exchange) || compare(a.coin, b.coin));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
