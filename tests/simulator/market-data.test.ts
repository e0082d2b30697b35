import { describe, expect, test } from "bun:test";
import type { NativeExchangeId as ExchangeId } from "../../src/exchanges/index.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";
import {
  findSimMarket,
  SIM_COINS,
  SIM_LISTED_FROM_MS,
  SIM_LISTINGS,
  simBucket,
  simInProgress,
  simListedCoins,
  simMinute,
  simMinuteTrades,
  simPreviousClose,
} from "../../src/simulator/market-data.ts";

const M = 60_000;
const T0 = Date.UTC(2024, 5, 1);
const EXCHANGES: ExchangeId[] = [...NATIVE_EXCHANGE_IDS];

function minutes(exchange: ExchangeId, coin: string, from: number, count: number) {
  return Array.from({ length: count }, (_, i) => simMinute(exchange, coin, from + i * M));
}

describe("market-data", () => {
  test("gives the same candle for the same exchange, coin and minute, in any order of asking", () => {
    const forward = minutes("binance", "ETH", T0, 50);
    const backward = Array.from({ length: 50 }, (_, i) => simMinute("binance", "ETH", T0 + (49 - i) * M)).reverse();
    expect(backward).toEqual(forward);
    expect(simMinute("binance", "ETH", T0 + 7 * M)).toEqual(forward[7]!);
    // A minute years away needs no walk from an origin.
    expect(simMinute("binance", "ETH", Date.UTC(2031, 0, 1))).toEqual(simMinute("binance", "ETH", Date.UTC(2031, 0, 1)));
  });

  test("changes with the seed", () => {
    expect(simMinute("binance", "BTC", T0, 2)).not.toEqual(simMinute("binance", "BTC", T0, 1));
    expect(simMinute("binance", "BTC", T0)).toEqual(simMinute("binance", "BTC", T0, 1));
  });

  test("keeps low ≤ open, close ≤ high with positive prices on every exchange", () => {
    for (const exchange of EXCHANGES) {
      for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP", "SHIB", "PEPE"]) {
        for (const c of minutes(exchange, coin, T0, 300)) {
          if (c === null) continue;
          expect(c.low).toBeGreaterThan(0);
          expect(c.low).toBeLessThanOrEqual(Math.min(c.open, c.close));
          expect(c.high).toBeGreaterThanOrEqual(Math.max(c.open, c.close));
          expect(c.volume).toBeGreaterThan(0);
        }
      }
    }
  });

  test("rounds prices to decimals that print and parse back exactly, and volumes to 4 decimals", () => {
    for (const coin of ["BTC", "DOGE", "SHIB", "USDC"]) {
      for (const c of minutes("binance", coin, T0, 100)) {
        if (c === null) continue;
        for (const price of [c.open, c.high, c.low, c.close]) {
          expect(Number(price.toFixed(8))).toBe(price);
          expect(price.toString()).not.toContain("e");
        }
        expect(Number(c.volume.toFixed(4))).toBe(c.volume);
      }
    }
  });

  test("keeps volumes moderate: BTC trades a few coins a minute on Binance", () => {
    const volumes = minutes("binance", "BTC", T0, 600).map((c) => c!.volume);
    const mean = volumes.reduce((a, b) => a + b, 0) / volumes.length;
    expect(mean).toBeGreaterThan(0.2);
    expect(mean).toBeLessThan(50);
  });

  test("BTC and ETH trade every minute; DOGE, NEO and OP have empty minutes, never 30 in a row", () => {
    const N = 3000;
    for (const exchange of EXCHANGES) {
      expect(minutes(exchange, "BTC", T0, N).every((c) => c !== null)).toBe(true);
      expect(minutes(exchange, "ETH", T0, N).every((c) => c !== null)).toBe(true);
      for (const coin of ["DOGE", "NEO", "OP"]) {
        const series = minutes(exchange, coin, T0, N);
        const empty = series.filter((c) => c === null).length / N;
        expect(empty).toBeGreaterThan(0.03);
        expect(empty).toBeLessThan(0.3);
        let run = 0;
        let longest = 0;
        for (const c of series) {
          run = c === null ? run + 1 : 0;
          longest = Math.max(longest, run);
        }
        expect(longest).toBeLessThan(30);
      }
    }
  });

  test("prices differ slightly from one exchange to another", () => {
    const closes = EXCHANGES.map((e) => simMinute(e, "BTC", T0)!.close);
    expect(new Set(closes).size).toBe(4);
    const spread = (Math.max(...closes) - Math.min(...closes)) / closes[0]!;
    expect(spread).toBeLessThan(0.01);
  });

  test("returns null before the listing date, for coins an exchange does not list, and for SafeMoon", () => {
    expect(simMinute("binance", "BTC", SIM_LISTED_FROM_MS - M)).toBeNull();
    expect(simMinute("binance", "BTC", SIM_LISTED_FROM_MS)).not.toBeNull();
    expect(simMinute("poloniex", "KCS", T0)).toBeNull();
    for (const exchange of EXCHANGES) expect(simMinute(exchange, "SFM", T0)).toBeNull();
  });

  test("rejects an open time that is not a whole minute", () => {
    expect(() => simMinute("binance", "BTC", T0 + 1)).toThrow(RangeError);
  });

  test("builds a bucket from its traded minutes: first open, last close, max high, min low, summed volume", () => {
    for (const [coin, interval] of [
      ["NEO", 5],
      ["DOGE", 60],
      ["OP", 1440],
      ["BTC", 7],
    ] as const) {
      const open = Math.floor((T0 + 3 * 3_600_000) / (interval * M)) * interval * M;
      const traded = minutes("kraken", coin, open, interval).filter((c) => c !== null);
      const bucket = simBucket("kraken", coin, interval, open)!;
      expect(bucket.openTimeMs).toBe(open);
      expect(bucket.open).toBe(traded[0]!.open);
      expect(bucket.close).toBe(traded.at(-1)!.close);
      expect(bucket.high).toBe(Math.max(...traded.map((c) => c.high)));
      expect(bucket.low).toBe(Math.min(...traded.map((c) => c.low)));
      expect(bucket.volume).toBeCloseTo(
        traded.reduce((a, c) => a + c.volume, 0),
        6,
      );
      expect(Number(bucket.volume.toFixed(4))).toBe(bucket.volume);
    }
  });

  test("a bucket in which no minute traded is null", () => {
    let open = T0;
    while (simMinute("poloniex", "NEO", open) !== null) open += M;
    expect(simBucket("poloniex", "NEO", 1, open)).toBeNull();
  });

  test("the previous close is the close of the last traded minute before the time", () => {
    let open = T0;
    while (simMinute("binance", "NEO", open) !== null) open += M;
    let before = open - M;
    while (simMinute("binance", "NEO", before) === null) before -= M;
    expect(simPreviousClose("binance", "NEO", open)).toBe(simMinute("binance", "NEO", before)!.close);
    expect(simPreviousClose("binance", "BTC", T0)).toBe(simMinute("binance", "BTC", T0 - M)!.close);
    expect(simPreviousClose("binance", "BTC", SIM_LISTED_FROM_MS)).toBeNull();
  });

  test("the Kraken trades of a minute reproduce its open, high, low, close and exact volume", () => {
    for (const coin of ["BTC", "DOGE", "SHIB"]) {
      for (let i = 0; i < 60; i++) {
        const open = T0 + i * M;
        const candle = simMinute("kraken", coin, open);
        const trades = simMinuteTrades("kraken", coin, open);
        if (candle === null) {
          expect(trades).toEqual([]);
          continue;
        }
        expect(trades[0]!.price).toBe(candle.open);
        expect(trades.at(-1)!.price).toBe(candle.close);
        expect(Math.max(...trades.map((t) => t.price))).toBe(candle.high);
        expect(Math.min(...trades.map((t) => t.price))).toBe(candle.low);
        const units = trades.reduce((sum, t) => sum + Math.round(t.volume * 10_000), 0);
        expect(units).toBe(Math.round(candle.volume * 10_000));
        expect(trades.every((t, k) => t.timeMs >= open && t.timeMs < open + M && (k === 0 || t.timeMs > trades[k - 1]!.timeMs))).toBe(true);
      }
    }
  });

  test("the candle in progress grows during the minute and equals the final one at its end", () => {
    const open = T0 + 10 * M;
    const final = simMinute("binance", "BTC", open)!;
    const early = simInProgress("binance", "BTC", 1, open + 20_000)!;
    const later = simInProgress("binance", "BTC", 1, open + 40_000)!;
    expect(early.openTimeMs).toBe(open);
    expect(early.volume).toBeLessThan(later.volume);
    expect(later.volume).toBeLessThan(final.volume);
    expect(early.open).toBe(final.open);
    expect(early.low).toBeGreaterThanOrEqual(final.low);
    expect(early.high).toBeLessThanOrEqual(final.high);
    expect(simInProgress("binance", "BTC", 1, open + M - 1)).toEqual(final);
    expect(simInProgress("binance", "BTC", 1, open)).toBeNull();
  });

  test("an hour in progress is its finished minutes plus the current minute so far", () => {
    const open = T0 + 3_600_000;
    const now = open + 25 * M + 30_000;
    const done = simBucket("binance", "ETH", 25, open)!;
    const current = simInProgress("binance", "ETH", 1, now)!;
    const hour = simInProgress("binance", "ETH", 60, now)!;
    expect(hour.openTimeMs).toBe(open);
    expect(hour.open).toBe(done.open);
    expect(hour.close).toBe(current.close);
    expect(hour.volume).toBeCloseTo(done.volume + current.volume, 6);
  });

  test("lists about 100 coins like CoinGecko's top 100, with Neo, Optimism and SafeMoon", () => {
    expect(SIM_COINS.length).toBeGreaterThanOrEqual(100);
    expect(SIM_COINS.slice(0, 3).map((c) => c.id)).toEqual(["bitcoin", "ethereum", "tether"]);
    expect(SIM_COINS.find((c) => c.id === "neo")).toMatchObject({ symbol: "neo", name: "Neo" });
    expect(SIM_COINS.find((c) => c.id === "optimism")).toMatchObject({ symbol: "op", name: "Optimism" });
    expect(SIM_COINS.find((c) => c.id === "safemoon-2")).toMatchObject({ symbol: "sfm", name: "SafeMoon", rank: null });
    expect(SIM_COINS.every((c) => c.symbol === c.symbol.toLowerCase())).toBe(true);
    expect(new Set(SIM_COINS.map((c) => c.id)).size).toBe(SIM_COINS.length);
  });

  test("BTC, ETH, DOGE, NEO and OP trade on all four exchanges; SFM on none; no USDT/USDT market", () => {
    for (const exchange of EXCHANGES) {
      const coins = simListedCoins(exchange);
      for (const coin of ["BTC", "ETH", "DOGE", "NEO", "OP"]) expect(coins).toContain(coin);
      expect(coins).not.toContain("SFM");
      expect(SIM_LISTINGS[exchange].some((m) => m.coin === m.quote)).toBe(false);
      expect(SIM_LISTINGS[exchange].some((m) => !m.tradable)).toBe(true);
    }
    expect(simListedCoins("binance").length).toBeGreaterThan(simListedCoins("kraken").length);
    expect(simListedCoins("kraken").length).toBeGreaterThan(simListedCoins("poloniex").length);
  });

  test("names markets the way each exchange does, Kraken with XBT, XDG and X/Z-prefixed legacy keys", () => {
    expect(findSimMarket("binance", "BTCUSDT")).toMatchObject({ coin: "BTC", quote: "USDT", status: "TRADING" });
    expect(findSimMarket("kraken", "XXBTZUSD")).toMatchObject({ altname: "XBTUSD", baseAsset: "XXBT", quoteAsset: "ZUSD", wsname: "XBT/USD", coin: "BTC" });
    expect(findSimMarket("kraken", "XBTUSD")?.symbol).toBe("XXBTZUSD");
    expect(findSimMarket("kraken", "XDGUSD")).toMatchObject({ baseAsset: "XXDG", coin: "DOGE" });
    expect(findSimMarket("kraken", "SOLUSD")).toMatchObject({ altname: "SOLUSD", baseAsset: "SOL", quoteAsset: "ZUSD" });
    expect(findSimMarket("kucoin", "BTC-USDT")).toMatchObject({ coin: "BTC", tradable: true });
    expect(findSimMarket("poloniex", "BTC_USDT")).toMatchObject({ coin: "BTC", status: "NORMAL" });
    expect(findSimMarket("binance", "XMRUSDT")).toMatchObject({ status: "BREAK", tradable: false });
  });
});
