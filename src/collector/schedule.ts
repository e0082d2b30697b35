/** When cycles run: every bucket boundary + settle seconds, found on cron-schedule's minute grid. */
import { parseCronExpression } from "cron-schedule";
import type { Clock } from "../clock.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";

const EVERY_MINUTE = parseCronExpression("* * * * *");

/** The next time after `nowMs` at which a cycle is due: a bucket boundary plus `settleSeconds`. Pure. */
export function nextCycleAt(nowMs: number, intervalMinutes: number, settleSeconds: number): number {
  const settleMs = settleSeconds * 1000;
  const sizeMs = intervalMinutes * 60_000;
  // Step the minute grid until it lands on a bucket boundary; a minute boundary is always on it.
  let candidate = EVERY_MINUTE.getNextDate(new Date(nowMs - settleMs)).getTime();
  if (sizeMs % 60_000 === 0 && candidate % sizeMs !== 0) {
    // Jump straight to the right minute instead of walking up to a day of minutes.
    candidate = Math.ceil(candidate / sizeMs) * sizeMs;
  }
  return candidate + settleMs;
}

export interface SchedulerOptions {
  clock: Clock;
  intervalMinutes: number;
  settleSeconds: number;
  logger: Logger;
  /** Called at each due time; its errors are caught and logged, never fatal. */
  onTick: (dueMs: number) => Promise<void> | void;
}

/**
 * Runs `onTick` at every due time until the signal aborts, without waiting for the previous tick:
 * overlap is refused per exchange by the service, so one slow exchange never delays the others.
 * On abort, waits for the ticks still running.
 */
export async function runScheduler(options: SchedulerOptions, signal: AbortSignal): Promise<void> {
  const { clock, logger } = options;
  const running = new Set<Promise<void>>();
  while (!signal.aborted) {
    const due = nextCycleAt(clock.now(), options.intervalMinutes, options.settleSeconds);
    await clock.sleep(due - clock.now(), signal);
    if (signal.aborted) break;
    const tick: Promise<void> = (async () => {
      try {
        await options.onTick(due);
      } catch (error) {
        logger.error("cycle failed", { error: describeError(error) });
      }
    })().finally(() => running.delete(tick));
    running.add(tick);
  }
  await Promise.all(running);
}
