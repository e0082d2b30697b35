import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/telemetry/log.ts";
import { createProgress, formatDuration } from "../src/cli/progress.ts";
import { createAutoClock } from "./helpers/clocks.ts";

describe("progress", () => {
  test("on a terminal, redraws one bar per exchange with candles done, rate and ETA", () => {
    const clock = createAutoClock(0);
    let out = "";
    const p = createProgress({ clock, logger: createMemoryLogger(), tty: true, write: (t) => (out += t) });
    p.setTotal("binance", 1000);
    p.setTotal("kraken", 500);
    clock.set(10_000);
    p.add("binance", 250);
    expect(out).toContain("[######------------------] binance   250/1000 candles 25.0% 25/s ETA 30s");
    expect(out).toContain("kraken    0/500 candles 0.0%");
    clock.set(20_000);
    out = "";
    p.add("binance", 750);
    expect(out.startsWith("\u001b[2A")).toBe(true); // moves up over the previous bars
    expect(out).toContain("1000/1000 candles 100.0%");
  });

  test("elsewhere, writes plain log lines at most every interval", () => {
    const clock = createAutoClock(0);
    const logger = createMemoryLogger();
    const p = createProgress({ clock, logger, tty: false, intervalMs: 10_000 });
    p.setTotal("kucoin", 100);
    p.add("kucoin", 10);
    clock.set(5_000);
    p.add("kucoin", 10);
    expect(logger.lines).toHaveLength(1);
    clock.set(12_000);
    p.add("kucoin", 10);
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]).toContain("30/100 candles");
    expect(logger.lines.join("\n")).not.toContain("\u001b[");
  });

  test.each([
    [5, "5s"],
    [65, "1m05s"],
    [3725, "1h02m"],
    [Number.POSITIVE_INFINITY, "?"],
  ])("formats %p seconds as %p", (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });
});
