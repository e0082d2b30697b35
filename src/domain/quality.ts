import type { RawCandle } from "./candle.ts";
import { isAligned, MINUTE_MS } from "./interval.ts";

/**
 * Why a candle must not be saved, or undefined when it passes: low ≤ open, close ≤ high; finite,
 * positive prices; volume ≥ 0; aligned to the interval; not in the future; closed at `nowMs` (its end + settle ≤ now).
 */
export function candleProblem(c: RawCandle, intervalMinutes: number, nowMs: number, settleSeconds: number): string | undefined {
  if (!(Number.isFinite(c.open) && Number.isFinite(c.high) && Number.isFinite(c.low) && Number.isFinite(c.close) && Number.isFinite(c.volume))) {
    return "a price or the volume is not a finite number";
  }
  if (!(c.low > 0)) return "prices must be positive";
  if (c.low > c.open || c.low > c.close || c.high < c.open || c.high < c.close || c.low > c.high) {
    return "prices are inconsistent (need low ≤ open, close ≤ high)";
  }
  if (c.volume < 0) return "volume is negative";
  if (!Number.isInteger(c.openTimeMs) || !isAligned(c.openTimeMs, intervalMinutes)) return "open time is not aligned to the interval";
  if (c.openTimeMs > nowMs) return "open time is in the future";
  if (c.openTimeMs + intervalMinutes * MINUTE_MS + settleSeconds * 1000 > nowMs) return "bucket is not closed yet";
  return undefined;
}
