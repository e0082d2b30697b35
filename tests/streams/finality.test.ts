import { describe, expect, test } from "bun:test";
import { createFinalityTracker } from "../../src/streams/finality.ts";
import type { StreamCandle } from "../../src/streams/types.ts";

const M = 60_000;
const T0 = Date.UTC(2024, 2, 8, 12, 0);

function c(market: string, minute: number, close: number, final: boolean | undefined): StreamCandle {
  return { market, openTimeMs: T0 + minute * M, open: 1, high: close + 1, low: 0, close, volume: close / 10, final };
}

function run(updates: StreamCandle[], markets = ["A", "B"]): [string, number, number][] {
  const tracker = createFinalityTracker({ markets, intervalMs: M, startMs: T0 + 10_000 });
  return updates.flatMap((u) => tracker.push(u)).map((f) => [f.market, (f.openTimeMs - T0) / M, f.close]);
}

describe("finality", () => {
  test.each<[string, StreamCandle[], [string, number, number][]]>([
    ["without a flag the latest value is final when a later candle opens", [c("A", 0, 5, undefined), c("A", 0, 6, undefined), c("A", 1, 7, undefined)], [["A", 0, 6]]],
    ["a skipped (quiet) minute does not hold the previous one back", [c("A", 0, 5, undefined), c("A", 3, 7, undefined)], [["A", 0, 5]]],
    [
      "series are independent",
      [c("A", 0, 5, undefined), c("B", 1, 9, undefined), c("A", 1, 6, undefined), c("B", 2, 3, undefined)],
      [
        ["A", 0, 5],
        ["B", 1, 9],
      ],
    ],
    ["an older update after a newer one is ignored", [c("A", 1, 5, undefined), c("A", 0, 4, undefined), c("A", 2, 6, undefined)], [["A", 1, 5]]],
    ["binance: final on x true only", [c("A", 0, 5, false), c("A", 0, 6, false), c("A", 0, 7, true), c("A", 1, 8, false)], [["A", 0, 7]]],
    ["binance: a newer in-progress kline never closes the previous one", [c("A", 0, 5, false), c("A", 1, 6, false), c("A", 1, 7, true)], [["A", 1, 7]]],
    ["a final is emitted once", [c("A", 0, 7, true), c("A", 0, 7, true)], [["A", 0, 7]]],
    ["markets not tracked are ignored", [c("Z", 0, 5, undefined), c("Z", 1, 5, undefined)], []],
    ["the last candle in progress is never emitted", [c("A", 0, 5, undefined), c("A", 0, 6, undefined)], []],
  ])("%s", (_name, updates, finals) => {
    expect(run(updates)).toEqual(finals);
  });

  test("reset forgets the values in progress", () => {
    const tracker = createFinalityTracker({ markets: ["A"], intervalMs: M, startMs: T0 });
    tracker.push(c("A", 0, 5, undefined));
    tracker.reset();
    expect(tracker.push(c("A", 1, 6, undefined))).toEqual([]);
    expect(tracker.push(c("A", 2, 6, undefined)).map((f) => f.openTimeMs)).toEqual([T0 + M]);
  });

  test("flushQuiet reports settled buckets with nothing final, each once, and then drops late finals for them", () => {
    const tracker = createFinalityTracker({ markets: ["A", "B"], intervalMs: M, startMs: T0 + 10_000 });
    tracker.push(c("A", 0, 5, undefined));
    tracker.push(c("A", 1, 6, undefined)); // A 0 final
    tracker.push(c("B", 0, 5, true));
    // 12:02:29 with 30 s settle: only minute 0 has settled.
    expect(tracker.flushQuiet(T0 + 2 * M + 29_000, 30)).toEqual([]);
    // 12:03:30: minutes 1 and 2 settled; A 1 has a last value, never closed by a later minute:
    // without a closed flag it is settled (its end + settle passed); B is quiet.
    expect(tracker.flushQuiet(T0 + 3 * M + 30_000, 30)).toEqual([
      { market: "A", openTimeMs: T0 + M, hadUpdates: true, settled: { ...c("A", 1, 6, undefined), final: true } },
      { market: "A", openTimeMs: T0 + 2 * M, hadUpdates: false },
      { market: "B", openTimeMs: T0 + M, hadUpdates: false },
      { market: "B", openTimeMs: T0 + 2 * M, hadUpdates: false },
    ]);
    expect(tracker.flushQuiet(T0 + 3 * M + 30_000, 30)).toEqual([]);
    // A late close of minute 2 for B is dropped: the caller already handled it.
    expect(tracker.push(c("B", 2, 5, true))).toEqual([]);
    expect(tracker.push(c("B", 3, 5, true)).length).toBe(1);
  });

  test("with a closed flag, a last value at end + settle is not settled: only the flag closes a candle", () => {
    const tracker = createFinalityTracker({ markets: ["B"], intervalMs: M, startMs: T0 + 10_000 });
    tracker.push(c("B", 1, 5, false));
    expect(tracker.flushQuiet(T0 + 2 * M + 30_000, 30).filter((q) => q.openTimeMs === T0 + M)).toEqual([{ market: "B", openTimeMs: T0 + M, hadUpdates: true }]);
  });

  test("flushQuiet reports the first bucket only when it began after the tracker started", () => {
    const tracker = createFinalityTracker({ markets: ["A"], intervalMs: M, startMs: T0 });
    expect(tracker.flushQuiet(T0 + M + 5000, 5).map((q) => q.openTimeMs)).toEqual([T0]);
  });
});
