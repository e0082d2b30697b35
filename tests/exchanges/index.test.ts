import { describe, expect, test } from "bun:test";
import { NATIVE_EXCHANGE_IDS, NATIVE_EXCHANGES } from "../../src/exchanges/index.ts";
import { exchangeIdOf, exchangeName, recordExchangeName } from "../../src/exchanges/names.ts";

describe("exchange registry", () => {
  test("registers all four native exchanges, each under its own id, name and base URL", () => {
    expect([...NATIVE_EXCHANGE_IDS].sort()).toEqual(["binance", "kraken", "kucoin", "poloniex"]);
    for (const [key, adapter] of Object.entries(NATIVE_EXCHANGES)) {
      expect(adapter.id).toBe(key);
      expect(adapter.kind).toBe("native");
      expect(adapter.defaultBaseUrl).toMatch(/^https:\/\/api\./);
    }
    expect(Object.values(NATIVE_EXCHANGES).map((a) => a.name)).toEqual(["Binance", "Kraken", "Kucoin", "Poloniex"]);
  });

  test.each(NATIVE_EXCHANGE_IDS)("%s declares a page size, native 1m candles and a budget", (id) => {
    const adapter = NATIVE_EXCHANGES[id];
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

  test("display names go both ways; a native exchange forced onto ccxt keeps its native name", () => {
    expect(exchangeName("kucoin")).toBe("Kucoin");
    expect(exchangeIdOf("Kucoin")).toBe("kucoin");
    recordExchangeName("kucoin", "KuCoin");
    expect(exchangeName("kucoin")).toBe("Kucoin");
    recordExchangeName("okx", "OKX");
    expect(exchangeName("okx")).toBe("OKX");
    expect(exchangeIdOf("OKX")).toBe("okx");
    expect(exchangeIdOf("Nowhere")).toBeUndefined();
  });
});
