import type { RawCandle } from "./candle.ts";
import { MINUTE_MS } from "./interval.ts";

export interface FilledCandle extends RawCandle {
  filled: boolean;
}

export interface FeedForwardInput {
  /** Buckets that had trades, sorted, all inside [fromOpenMs, toOpenMs]. */
  traded: readonly RawCandle[];
  intervalMinutes: number;
  /** First and last bucket open time of a range that was fetched successfully (both inclusive). */
  fromOpenMs: number;
  toOpenMs: number;
  /** Close of the bucket just before `fromOpenMs`, when known (last saved, or seen in the fetch). */
  previousClose?: number;
}

/**
 * Makes the fetched range contiguous: every bucket without trades becomes volume 0 with all four
 * prices at the previous close. Buckets before the first known close stay absent: nothing is invented.
 * Only call this for a range whose fetch succeeded; a failed range must never be filled.
 */
export function feedForward(input: FeedForwardInput): FilledCandle[] {
  const size = input.intervalMinutes * MINUTE_MS;
  const out: FilledCandle[] = [];
  let close = input.previousClose;
  let i = 0;
  const traded = input.traded;
  for (let t = input.fromOpenMs; t <= input.toOpenMs; t += size) {
    while (i < traded.length && traded[i]!.openTimeMs < t) i++;
    const c = traded[i];
    if (c !== undefined && c.openTimeMs === t) {
      out.push({ openTimeMs: c.openTimeMs, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, filled: false });
      close = c.close;
      i++;
    } else if (close !== undefined) {
      out.push({ openTimeMs: t, open: close, high: close, low: close, close, volume: 0, filled: true });
    }
  }
  return out;
}
