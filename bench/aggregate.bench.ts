/**
 * Aggregation of 1-minute candles to 5m, 7m, 1h and 1d with `aggregateCandles`, against the fastest
 * simple loop over the same array of candles producing the same buckets. The goal is to be that loop.
 */
import { aggregateCandles } from "../src/domain/aggregate.ts";
import type { RawCandle } from "../src/domain/candle.ts";
import { MINUTE_MS, minuteCandles } from "./candles.ts";
import { compare, type TimingOptions } from "./compare.ts";
import { type BenchContext, check, fmtMs, fmtRate, fmtRatio, type Section } from "./results.ts";

export const AGGREGATE_INTERVALS = [5, 7, 60, 1440] as const;

/**
 * The baseline: one pass, no modulo per candle (a bucket's end is computed once and compared),
 * zero-volume candles skipped, one object per bucket. Input sorted, as `aggregateCandles` requires.
 */
export function simpleLoop(candles: readonly RawCandle[], intervalMinutes: number): RawCandle[] {
  const size = intervalMinutes * MINUTE_MS;
  const out: RawCandle[] = [];
  let b: RawCandle | undefined;
  let end = -Infinity;
  for (let i = 0, n = candles.length; i < n; i++) {
    const c = candles[i]!;
    const v = c.volume;
    if (!(v > 0)) continue;
    const t = c.openTimeMs;
    if (t >= end || b === undefined) {
      const start = t - (t % size);
      end = start + size;
      b = { openTimeMs: start, open: c.open, high: c.high, low: c.low, close: c.close, volume: v };
      out.push(b);
    } else {
      if (c.high > b.high) b.high = c.high;
      if (c.low < b.low) b.low = c.low;
      b.close = c.close;
      b.volume += v;
    }
  }
  return out;
}

/** An independent reference: group by bucket in a Map, the obvious way. */
function referenceAggregate(candles: readonly RawCandle[], intervalMinutes: number): RawCandle[] {
  const size = intervalMinutes * MINUTE_MS;
  const groups = new Map<number, RawCandle[]>();
  for (const c of candles) {
    if (c.volume <= 0) continue;
    const open = Math.floor(c.openTimeMs / size) * size;
    const list = groups.get(open) ?? [];
    list.push(c);
    groups.set(open, list);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([openTimeMs, list]) => ({
      openTimeMs,
      open: list[0]!.open,
      high: Math.max(...list.map((c) => c.high)),
      low: Math.min(...list.map((c) => c.low)),
      close: list.at(-1)!.close,
      volume: list.reduce((s, c) => s + c.volume, 0),
    }));
}

function sameCandles(a: readonly RawCandle[], b: readonly RawCandle[], label: string): void {
  check(a.length === b.length, `${label}: ${a.length} buckets vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const same =
      x.openTimeMs === y.openTimeMs &&
      x.open === y.open &&
      x.high === y.high &&
      x.low === y.low &&
      x.close === y.close &&
      Math.abs(x.volume - y.volume) <= 1e-9 * Math.max(1, y.volume);
    check(same, `${label}: bucket ${i} differs: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  }
}

export function prepareAggregate(count: number): RawCandle[] {
  const candles = minuteCandles(count, 7);
  // The reference is slow: check it on a prefix, then hold the baseline to aggregateCandles on everything.
  const prefix = candles.slice(0, Math.min(count, 50_000));
  for (const interval of AGGREGATE_INTERVALS) {
    sameCandles(aggregateCandles(prefix, interval), referenceAggregate(prefix, interval), `aggregateCandles ${interval}m vs reference`);
    const ours = aggregateCandles(candles, interval);
    sameCandles(simpleLoop(candles, interval), ours, `simple loop ${interval}m vs aggregateCandles`);
    const expectedBuckets = new Set(candles.filter((c) => c.volume > 0).map((c) => Math.floor(c.openTimeMs / (interval * MINUTE_MS)))).size;
    check(ours.length === expectedBuckets, `aggregateCandles ${interval}m: ${ours.length} buckets, expected ${expectedBuckets}`);
  }
  return candles;
}

export async function runAggregateBench(ctx: BenchContext): Promise<Section> {
  const count = ctx.quick ? 100_000 : 1_000_000;
  const candles = prepareAggregate(count);
  const section: Section = { id: "aggregate", title: `Aggregation of ${count.toLocaleString("en-US")} 1-minute candles`, rows: [], notes: [] };
  section.notes.push(
    "Subject: `aggregateCandles` (src/domain/aggregate.ts). Baseline: the fastest simple loop I could write over the same `RawCandle[]` producing the same buckets (bench/aggregate.bench.ts `simpleLoop`: one pass, the bucket end computed once per bucket instead of a modulo per candle). Both outputs are checked equal (and against a Map-based reference) before timing. About 5% of the minutes are quiet (volume 0) and skipped, as the semantics require.",
  );
  if (!ctx.timing) return section;
  const options: TimingOptions = ctx.quick ? { rounds: 1, timeMs: 100, iterations: 5, warmupIterations: 2 } : { rounds: 5, timeMs: 300, iterations: 5, warmupIterations: 3 };
  let worstRatio = 0;
  let slowestRate = Infinity;
  for (const interval of AGGREGATE_INTERVALS) {
    const result = await compare({ fn: () => simpleLoop(candles, interval) }, { fn: () => aggregateCandles(candles, interval) }, options);
    const rate = count / (result.subject.p50Ms / 1000);
    worstRatio = Math.max(worstRatio, result.ratio);
    slowestRate = Math.min(slowestRate, rate);
    const label = interval >= 1440 ? `${interval / 1440}d` : interval >= 60 ? `${interval / 60}h` : `${interval}m`;
    section.rows.push({
      what: `to ${label}`,
      figure: `${fmtMs(result.subject.p50Ms)} (${fmtRate(rate)} candles/s)`,
      baseline: `${fmtMs(result.baseline.p50Ms)} (${fmtRate(count / (result.baseline.p50Ms / 1000))} candles/s)`,
      ratio: fmtRatio(result.ratio),
    });
    ctx.figures[`aggregate.${label}.ratio`] = result.ratio;
    ctx.figures[`aggregate.${label}.rate`] = rate;
  }
  ctx.figures["aggregate.worstRatio"] = worstRatio;
  ctx.figures["aggregate.slowestRate"] = slowestRate;
  return section;
}
