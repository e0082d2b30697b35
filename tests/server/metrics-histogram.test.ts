import { describe, expect, test } from "bun:test";
import { createMetrics, SAVE_DELAY_BUCKETS } from "../../src/telemetry/metrics.ts";

describe("metrics: the save-delay histogram", () => {
  test("renders cumulative buckets, +Inf, sum and count in Prometheus text format", () => {
    const metrics = createMetrics();
    const labels = { exchange: "binance", sink: "csv", source: "stream" };
    for (const seconds of [0.05, 0.3, 1, 6.2, 400]) metrics.observe("cryptointellect_save_delay_seconds", labels, seconds);
    const text = metrics.render();
    expect(text).toContain("# TYPE cryptointellect_save_delay_seconds histogram");
    const bucket = (le: string) =>
      Number(
        new RegExp(
          `^cryptointellect_save_delay_seconds_bucket\\{exchange="binance",sink="csv",source="stream",le="${le.replace(".", "\\.").replace("+", "\\+")}"\\} (\\d+)$`,
          "m",
        ).exec(text)?.[1],
      );
    expect(bucket("0.1")).toBe(1);
    expect(bucket("0.5")).toBe(2);
    expect(bucket("1")).toBe(3); // a bound holds observations equal to it
    expect(bucket("6")).toBe(3);
    expect(bucket("6.5")).toBe(4);
    expect(bucket(String(SAVE_DELAY_BUCKETS.at(-1)))).toBe(4);
    expect(bucket("+Inf")).toBe(5);
    expect(text).toMatch(/^cryptointellect_save_delay_seconds_count\{exchange="binance",sink="csv",source="stream"\} 5$/m);
    expect(text).toMatch(/^cryptointellect_save_delay_seconds_sum\{exchange="binance",sink="csv",source="stream"\} 407\.55$/m);
    expect(metrics.get("cryptointellect_save_delay_seconds", labels)).toBe(5);
  });
});
