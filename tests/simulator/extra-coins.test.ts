import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createManualClock, type ManualClock } from "../../src/clock.ts";
import { COINGECKO_BUDGET, fetchRanking } from "../../src/coins/coingecko.ts";
import { buildUniverse } from "../../src/coins/universe.ts";
import type { RawCandle } from "../../src/domain/candle.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { UsageError } from "../../src/errors.ts";
import { NATIVE_EXCHANGE_IDS, NATIVE_EXCHANGES, type NativeExchangeId } from "../../src/exchanges/index.ts";
import type { Market } from "../../src/exchanges/types.ts";
import { createExchangeClient } from "../../src/http/client.ts";
import { COIN_PATTERN } from "../../src/query/params.ts";
import { parseSimulateArgs, runSimulator, SIMULATE_USAGE } from "../../src/simulator/cli.ts";
import { extraCoin, extraCoinTickers, MAX_EXTRA_COINS, SIM_COINS, SIM_LISTINGS, simBucket, simMinute, simPreviousClose } from "../../src/simulator/market-data.ts";
import { startSimulator, type RunningSimulator } from "../../src/simulator/server.ts";
import { silentLogger } from "../../src/telemetry/log.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { createAutoClock } from "../helpers/clocks.ts";
import { connectWs, until, type WsClient } from "./ws-client.ts";

/** Mid-minute, so every exchange has a candle in progress. */
const NOW_MS = Date.UTC(2024, 5, 1, 12, 30, 25, 500);
/** Every native exchange lists fewer than 100 real coins: 1,000 synthetic ones make 1,000 series on each. */
const EXTRA = 1000;
const QUOTES = ["USDT", "USD"] as const;
const REAL_RANKED = SIM_COINS.filter((c) => c.rank !== null);
const REAL_TICKERS = new Set(SIM_COINS.map((c) => c.symbol.toUpperCase()));
/** How each native exchange names a synthetic coin's market. */
const SYMBOL: Record<NativeExchangeId, (ticker: string) => string> = {
  binance: (t) => `${t}USDT`,
  kraken: (t) => `${t}USD`,
  kucoin: (t) => `${t}-USDT`,
  poloniex: (t) => `${t}_USDT`,
};

/** A GET's parsed JSON body, untyped as the wire is. */
async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

describe("synthetic extra coins", () => {
  test("are valid coin tickers colliding with no real one, ranked after the real coins with smaller caps, and depend on the ticker only", () => {
    const tickers = extraCoinTickers(MAX_EXTRA_COINS);
    expect(tickers.slice(0, 2)).toEqual(["X0001", "X0002"]);
    expect(tickers.at(-1)).toBe("X5000");
    expect(tickers.every((t) => COIN_PATTERN.test(t) && !REAL_TICKERS.has(t))).toBe(true);
    const coins = tickers.map((t) => extraCoin(t)!);
    const smallestRealCap = Math.min(...REAL_RANKED.map((c) => c.marketCap));
    expect(coins.every((c, i) => c.marketCap > 0 && c.marketCap < smallestRealCap && (i === 0 || c.marketCap < coins[i - 1]!.marketCap))).toBe(true);
    expect(coins.map((c) => c.rank)).toEqual(tickers.map((_, i) => REAL_RANKED.length + i + 1));
    expect(coins.every((c) => c.priceUsd >= 1e-4 && c.priceUsd <= 1e3)).toBe(true);
    expect(extraCoin("X0042")).toEqual({
      id: "synthetic-0042",
      symbol: "x0042",
      name: "Synthetic 0042",
      marketCap: coins[41]!.marketCap,
      rank: 142,
      priceUsd: coins[41]!.priceUsd,
    });
    expect(extraCoin("x0042")).toEqual(extraCoin("X0042"));
    for (const other of ["X0000", "X5001", "X00042", "XRP", "BTC", "X42"]) expect(extraCoin(other)).toBeUndefined();
  });

  test("have market data on the four native exchanges whatever a simulator lists, with some quiet minutes, and none elsewhere", () => {
    const from = Date.UTC(2024, 5, 1);
    for (const exchange of NATIVE_EXCHANGE_IDS) {
      let quiet = 0;
      for (let i = 0; i < 600; i++) if (simMinute(exchange, "X4999", from + i * MINUTE_MS) === null) quiet++;
      expect(quiet).toBeGreaterThan(0);
      expect(quiet).toBeLessThan(300);
    }
    for (const exchange of ["okx", "coinbase", "bybit"]) expect(simMinute(exchange, "X0001", from)).toBeNull();
  });
});

describe("simulator with extraCoins: 1000", () => {
  const clock = createAutoClock(NOW_MS);
  let sim: RunningSimulator;
  beforeAll(() => {
    sim = startSimulator({ clock, extraCoins: EXTRA });
  });
  afterAll(async () => {
    await sim.stop();
  });

  function clientFor(id: NativeExchangeId | "coingecko") {
    return createExchangeClient({
      adapter: id === "coingecko" ? { id, budget: COINGECKO_BUDGET } : NATIVE_EXCHANGES[id],
      baseUrl: sim.baseUrls[id],
      fetch: (input, init) => fetch(input, init),
      clock,
      logger: silentLogger,
      metrics: createMetrics(),
    });
  }

  test("GET /_sim/extra-coins lists the synthetic tickers", async () => {
    const tickers = await getJson(`${sim.url}/_sim/extra-coins`);
    expect(tickers).toEqual(extraCoinTickers(EXTRA));
    expect(sim.extraTickers).toEqual(tickers);
  });

  test.each(NATIVE_EXCHANGE_IDS)("%s lists at least 1,000 tradable markets, the synthetic ones in its naming, as its adapter reads them", async (id) => {
    clock.set(NOW_MS);
    const adapter = NATIVE_EXCHANGES[id];
    const markets = await clientFor(id).request(adapter.marketsRequest(), (body) => adapter.parseMarkets(body, QUOTES));
    expect(markets.length).toBeGreaterThanOrEqual(1000);
    const byCoin = new Map(markets.map((m) => [m.coin, m]));
    for (const ticker of sim.extraTickers) expect(byCoin.get(ticker)).toEqual({ coin: ticker, symbol: SYMBOL[id](ticker), quote: id === "kraken" ? "USD" : "USDT" });
    expect(byCoin.get("X0900")?.symbol).toBe(SYMBOL[id]("X0900"));
    expect(byCoin.has("X1001")).toBe(false);
    // The real markets are still there.
    expect(byCoin.get("BTC")).toBeDefined();
  });

  test("Kraken's AssetPairs names a synthetic pair by key, altname and wsname", async () => {
    const body = await getJson(`${sim.baseUrls.kraken}/0/public/AssetPairs?pair=X0900USD`);
    expect(body.result.X0900USD).toMatchObject({ altname: "X0900USD", wsname: "X0900/USD", base: "X0900", quote: "ZUSD", status: "online" });
  });

  test.each(NATIVE_EXCHANGE_IDS)("%s serves the candles of a synthetic market equal to simBucket", async (id) => {
    clock.set(NOW_MS);
    const adapter = NATIVE_EXCHANGES[id];
    const market: Market = { coin: "X0900", symbol: SYMBOL[id]("X0900"), quote: id === "kraken" ? "USD" : "USDT" };
    const endMs = Math.floor(NOW_MS / MINUTE_MS) * MINUTE_MS;
    const startMs = endMs - 60 * MINUTE_MS;
    const candles: RawCandle[] = await clientFor(id).request(adapter.candlesRequest(market, 1, startMs, endMs), (body) =>
      adapter.parseCandles(body, { market, intervalMinutes: 1 }),
    );
    const inWindow = candles.filter((c) => c.openTimeMs >= startMs && c.openTimeMs < endMs).sort((a, b) => a.openTimeMs - b.openTimeMs);
    const traded: number[] = [];
    for (let t = startMs; t < endMs; t += MINUTE_MS) if (simBucket(id, "X0900", 1, t) !== null) traded.push(t);
    expect(traded.length).toBeGreaterThan(30);
    expect(inWindow.filter((c) => c.volume > 0).map((c) => c.openTimeMs)).toEqual(traded);
    for (const c of inWindow) {
      const { openTimeMs, open, high, low, close, volume } = c;
      const expected = simBucket(id, "X0900", 1, openTimeMs);
      if (expected) expect({ openTimeMs, open, high, low, close, volume }).toEqual(expected);
      else expect([open, high, low, close, volume]).toEqual([...Array(4).fill(simPreviousClose(id, "X0900", openTimeMs)), 0]);
    }
  });

  test("a market past the synthetic count is unknown", async () => {
    const response = await fetch(`${sim.baseUrls.binance}/api/v3/klines?symbol=X1001USDT&interval=1m`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: number }).code).toBe(-1121);
  });

  test("CoinGecko's markets pages rank the synthetic coins after every real one, then the unranked", async () => {
    clock.set(NOW_MS);
    sim.reset();
    const page = async (n: number) => (await getJson(`${sim.baseUrls.coingecko}/api/v3/coins/markets?vs_currency=usd&per_page=250&page=${n}`)) as any[];
    const pages = [await page(1), await page(2), await page(3), await page(4), await page(5)];
    expect(pages.map((p) => p.length)).toEqual([250, 250, 250, 250, SIM_COINS.length + EXTRA - 1000]);
    const all = pages.flat();
    expect(all.slice(0, REAL_RANKED.length).map((c) => c.id)).toEqual(REAL_RANKED.map((c) => c.id));
    const synthetic = all.slice(REAL_RANKED.length, REAL_RANKED.length + EXTRA);
    expect(synthetic.map((c) => c.symbol)).toEqual(sim.extraTickers.map((t) => t.toLowerCase()));
    expect(synthetic.map((c) => c.market_cap_rank)).toEqual(sim.extraTickers.map((_, i) => REAL_RANKED.length + i + 1));
    expect(synthetic[41]).toMatchObject({ id: "synthetic-0042", name: "Synthetic 0042" });
    expect(synthetic.every((c) => c.current_price > 0)).toBe(true);
    expect(all.slice(-2).map((c) => c.market_cap_rank)).toEqual([null, null]);
    const list = (await getJson(`${sim.baseUrls.coingecko}/api/v3/coins/list`)) as any[];
    expect(list).toHaveLength(SIM_COINS.length + EXTRA);
    expect(list).toContainEqual({ id: "synthetic-0900", symbol: "x0900", name: "Synthetic 0900" });
  });

  test("the service's resolver finds named synthetic coins by ticker, name or id, and the real top 100 stay the top 100", async () => {
    clock.set(NOW_MS);
    sim.reset();
    const named = ["X0001", "X0042", "X0300", "X0900", "Synthetic 0777", "synthetic-0500", "Neo"];
    const ranking = await fetchRanking(clientFor("coingecko"), named, silentLogger);
    expect(ranking.source).toBe("coingecko");
    const universe = buildUniverse(ranking.coins, 100, named);
    expect(universe.unresolved).toEqual([]);
    expect(universe.coins.slice(0, 100).map((c) => c.id)).toEqual(REAL_RANKED.map((c) => c.id));
    expect(universe.coins.slice(100).map((c) => c.symbol)).toEqual(["X0001", "X0042", "X0300", "X0900", "X0777", "X0500"]);
  });

  test("hundreds of named coins all resolve: CoinGecko answers a page at a time, so they are asked in batches", async () => {
    clock.set(NOW_MS);
    sim.reset();
    const named = Array.from({ length: 900 }, (_, i) => `X${String(i + 1).padStart(4, "0")}`);
    const ranking = await fetchRanking(clientFor("coingecko"), named, silentLogger);
    const universe = buildUniverse(ranking.coins, 100, named);
    expect(universe.unresolved).toEqual([]);
    expect(universe.coins).toHaveLength(100 + 900);
  });
});

describe("simulator with extraCoins: 900", () => {
  let sim: RunningSimulator;
  beforeAll(() => {
    sim = startSimulator({ clock: createAutoClock(NOW_MS), extraCoins: 900 });
  });
  afterAll(async () => {
    await sim.stop();
  });

  test("lists X0001 to X0900 beside the real markets on each native exchange, and nothing past X0900", async () => {
    const info = await getJson(`${sim.baseUrls.binance}/api/v3/exchangeInfo`);
    expect(info.symbols).toHaveLength(SIM_LISTINGS.binance.length + 900);
    const status = async (path: string) => (await fetch(sim.url + path)).status;
    const krakenError = async (pair: string) => (await getJson(`${sim.baseUrls.kraken}/0/public/AssetPairs?pair=${pair}`)).error;
    const kucoinCode = async (symbol: string) => (await getJson(`${sim.baseUrls.kucoin}/api/v1/market/candles?symbol=${symbol}&type=1min`)).code;
    expect([await status("/binance/api/v3/exchangeInfo?symbol=X0900USDT"), await status("/binance/api/v3/exchangeInfo?symbol=X0901USDT")]).toEqual([200, 400]);
    expect([await krakenError("X0900USD"), await krakenError("X0901USD")]).toEqual([[], ["EQuery:Unknown asset pair"]]);
    expect([await kucoinCode("X0900-USDT"), await kucoinCode("X0901-USDT")]).toEqual(["200000", "400100"]);
    expect([await status("/poloniex/markets/X0900_USDT"), await status("/poloniex/markets/X0901_USDT")]).toEqual([200, 400]);
  });
});

describe("simulator with extraCoins: 0 (the default)", () => {
  let sim: RunningSimulator;
  beforeAll(() => {
    sim = startSimulator({ clock: createAutoClock(NOW_MS) });
  });
  afterAll(async () => {
    await sim.stop();
  });

  test("adds nothing: no synthetic tickers, markets or coins", async () => {
    expect(await getJson(`${sim.url}/_sim/extra-coins`)).toEqual([]);
    const info = await getJson(`${sim.baseUrls.binance}/api/v3/exchangeInfo`);
    expect(info.symbols.some((s: { symbol: string }) => s.symbol.startsWith("X0"))).toBe(false);
    expect((await fetch(`${sim.baseUrls.binance}/api/v3/klines?symbol=X0001USDT&interval=1m`)).status).toBe(400);
    expect((await getJson(`${sim.baseUrls.kucoin}/api/v2/symbols`)).data.some((s: { symbol: string }) => s.symbol === "X0001-USDT")).toBe(false);
    expect((await fetch(`${sim.baseUrls.poloniex}/markets/X0001_USDT`)).status).toBe(400);
    expect((await getJson(`${sim.baseUrls.kraken}/0/public/AssetPairs?pair=X0001USD`)).error).toEqual(["EQuery:Unknown asset pair"]);
    const list = (await getJson(`${sim.baseUrls.coingecko}/api/v3/coins/list`)) as unknown[];
    expect(list).toHaveLength(SIM_COINS.length);
  });

  test.each([[-1], [1.5], [5001], [Number.NaN]])("startSimulator refuses extraCoins %p", (extraCoins) => {
    expect(() => startSimulator({ extraCoins })).toThrow(RangeError);
  });
});

/** One exchange's stream protocol, as much as a subscription to one market needs. */
interface StreamCase {
  id: NativeExchangeId;
  open(sim: RunningSimulator): Promise<WsClient>;
  subscribe(client: WsClient): Promise<void>;
  /** Sends a request the server answers after everything already sent; `isAnswer` tells the answer. */
  ping(client: WsClient, n: number): void;
  isAnswer(message: any, n: number): boolean;
  /** The candle a message carries, if any. */
  candle(message: any): { openTimeMs: number; open: number; high: number; low: number; close: number; volume: number } | undefined;
}

const wsRoot = (sim: RunningSimulator) => sim.url.replace("http:", "ws:");

const STREAM_CASES: StreamCase[] = [
  {
    id: "binance",
    open: (sim) => connectWs(`${wsRoot(sim)}/binance/ws/x0900usdt@kline_1m`),
    subscribe: async () => {},
    ping: (client, n) => client.send({ method: "LIST_SUBSCRIPTIONS", id: n }),
    isAnswer: (m, n) => m.id === n,
    candle: (m) => (m.e === "kline" && m.s === "X0900USDT" ? { openTimeMs: m.k.t, open: +m.k.o, high: +m.k.h, low: +m.k.l, close: +m.k.c, volume: +m.k.v } : undefined),
  },
  {
    id: "kraken",
    async open(sim) {
      const client = await connectWs(`${wsRoot(sim)}/kraken/v2`);
      expect((await client.json()).channel).toBe("status");
      return client;
    },
    async subscribe(client) {
      client.send({ method: "subscribe", params: { channel: "ohlc", symbol: ["X0900/USD", "X1001/USD"], interval: 1, snapshot: false } });
      expect(await client.json()).toMatchObject({ method: "subscribe", success: true, result: { symbol: "X0900/USD" } });
      expect(await client.json()).toMatchObject({ method: "subscribe", success: false, symbol: "X1001/USD" });
    },
    ping: (client, n) => client.send({ method: "ping", req_id: n }),
    isAnswer: (m, n) => m.method === "pong" && m.req_id === n,
    candle: (m) => {
      const e = m.channel === "ohlc" ? m.data[0] : undefined;
      return e?.symbol === "X0900/USD" ? { openTimeMs: Date.parse(e.interval_begin), open: e.open, high: e.high, low: e.low, close: e.close, volume: e.volume } : undefined;
    },
  },
  {
    id: "kucoin",
    async open(sim) {
      const { data } = (await (await fetch(`${sim.baseUrls.kucoin}/api/v1/bullet-public`, { method: "POST" })).json()) as any;
      const client = await connectWs(`${data.instanceServers[0].endpoint}?token=${data.token}&connectId=x`);
      expect(await client.json()).toEqual({ id: "x", type: "welcome" });
      return client;
    },
    async subscribe(client) {
      client.send({ id: "s", type: "subscribe", topic: "/market/candles:X0900-USDT_1min", response: true });
      expect(await client.json()).toEqual({ id: "s", type: "ack" });
    },
    ping: (client, n) => client.send({ id: `p${n}`, type: "ping" }),
    isAnswer: (m, n) => m.type === "pong" && m.id === `p${n}`,
    candle: (m) => {
      const c = m.type === "message" && m.data.symbol === "X0900-USDT" ? (m.data.candles as string[]).map(Number) : undefined;
      return c && { openTimeMs: c[0]! * 1000, open: c[1]!, close: c[2]!, high: c[3]!, low: c[4]!, volume: c[5]! };
    },
  },
  {
    id: "poloniex",
    open: (sim) => connectWs(`${wsRoot(sim)}/poloniex/ws/public`),
    async subscribe(client) {
      client.send({ event: "subscribe", channel: ["candles_minute_1"], symbols: ["X0900_USDT"] });
      expect(await client.json()).toEqual({ event: "subscribe", channel: "candles_minute_1", symbols: ["X0900_USDT"] });
    },
    // Poloniex answers every ping alike: the answers come in order.
    ping: (client) => client.send({ event: "ping" }),
    isAnswer: (m) => m.event === "pong",
    candle: (m) => {
      const e = m.channel === "candles_minute_1" ? m.data[0] : undefined;
      return e?.symbol === "X0900_USDT" ? { openTimeMs: e.startTime, open: +e.open, high: +e.high, low: +e.low, close: +e.close, volume: +e.quantity } : undefined;
    },
  },
];

describe("WebSocket streams of synthetic markets (extraCoins: 1000)", () => {
  let clock: ManualClock;
  let sim: RunningSimulator;
  beforeAll(() => {
    clock = createManualClock(NOW_MS);
    sim = startSimulator({ clock, streamPollMs: 0, extraCoins: EXTRA });
  });
  afterAll(async () => {
    await sim.stop();
  });

  test.each(STREAM_CASES)("a subscription on $id yields the synthetic market's candles; the last of a minute equals simMinute", async (c) => {
    // A minute that traded, so every exchange has something to send for it.
    let minuteMs = Math.floor(NOW_MS / MINUTE_MS) * MINUTE_MS;
    while (simMinute(c.id, "X0900", minuteMs) === null) minuteMs += MINUTE_MS;
    clock.set(minuteMs + 5000);
    const before = sim.stats().streams[c.id].connections;
    const client = await c.open(sim);
    await until(() => sim.stats().streams[c.id].connections > before);
    await c.subscribe(client);
    const candles: NonNullable<ReturnType<StreamCase["candle"]>>[] = [];
    // Steps of 10 s up to just past the minute's end, each closed by a request the server answers after the updates.
    for (let n = 1; n <= 6; n++) {
      await clock.advance(10_000);
      sim.tickStreams();
      c.ping(client, n);
      for (let m = await client.json(); !c.isAnswer(m, n); m = await client.json()) {
        const candle = c.candle(m);
        if (candle) candles.push(candle);
      }
    }
    const ofMinute = candles.filter((k) => k.openTimeMs === minuteMs);
    expect(ofMinute.length).toBeGreaterThan(0);
    const { openTimeMs: _, ...last } = ofMinute.at(-1)!;
    const { openTimeMs: __, ...expected } = simMinute(c.id, "X0900", minuteMs)!;
    expect(last).toEqual(expected);
    client.ws.close();
  });
});

describe("simulate --extra-coins", () => {
  test("reads a whole number from 0 to 5000, absent by default", () => {
    expect(parseSimulateArgs([]).extraCoins).toBeUndefined();
    expect(parseSimulateArgs(["--extra-coins", "900"]).extraCoins).toBe(900);
    expect(parseSimulateArgs(["--extra-coins=0"]).extraCoins).toBe(0);
    expect(parseSimulateArgs(["--extra-coins", "5000"]).extraCoins).toBe(5000);
    expect(SIMULATE_USAGE).toContain("--extra-coins N");
  });

  test.each([["-1"], ["x"], ["5001"], ["1.5"], ["12345"]])("rejects --extra-coins %s naming the value", (value) => {
    expect(() => parseSimulateArgs(["--extra-coins", value])).toThrow(UsageError);
    expect(() => parseSimulateArgs(["--extra-coins", value])).toThrow(`"${value}"`);
  });

  test("serves the synthetic coins it was asked for", async () => {
    let printed = "";
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const running = runSimulator(["--port", "0", "--extra-coins", "3"], { write: (t) => (printed += t), until: stopped, env: {} });
    for (let i = 0; i < 100 && !printed.includes("coingecko:"); i++) await Bun.sleep(5);
    const base = /binance: (http:\/\/127\.0\.0\.1:\d+)\/binance/.exec(printed)![1];
    expect(await getJson(`${base}/_sim/extra-coins`)).toEqual(["X0001", "X0002", "X0003"]);
    stop();
    await running;
  });
});
