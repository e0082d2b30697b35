import { describe, expect, test } from "bun:test";
import { bundledRanking, fetchRanking, parseCoinGeckoMarkets } from "../../src/coins/coingecko.ts";
import { buildUniverse, type RankedCoin, resolveCoinName } from "../../src/coins/universe.ts";
import { createExchangeClient } from "../../src/http/client.ts";
import { createMemoryLogger, silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { startSimulator } from "../../src/simulator/server.ts";
import { createAutoClock } from "../helpers/clocks.ts";

const coin = (id: string, symbol: string, name: string, marketCap: number | null, rank: number | null): RankedCoin => ({ id, symbol, name, marketCap, rank });
const RANKING = [
  coin("bitcoin", "BTC", "Bitcoin", 1.3e12, 1),
  coin("ethereum", "ETH", "Ethereum", 4e11, 2),
  coin("optimism", "OP", "Optimism", 2.7e9, 60),
  coin("neo", "NEO", "Neo", 9e8, 90),
  coin("binance-peg-dogecoin", "DOGE", "Binance-Peg Dogecoin", 0, null),
  coin("dogecoin", "DOGE", "Dogecoin", 2e10, 9),
  coin("safemoon-2", "SFM", "SafeMoon", null, null),
];

describe("coin universe", () => {
  test.each([
    ["Optimism", "OP"],
    ["optimism", "OP"],
    ["OP", "OP"],
    ["Neo", "NEO"],
    ["neo", "NEO"],
    ["bitcoin", "BTC"],
    ["Safemoon", "SFM"],
    ["doge", "DOGE"],
  ])("resolves %p to %p by id, name or ticker", (name, ticker) => {
    expect(resolveCoinName(name, RANKING)?.symbol).toBe(ticker);
  });

  test("a ticker shared by several coins resolves to the one with the largest market cap", () => {
    expect(resolveCoinName("DOGE", RANKING)?.id).toBe("dogecoin");
  });

  test("takes the top N by market cap, then the named coins, without duplicates, and reports unknown names", () => {
    const u = buildUniverse(RANKING, 2, ["Optimism", "BTC", "Nonexistium"]);
    expect(u.coins.map((c) => c.symbol)).toEqual(["BTC", "ETH", "OP"]);
    expect(u.unresolved).toEqual(["Nonexistium"]);
    expect(buildUniverse(RANKING, 0, []).coins).toEqual([]);
  });

  test("reads CoinGecko's markets, where market_cap_rank may be null", () => {
    const parsed = parseCoinGeckoMarkets([{ id: "neo", symbol: "neo", name: "Neo", market_cap: 9e8, market_cap_rank: null, extra: 1 }]);
    expect(parsed).toEqual([{ id: "neo", symbol: "NEO", name: "Neo", marketCap: 9e8, rank: null }]);
    expect(() => parseCoinGeckoMarkets([{ id: 5 }])).toThrow();
  });

  test("the bundled ranking is dated and holds the default coins", () => {
    const b = bundledRanking();
    expect(b.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(b.coins.length).toBeGreaterThanOrEqual(100);
    for (const name of ["Neo", "Optimism", "Safemoon", "Bitcoin"]) expect(resolveCoinName(name, b.coins)).toBeDefined();
  });

  test("fetches the ranking from CoinGecko (the simulator), and falls back to the bundled one when it is down", async () => {
    const sim = startSimulator();
    try {
      const logger = createMemoryLogger();
      const make = () =>
        createExchangeClient({
          adapter: { id: "coingecko", budget: { refillPerSecond: 10, burst: 10 } },
          baseUrl: sim.baseUrls.coingecko,
          fetch,
          clock: createAutoClock(Date.now()),
          logger: silentLogger,
          metrics: createMetrics(),
          maxAttempts: 2,
          backoff: { baseMs: 1, capMs: 2 },
        });
      const live = await fetchRanking(make(), ["Neo", "Optimism"], logger);
      expect(live.source).toBe("coingecko");
      expect(buildUniverse(live.coins, 3, ["Neo", "Optimism"]).coins.map((c) => c.symbol)).toEqual(["BTC", "ETH", "USDT", "NEO", "OP"]);
      sim.setFaults("coingecko", { outage: true });
      const fallback = await fetchRanking(make(), ["Neo"], logger);
      expect(fallback.source).toBe("bundled");
      expect(logger.lines.filter((l) => l.includes("bundled ranking"))).toHaveLength(1);
    } finally {
      await sim.stop();
    }
  });
});
