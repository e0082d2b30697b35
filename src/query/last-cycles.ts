/** Each exchange's latest cycle report, as the health tracker is told it: what /api/status shows as `lastCycle`. */
import type { HealthTracker } from "../collector/health.ts";
import type { ExchangeId } from "../domain/candle.ts";
import type { ExchangeCycleReport } from "../pipeline/cycle.ts";

export interface CycleLog {
  /** The tracker, unchanged, except that every report it records is also kept here. */
  observe(health: HealthTracker): HealthTracker;
  last(): ReadonlyMap<ExchangeId, ExchangeCycleReport>;
}

export function createCycleLog(): CycleLog {
  const latest = new Map<ExchangeId, ExchangeCycleReport>();
  return {
    observe: (health) => ({
      ...health,
      record(report) {
        latest.set(report.exchange, report);
        health.record(report);
      },
    }),
    last: () => latest,
  };
}
