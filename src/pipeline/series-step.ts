/**
 * The one step the live cycle and the backfill (and, later, a stream) take for every window of a
 * series: a fetched window becomes saveable buckets (aggregated, checked, fed forward; rejected
 * candles logged and counted here, once), a failed one breaks the feed-forward chain; then each
 * sink gets the buckets it lacks, side by side, one slow sink never holding up another.
 */
import type { Clock } from "../clock.ts";
import type { Candle, ExchangeId } from "../domain/candle.ts";
import { describeError } from "../errors.ts";
import type { CandleSink } from "../sinks/types.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { CandleConflict, WindowResult } from "./fetch-range.ts";
import { buildWindowCandles, type SeriesState } from "./series.ts";

/** How many buckets to look back for a previous close when a series has none saved before its range. */
export const SEED_BUCKETS = 60;

export interface StepContext {
  exchange: ExchangeId;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  settleSeconds: number;
}

export type StepResult = { ok: true; candles: Candle[]; rejected: number } | { ok: false; error: Error };

/** A window of `state`'s series, fetched or failed, as saveable buckets; `state` carries the close on. */
export function stepWindow(state: SeriesState, window: WindowResult, ctx: StepContext): StepResult {
  if (!window.ok) {
    state.previousClose = undefined; // never feed forward across a gap
    return { ok: false, error: window.error };
  }
  const built = buildWindowCandles(state, window, ctx.clock.now(), ctx.settleSeconds);
  for (const r of built.rejected) {
    ctx.metrics.inc("cryptointellect_rejected_candles_total", { exchange: ctx.exchange });
    ctx.logger.warn("candle failed quality checks; not saved", { exchange: ctx.exchange, coin: state.coin, open: new Date(r.candle.openTimeMs).toISOString(), problem: r.problem });
  }
  return { ok: true, candles: built.candles, rejected: built.rejected.length };
}

/**
 * Logs and counts an exchange answer holding two different candles for one open time: a quality
 * failure, whether the retry that follows resolves it or not (then the bucket is left missing and
 * reported as rejected by the series builder).
 */
export function reportConflict(logger: Logger, metrics: Metrics, exchange: ExchangeId, coin: string): (conflict: CandleConflict) => void {
  return ({ window, copies, attempt, final }) => {
    const openTimes = [...new Set(copies.map((c) => c.openTimeMs))];
    metrics.inc("cryptointellect_conflicting_candles_total", { exchange }, openTimes.length);
    logger.warn(
      final
        ? "different candles for one open time in every answer; those buckets are left missing"
        : "different candles for one open time in one answer; fetching the window again",
      {
        exchange,
        coin,
        opens: openTimes.map((t) => new Date(t).toISOString()).join(","),
        window: `${new Date(window.fromOpenMs).toISOString()}/${new Date(window.toOpenMs).toISOString()}`,
        attempt,
      },
    );
  };
}

export interface SinkWrite {
  ok: boolean;
  written: number;
  error?: string;
}

/**
 * Writes each sink's candles, sinks side by side; counts rows written and sink errors, and logs a
 * failure with `failureMessage` (what happens to the candles next). Sinks with nothing to write are
 * left out of the answer.
 */
export async function writeToSinks(
  batch: ReadonlyMap<CandleSink, readonly Candle[]>,
  ctx: Pick<StepContext, "exchange" | "logger" | "metrics">,
  failureMessage: string,
): Promise<Map<CandleSink, SinkWrite>> {
  const out = new Map<CandleSink, SinkWrite>();
  await Promise.all(
    [...batch].map(async ([sink, candles]) => {
      if (candles.length === 0) return;
      try {
        const written = await sink.write(candles as Candle[]);
        out.set(sink, { ok: true, written });
        ctx.metrics.inc("cryptointellect_rows_written_total", { sink: sink.name, exchange: ctx.exchange }, written);
      } catch (error) {
        const message = describeError(error);
        out.set(sink, { ok: false, written: 0, error: message });
        ctx.metrics.inc("cryptointellect_sink_errors_total", { sink: sink.name });
        ctx.logger.error(failureMessage, { sink: sink.name, exchange: ctx.exchange, candles: candles.length, error: message });
      }
    }),
  );
  return out;
}
