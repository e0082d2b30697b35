import { MINUTE_MS } from "./interval.ts";

/** A run of buckets by open time, both ends inclusive. */
export interface BucketRange {
  fromOpenMs: number;
  toOpenMs: number;
}

/**
 * The runs of buckets in [fromOpenMs, toOpenMs] that `savedOpens` (sorted ascending, any extra values
 * outside the range ignored) does not hold. Pure; linear in the input.
 */
export function missingRuns(savedOpens: Iterable<number>, intervalMinutes: number, fromOpenMs: number, toOpenMs: number): BucketRange[] {
  const size = intervalMinutes * MINUTE_MS;
  const out: BucketRange[] = [];
  let expected = fromOpenMs;
  for (const open of savedOpens) {
    if (open < expected) continue;
    if (open > toOpenMs) break;
    if (open > expected) out.push({ fromOpenMs: expected, toOpenMs: open - size });
    expected = open + size;
  }
  if (expected <= toOpenMs) out.push({ fromOpenMs: expected, toOpenMs });
  return out;
}

/** Buckets in a list of runs. */
export function bucketCount(runs: readonly BucketRange[], intervalMinutes: number): number {
  const size = intervalMinutes * MINUTE_MS;
  return runs.reduce((n, r) => n + (r.toOpenMs - r.fromOpenMs) / size + 1, 0);
}

/** Splits runs into pieces of at most `maxBuckets` buckets each (for streaming and progress). */
export function chunkRuns(runs: readonly BucketRange[], intervalMinutes: number, maxBuckets: number): BucketRange[] {
  const size = intervalMinutes * MINUTE_MS;
  const out: BucketRange[] = [];
  for (const r of runs) {
    for (let t = r.fromOpenMs; t <= r.toOpenMs; t += maxBuckets * size) {
      out.push({ fromOpenMs: t, toOpenMs: Math.min(r.toOpenMs, t + (maxBuckets - 1) * size) });
    }
  }
  return out;
}
