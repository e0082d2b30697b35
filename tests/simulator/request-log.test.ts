import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { createManualClock } from "../../src/clock.ts";
import { createSimulator, startSimulator, type SimCandleRequest } from "../../src/simulator/server.ts";

const M = 60_000;
const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const START = NOW - (NOW % M) - 60 * M;
const END = START + 30 * M;
const S = START / 1000;
const E = END / 1000;
const A = "127.0.0.11";
const B = "127.0.0.12";
const clock = createManualClock(NOW);
const sim = startSimulator({ hostnames: [A, B], clock });
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

const get = (url: string) => fetch(url).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
const only = (entries: SimCandleRequest[]) => {
  expect(entries).toHaveLength(1);
  return entries[0]!;
};

/** Each exchange's candle endpoint with a window, and what the log should read from it. */
const CASES: [string, string, Partial<SimCandleRequest>][] = [
  ["binance", `/binance/api/v3/klines?symbol=BTCUSDT&interval=5m&startTime=${START}&endTime=${END}&limit=10`, { symbol: "BTCUSDT", interval: "5m", startMs: START, endMs: END }],
  [
    "binance uiKlines, microseconds",
    `/binance/api/v3/uiKlines?symbol=ETHUSDT&interval=1m&startTime=${START}000`,
    { symbol: "ETHUSDT", interval: "1m", startMs: START, endMs: null },
  ],
  ["kraken", `/kraken/0/public/OHLC?pair=XBTUSD&interval=15&since=${S}`, { exchange: "kraken", symbol: "XBTUSD", interval: "15", startMs: START, endMs: null }],
  ["kraken, interval omitted", "/kraken/0/public/OHLC?pair=ETHUSD", { symbol: "ETHUSD", interval: "1", startMs: null, endMs: null }],
  [
    "kucoin",
    `/kucoin/api/v1/market/candles?symbol=BTC-USDT&type=1min&startAt=${S}&endAt=${E}`,
    { exchange: "kucoin", symbol: "BTC-USDT", interval: "1min", startMs: START, endMs: END },
  ],
  ["kucoin, 0 is no bound", "/kucoin/api/v1/market/candles?symbol=BTC-USDT&type=1hour&startAt=0&endAt=0", { symbol: "BTC-USDT", interval: "1hour", startMs: null, endMs: null }],
  [
    "poloniex",
    `/poloniex/markets/BTC_USDT/candles?interval=MINUTE_5&startTime=${START}&endTime=${END}`,
    { exchange: "poloniex", symbol: "BTC_USDT", interval: "MINUTE_5", startMs: START, endMs: END },
  ],
  [
    "okx history",
    `/okx/api/v5/market/history-candles?instId=BTC-USDT&bar=1H&before=${START}&after=${END}`,
    { exchange: "okx", symbol: "BTC-USDT", interval: "1H", startMs: START, endMs: END },
  ],
  ["okx recent, bar omitted", "/okx/api/v5/market/candles?instId=ETH-USDT", { exchange: "okx", symbol: "ETH-USDT", interval: "1m", startMs: null, endMs: null }],
  [
    "coinbase",
    `/coinbase/api/v3/brokerage/market/products/BTC-USD/candles?granularity=ONE_MINUTE&start=${S}&end=${E}`,
    { exchange: "coinbase", symbol: "BTC-USD", interval: "ONE_MINUTE", startMs: START, endMs: END },
  ],
  [
    "bybit",
    `/bybit/v5/market/kline?category=spot&symbol=BTCUSDT&interval=60&start=${START}&end=${END}`,
    { exchange: "bybit", symbol: "BTCUSDT", interval: "60", startMs: START, endMs: END },
  ],
];

describe("candle request log", () => {
  test.each(CASES)("%s: records exchange, symbol, interval, window, address, status and time", async (_, path, expected) => {
    expect((await get(sim.urls[1] + path)).status).toBe(200);
    const entry = only(sim.candleRequests());
    expect(entry).toEqual({
      exchange: path.split("/")[1] as SimCandleRequest["exchange"],
      symbol: null,
      interval: null,
      startMs: null,
      endMs: null,
      address: B,
      status: 200,
      atMs: NOW,
      ...expected,
    });
  });

  test("records the address each request came in on and leaves other requests out", async () => {
    await get(`${sim.urls[0]}/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`);
    await get(`${sim.urls[1]}/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`);
    await get(`${sim.urls[0]}/binance/api/v3/exchangeInfo`);
    await get(`${sim.urls[0]}/kraken/0/public/Trades?pair=XBTUSD`);
    await get(`${sim.urls[0]}/coingecko/api/v3/coins/markets?vs_currency=usd`);
    expect(sim.candleRequests().map((e) => e.address)).toEqual([A, B]);
  });

  test("records the status answered: refusals, bad requests and injected faults too", async () => {
    const path = "/kucoin/api/v1/market/candles?symbol=BTC-USDT&type=1min";
    sim.setFaults("kucoin", { rateLimitScale: 0.0015 });
    await get(sim.url + path);
    await get(sim.url + path);
    await get(`${sim.url}/kucoin/api/v1/market/candles?symbol=BTC-USDT`);
    sim.setFaults("kucoin", { outage: true });
    await fetch(sim.url + path);
    expect(sim.candleRequests().map((e) => e.status)).toEqual([200, 429, 429, 503]);
    sim.setFaults("kucoin", {});
    clock.set(NOW + M);
    await get(`${sim.url}/kucoin/api/v1/market/candles?symbol=BTC-USDT`);
    expect(sim.candleRequests().at(-1)).toMatchObject({ symbol: "BTC-USDT", interval: null, status: 400, atMs: NOW + M });
  });

  test("counts duplicate fetches of one window exactly", async () => {
    const window = `/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${START}&limit=10`;
    for (const url of [sim.urls[0], sim.urls[1], sim.urls[0]]) await get(url + window);
    await get(`${sim.url}/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${END}&limit=10`);
    const counts = new Map<string, number>();
    for (const e of sim.candleRequests()) {
      const key = `${e.exchange} ${e.symbol} ${e.interval} ${e.startMs}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ [`binance BTCUSDT 1m ${START}`]: 3, [`binance BTCUSDT 1m ${END}`]: 1 });
  });

  test("GET /_sim/requests lists them as JSON, ?since=N pages on, and reset clears them", async () => {
    for (const symbol of ["BTCUSDT", "ETHUSDT", "BTCUSDC"]) await get(`${sim.urls[1]}/bybit/v5/market/kline?category=spot&symbol=${symbol}&interval=1`);
    const all = await get(`${sim.url}/_sim/requests`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual(sim.candleRequests());
    expect(all.body.map((e: SimCandleRequest) => e.symbol)).toEqual(["BTCUSDT", "ETHUSDT", "BTCUSDC"]);
    expect((await get(`${sim.url}/_sim/requests?since=2`)).body.map((e: SimCandleRequest) => e.symbol)).toEqual(["BTCUSDC"]);
    expect((await get(`${sim.url}/_sim/requests?since=3`)).body).toEqual([]);
    expect(sim.candleRequests(1)).toHaveLength(2);
    expect((await get(`${sim.url}/_sim/requests?since=-1`)).status).toBe(400);
    sim.reset();
    expect(sim.candleRequests()).toEqual([]);
    expect((await get(`${sim.url}/_sim/requests`)).body).toEqual([]);
  });

  test("keeps the newest requestLogLimit requests, indices still counting from the reset", async () => {
    const seen: SimCandleRequest[] = [];
    const small = createSimulator({ clock, requestLogLimit: 2, onCandleRequest: (e) => seen.push(e) });
    for (const symbol of ["BTCUSDT", "ETHUSDT", "BTCUSDC"]) await small.fetch(new Request(`http://127.0.0.13/binance/api/v3/klines?symbol=${symbol}&interval=1m&limit=1`));
    expect(small.candleRequests().map((e) => e.symbol)).toEqual(["ETHUSDT", "BTCUSDC"]);
    expect(small.candleRequests(2).map((e) => e.symbol)).toEqual(["BTCUSDC"]);
    expect(seen.map((e) => e.symbol)).toEqual(["BTCUSDT", "ETHUSDT", "BTCUSDC"]);
    expect(seen[0]!.address).toBe("127.0.0.13");
  });
});
