/** Bucket intervals: whole minutes, written `Nm`, `Nh` or `Nd` (case-insensitive on input). */

export const MINUTE_MS = 60_000;
export const DAY_MINUTES = 1440;

const UNIT_MINUTES: Record<string, number> = { m: 1, h: 60, d: DAY_MINUTES };

/** Largest interval we accept: a year of days keeps the arithmetic far from float trouble. */
export const MAX_INTERVAL_MINUTES = 366 * DAY_MINUTES;

export type IntervalParse = { ok: true; minutes: number } | { ok: false; error: string };

/** Parses `7m`, `90M`, `2h`, `1d`. Returns an error text instead of throwing, for config validation. */
export function parseInterval(text: string): IntervalParse {
  const match = /^\s*(\d+)\s*([mMhHdD])\s*$/.exec(text);
  if (!match) {
    return { ok: false, error: `"${printable(text)}" is not an interval: write a whole number and a unit m, h or d (e.g. 5m, 2h, 1d)` };
  }
  const count = Number(match[1]);
  const minutes = count * UNIT_MINUTES[match[2]!.toLowerCase()]!;
  if (minutes < 1) return { ok: false, error: `"${printable(text)}" is shorter than the 1 minute minimum` };
  if (minutes > MAX_INTERVAL_MINUTES) return { ok: false, error: `"${printable(text)}" is longer than ${MAX_INTERVAL_MINUTES / DAY_MINUTES} days` };
  return { ok: true, minutes };
}

/** Parses or throws: for trusted inputs such as tests and defaults. */
export function intervalMinutes(text: string): number {
  const parsed = parseInterval(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.minutes;
}

/** `1440` → `1d`, `120` → `2h`, `90` → `90m`: the largest unit that divides exactly. */
export function formatInterval(minutes: number): string {
  if (minutes % DAY_MINUTES === 0) return `${minutes / DAY_MINUTES}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** Open time of the bucket holding `timeMs`; buckets start at whole multiples of the interval since the epoch. */
export function bucketOpen(timeMs: number, intervalMinutes: number): number {
  const size = intervalMinutes * MINUTE_MS;
  return Math.floor(timeMs / size) * size;
}

/** Whether `openTimeMs` is a bucket boundary for the interval. */
export function isAligned(openTimeMs: number, intervalMinutes: number): boolean {
  return openTimeMs % (intervalMinutes * MINUTE_MS) === 0;
}

/**
 * Open time of the newest bucket that is closed at `nowMs`: closed once now ≥ its end + settle.
 * Returns the open time; the bucket's end is that plus one interval.
 */
export function lastClosedBucketOpen(nowMs: number, intervalMinutes: number, settleSeconds: number): number {
  const size = intervalMinutes * MINUTE_MS;
  return bucketOpen(nowMs - settleSeconds * 1000, intervalMinutes) - size;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 40);
}

/** The largest native interval that divides the bucket interval: fewest candles to fetch, exact buckets. */
export function baseIntervalFor(adapter: { nativeIntervals: readonly number[] }, intervalMinutes: number): number {
  let best = 1;
  for (const native of adapter.nativeIntervals) {
    if (native <= intervalMinutes && intervalMinutes % native === 0 && native > best) best = native;
  }
  return best;
}
