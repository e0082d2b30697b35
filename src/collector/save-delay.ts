/**
 * The save-delay histogram: seconds from a live bucket's end to its row being durable (a sink's
 * `write` resolves only after the CSV file is fsynced or the transaction committed). Only the
 * newest closed bucket counts: catch-up after a restart or an outage is lag, shown by its own gauge.
 */
import type { Clock } from "../clock.ts";
import type { ExchangeId } from "../domain/candle.ts";
import { MINUTE_MS } from "../domain/interval.ts";
import { interceptWrites } from "../sinks/intercept.ts";
import type { CandleSink } from "../sinks/types.ts";
import type { Metrics } from "../telemetry/metrics.ts";

export type SaveSource = "stream" | "rest";

export interface SaveDelayContext {
  exchange: ExchangeId;
  source: SaveSource;
  intervalMinutes: number;
  clock: Clock;
  metrics: Metrics;
}

export function timedSinks(sinks: readonly CandleSink[], ctx: SaveDelayContext): CandleSink[] {
  const size = ctx.intervalMinutes * MINUTE_MS;
  return sinks.map((sink) =>
    interceptWrites(sink, async (candles, inner) => {
      const written = await inner.write(candles);
      const now = ctx.clock.now();
      const labels = { exchange: ctx.exchange, sink: sink.name, source: ctx.source };
      for (const c of candles) {
        const end = c.openTimeMs + size;
        if (end <= now && now - end < size) ctx.metrics.observe("cryptointellect_save_delay_seconds", labels, (now - end) / 1000);
      }
      return written;
    }),
  );
}
