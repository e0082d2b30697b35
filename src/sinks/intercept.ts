import type { Candle } from "../domain/candle.ts";
import type { CandleSink } from "./types.ts";

/** The same sink with some of its methods replaced; the rest (and `track`, when it has one) are its own. */
function overriding(sink: CandleSink, over: Partial<Pick<CandleSink, "write" | "lastSaved" | "missingRanges" | "firstSaved">>): CandleSink {
  return {
    name: sink.name,
    open: () => sink.open(),
    lastSaved: over.lastSaved ?? ((...a) => sink.lastSaved(...a)),
    missingRanges: over.missingRanges ?? ((...a) => sink.missingRanges(...a)),
    firstSaved: over.firstSaved ?? ((...a) => sink.firstSaved(...a)),
    ...(sink.track ? { track: (...a: Parameters<NonNullable<CandleSink["track"]>>) => sink.track!(...a) } : {}),
    close: () => sink.close(),
    write: over.write ?? ((candles) => sink.write(candles)),
  };
}

/**
 * The same sink with its `write` routed through `write(candles, inner)`: for watching writes
 * (comparing, timing) without touching the sink.
 */
export function interceptWrites(sink: CandleSink, write: (candles: readonly Candle[], inner: CandleSink) => Promise<number>): CandleSink {
  return overriding(sink, { write: (candles) => write(candles, sink) });
}

/**
 * The same sink, writing its own rows but answering where each series stands from `positions`:
 * in cluster mode an instance's CSV holds only what it fetched, so the shared database says what is
 * still to fetch (never a second fetch of what another instance saved).
 */
export function withPositionsOf(sink: CandleSink, positions: CandleSink): CandleSink {
  return overriding(sink, {
    lastSaved: (...a) => positions.lastSaved(...a),
    missingRanges: (...a) => positions.missingRanges(...a),
    firstSaved: (...a) => positions.firstSaved(...a),
  });
}
