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

/**
 * The same sink, writing its own rows but answering where each series stands from `positions`:
 * in cluster mode an instance's CSV holds only what it fetched, so the shared database says what is
 * still to fetch (never a second fetch of what another instance saved).
 */
export function withPositionsOf(sink: CandleSink, positions: CandleSink): CandleSink {
  return {
    name: sink.name,
    open: () => sink.open(),
    lastSaved: (...a) => positions.lastSaved(...a),
    missingRanges: (...a) => positions.missingRanges(...a),
    firstSaved: (...a) => positions.firstSaved(...a),
    ...(sink.track ? { track: (...a: Parameters<NonNullable<CandleSink["track"]>>) => sink.track!(...a) } : {}),
    close: () => sink.close(),
    write: (candles) => sink.write(candles),
  };
}
