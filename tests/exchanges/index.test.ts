import { describe, expect, test } from "bun:test";
import { EXCHANGE_IDS, EXCHANGES } from "../../src/exchanges/index.ts";

describe("exchange registry", () => {
  test("registers all four exchanges, each under its own id", () => {
    expect([...EXCHANGE_IDS].sort()).toEqual(["binance", "kraken", "kucoin", "poloniex"]);
    for (const [key, adapter] of Object.entries(EXCHANGES)) expect(adapter.id).toBe(key as typeof adapter.id);
  });

  test.each(EXCHANGE_IDS)("%s declares a page size, native 1m candles and a budget", (id) => {
    const adapter = EXCHANGES[id]!;
    expect(adapter.maxCandlesPerRequest).toBeGreaterThan(0);
    expect(adapter.nativeIntervals).toContain(1);
    const b = adapter.budget;
    if ("windowMs" in b) {
      expect(b.unitsPerWindow).toBeGreaterThan(0);
      expect(b.windowMs).toBeGreaterThan(0);
      expect(b.slackMs).toBeGreaterThanOrEqual(0);
    } else {
      expect(b.refillPerSecond).toBeGreaterThan(0);
      expect(b.burst).toBeGreaterThan(0);
    }
  });
});
