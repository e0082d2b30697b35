import type { StreamCandle } from "./types.ts";

/**
 * Turns stream updates into final candles, per series (market), pure. A candle with a closed flag
 * (Binance) is final when the flag says so; without one (Kraken, KuCoin, Poloniex) the latest value
 * of a candle is final when a later `openTimeMs` arrives for the series. An in-progress value is
 * never emitted. Each (series, bucket) has one outcome: a final candle, or a quiet report from
 * `flushQuiet` once its end + settle has passed without one (a later final for it is then dropped).
 * Without a closed flag, that report carries the bucket's last value as `settled`: past its end +
 * settle the bucket is closed by the same rule REST mode uses, and its last value is its candle.
 */
export interface QuietBucket {
  market: string;
  openTimeMs: number;
  /** Updates arrived for the bucket but none final: REST has its values; else it may be a quiet bucket. */
  hadUpdates: boolean;
  /** No closed flag (Kraken, KuCoin, Poloniex): the bucket's last value, closed by settle. */
  settled?: StreamCandle;
}

export interface FinalityTracker {
  /** The final candles an update makes known (zero or one for now, oldest first). */
  push(update: StreamCandle): StreamCandle[];
  /** Forgets the values in progress (after a reconnect or a lost message they may be incomplete). */
  reset(): void;
  /** Buckets that ended at least `settleSeconds` before `nowMs` with nothing final, oldest first per series. */
  flushQuiet(nowMs: number, settleSeconds: number): QuietBucket[];
}

interface SeriesState {
  pending: StreamCandle | undefined;
  /** The next bucket `flushQuiet` looks at; buckets before it are settled. */
  nextCheckMs: number;
  /** Open times of the finals emitted at or after `nextCheckMs`, ascending. */
  finals: number[];
}

/** Finals remembered per series between two `flushQuiet` calls. */
const MAX_REMEMBERED_FINALS = 4096;
/** Quiet buckets reported per series in one `flushQuiet` (the oldest are skipped past this). */
const MAX_QUIET_PER_SERIES = 1440;

export function createFinalityTracker(options: { markets: readonly string[]; intervalMs: number; startMs: number }): FinalityTracker {
  const { intervalMs } = options;
  const firstBucket = Math.floor(options.startMs / intervalMs) * intervalMs;
  const series = new Map<string, SeriesState>();
  for (const market of options.markets) series.set(market, { pending: undefined, nextCheckMs: firstBucket, finals: [] });

  function emit(s: SeriesState, candle: StreamCandle, out: StreamCandle[]): void {
    const last = s.finals[s.finals.length - 1];
    if (candle.openTimeMs < s.nextCheckMs || (last !== undefined && candle.openTimeMs <= last)) return;
    s.finals.push(candle.openTimeMs);
    if (s.finals.length > MAX_REMEMBERED_FINALS) s.finals.shift();
    out.push({ ...candle, final: true });
  }

  return {
    push(update) {
      const s = series.get(update.market);
      const out: StreamCandle[] = [];
      // Only the markets asked for: memory stays bounded whatever the server sends.
      if (!s) return out;
      const pending = s.pending;
      if (pending !== undefined && update.openTimeMs < pending.openTimeMs) return out;
      if (update.final === true) {
        emit(s, update, out);
        s.pending = undefined;
        return out;
      }
      // A closed flag exists: a newer in-progress value never closes the previous one.
      if (update.final === undefined && pending !== undefined && update.openTimeMs > pending.openTimeMs) emit(s, pending, out);
      s.pending = update;
      return out;
    },
    reset() {
      for (const s of series.values()) s.pending = undefined;
    },
    flushQuiet(nowMs, settleSeconds) {
      const out: QuietBucket[] = [];
      const settledBefore = nowMs - settleSeconds * 1000;
      for (const [market, s] of series) {
        const end = Math.floor((settledBefore - intervalMs) / intervalMs) * intervalMs + intervalMs;
        if (end <= s.nextCheckMs) continue;
        const from = Math.max(s.nextCheckMs, end - MAX_QUIET_PER_SERIES * intervalMs);
        const finals = new Set(s.finals);
        for (let b = from; b < end; b += intervalMs) {
          if (finals.has(b)) continue;
          const last = s.pending?.openTimeMs === b ? s.pending : undefined;
          out.push({ market, openTimeMs: b, hadUpdates: last !== undefined, ...(last?.final === undefined && last ? { settled: { ...last, final: true } } : {}) });
        }
        s.nextCheckMs = end;
        s.finals = s.finals.filter((t) => t >= end);
        if (s.pending !== undefined && s.pending.openTimeMs < end) s.pending = undefined;
      }
      return out;
    },
  };
}
