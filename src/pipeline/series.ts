/** Turns fetched windows of one series into saveable candles: aggregate, feed forward, check. Pure. */
import { aggregateCandles } from "../domain/aggregate.ts";
import type { Candle, ExchangeId, RawCandle } from "../domain/candle.ts";
import { round15 } from "../domain/decimal.ts";
import { feedForward } from "../domain/feed-forward.ts";
import { bucketOpen } from "../domain/interval.ts";
import { candleProblem } from "../domain/quality.ts";

export interface SeriesState {
  exchange: ExchangeId;
  coin: string;
  intervalMinutes: number;
  /** Close of the bucket before the next window, when known. */
  previousClose: number | undefined;
}

export interface WindowCandles {
  candles: Candle[];
  filled: number;
  rejected: { candle: RawCandle; problem: string }[];
}

/**
 * Builds the buckets of one successfully fetched window. `state.previousClose` carries the close
 * across windows and is updated; buckets before the first known close are left out, never invented.
 */
export function buildWindowCandles(
  state: SeriesState,
  window: { fromOpenMs: number; toOpenMs: number; candles: readonly RawCandle[]; baseIntervalMinutes?: number; conflicts?: readonly RawCandle[] },
  nowMs: number,
  settleSeconds: number,
): WindowCandles {
  const rejected: WindowCandles["rejected"] = [];
  // Check the exchange's own candles first: aggregation would skip one with a negative volume as a
  // quiet interval (so its bucket got fed forward: invented) and a max/min can hide high < low.
  // A bad candle rejects its whole bucket.
  const rejectedAt = new Set<number>();
  // An open time the exchange answered twice, differently, is not known: its bucket is rejected
  // like a bad candle's, never fed forward as if quiet nor built from one copy picked at random.
  const conflicts = window.conflicts ?? [];
  for (let i = 0; i < conflicts.length; ) {
    const first = conflicts[i]!;
    let end = i + 1;
    while (end < conflicts.length && conflicts[end]!.openTimeMs === first.openTimeMs) end++;
    const copies = conflicts.slice(i, end).map((c) => `${c.open}/${c.high}/${c.low}/${c.close}/${c.volume}`);
    rejected.push({ candle: first, problem: `${end - i} different candles for this open time in every answer (o/h/l/c/v ${copies.join(" vs ")})` });
    rejectedAt.add(bucketOpen(first.openTimeMs, state.intervalMinutes));
    i = end;
  }
  for (const c of window.candles) {
    if (c.volume === 0) continue; // a quiet interval: no trades reported, its prices are not used
    const problem = candleProblem(c, window.baseIntervalMinutes ?? 1, nowMs, settleSeconds);
    if (problem) {
      rejected.push({ candle: c, problem });
      rejectedAt.add(bucketOpen(c.openTimeMs, state.intervalMinutes));
    }
  }
  const usable = rejectedAt.size === 0 ? window.candles : window.candles.filter((c) => !rejectedAt.has(bucketOpen(c.openTimeMs, state.intervalMinutes)));
  const good: RawCandle[] = [];
  // Candles of the bucket's own interval are their buckets, already checked above (the same values,
  // the same interval): no aggregation copy, no second check. Quiet ones are skipped as aggregation does.
  const oneToOne = (window.baseIntervalMinutes ?? 1) === state.intervalMinutes;
  if (oneToOne) for (const c of usable) if (c.volume > 0) good.push(c);
  for (const c of oneToOne ? [] : aggregateCandles(usable, state.intervalMinutes)) {
    const problem = candleProblem(c, state.intervalMinutes, nowMs, settleSeconds);
    if (problem) {
      rejected.push({ candle: c, problem });
      rejectedAt.add(c.openTimeMs);
    } else good.push(c);
  }
  const candles: Candle[] = [];
  let blocked = false; // after a rejected bucket, nothing is filled until a real candle is seen
  for (const c of feedForward({
    traded: good,
    intervalMinutes: state.intervalMinutes,
    fromOpenMs: window.fromOpenMs,
    toOpenMs: window.toOpenMs,
    previousClose: state.previousClose,
  })) {
    if (rejectedAt.has(c.openTimeMs)) blocked = true;
    if (!c.filled) blocked = false;
    if (c.filled && blocked) continue;
    // A summed volume carries float noise (0.6303000000000001): store the decimal it stands for.
    candles.push({
      openTimeMs: c.openTimeMs,
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
      volume: round15(c.volume),
      filled: c.filled,
      exchange: state.exchange,
      coin: state.coin,
      intervalMinutes: state.intervalMinutes,
    });
  }
  // Ending blocked means the last slot was a rejected bucket or left unfilled after one.
  state.previousClose = blocked ? undefined : (candles.at(-1)?.close ?? state.previousClose);
  return { candles, filled: candles.filter((c) => c.filled).length, rejected };
}
