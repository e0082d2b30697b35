import type { Candle } from "../domain/candle.ts";
import type { CandleSink } from "./types.ts";

/**
 * The same sink with its `write` routed through `write(candles, inner)`: for watching writes
 * (comparing, timing) without touching the sink. Every other method is the sink's own.
 */
export function interceptWrites(sink: CandleSink, write: (candles: readonly Candle[], inner: CandleSink) => Promise<number>): CandleSink {
  return {
    name: sink.name,
    open: () => sink.open(),
    lastSaved: (...a) => sink.lastSaved(...a),
    missingRanges: (...a) => sink.missingRanges(...a),
    firstSaved: (...a) => sink.firstSaved(...a),
    ...(sink.track ? { track: (...a: Parameters<NonNullable<CandleSink["track"]>>) => sink.track!(...a) } : {}),
    close: () => sink.close(),
    write: (candles) => write(candles, sink),
  };
}
