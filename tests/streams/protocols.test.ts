import { describe, expect, test } from "bun:test";
import { binanceProtocol } from "../../src/streams/binance.ts";
import { krakenProtocol, parseKrakenTime } from "../../src/streams/kraken.ts";
import { kucoinEndpointFromBullet, kucoinProtocol } from "../../src/streams/kucoin.ts";
import { poloniexProtocol } from "../../src/streams/poloniex.ts";
import { splitMarkets, type StreamProtocol } from "../../src/streams/types.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const GARBAGE = "<html><head><title>502 Bad Gateway</title></head><body>upstream sent garbage \u0000\u00ff{[";

describe("stream protocols", () => {
  const binanceKline = {
    e: "kline",
    E: T0 + 12_000,
    s: "BTCUSDT",
    k: {
      t: T0,
      T: T0 + 59_999,
      s: "BTCUSDT",
      i: "1m",
      f: 1,
      L: 9,
      o: "67000.10000000",
      c: "67010.00000000",
      h: "67020.50000000",
      l: "66990.00000000",
      v: "1.23450000",
      n: 9,
      x: false,
      q: "82700.00000000",
      V: "0.5",
      Q: "33000",
      B: "0",
    },
  };
  const btc = { market: "BTCUSDT", openTimeMs: T0, open: 67000.1, high: 67020.5, low: 66990, close: 67010, volume: 1.2345 };

  test.each<[string, StreamProtocol, unknown, unknown]>([
    ["binance combined kline", binanceProtocol, { stream: "btcusdt@kline_1m", data: binanceKline }, [{ ...btc, final: false }]],
    ["binance raw closed kline", binanceProtocol, { ...binanceKline, k: { ...binanceKline.k, x: true } }, [{ ...btc, final: true }]],
    ["binance subscribe reply", binanceProtocol, { result: null, id: 1 }, []],
    ["binance error reply", binanceProtocol, { error: { code: 2, msg: "Invalid request" }, id: 3 }, []],
    [
      "kraken update",
      krakenProtocol,
      {
        channel: "ohlc",
        type: "update",
        timestamp: "2024-03-08T12:00:12.000000000Z",
        data: [
          {
            symbol: "BTC/USD",
            open: 67000.1,
            high: 67020.5,
            low: 66990,
            close: 67010,
            trades: 9,
            volume: 1.2345,
            vwap: 67005,
            interval_begin: "2024-03-08T12:00:00.000000000Z",
            interval: 1,
            timestamp: "2024-03-08T12:00:12.000000000Z",
          },
        ],
      },
      [{ ...btc, market: "BTC/USD", final: undefined }],
    ],
    ["kraken status", krakenProtocol, { channel: "status", type: "update", data: [{ version: "2.0.0" }] }, []],
    ["kraken heartbeat", krakenProtocol, { channel: "heartbeat" }, []],
    ["kraken pong", krakenProtocol, { method: "pong", req_id: 3, time_in: "x", time_out: "y" }, []],
    ["kraken subscribe ack", krakenProtocol, { method: "subscribe", result: { channel: "ohlc", symbol: "BTC/USD" }, success: true, req_id: 1 }, []],
    [
      "kucoin candle",
      kucoinProtocol,
      {
        type: "message",
        topic: "/market/candles:BTC-USDT_1min",
        subject: "trade.candles.update",
        data: { symbol: "BTC-USDT", candles: [String(T0 / 1000), "67000.1", "67010", "67020.5", "66990", "1.2345", "82700"], time: (T0 + 12_000) * 1e6 },
      },
      [{ ...btc, market: "BTC-USDT", final: undefined }],
    ],
    ["kucoin welcome", kucoinProtocol, { id: "c1", type: "welcome" }, []],
    ["kucoin ack", kucoinProtocol, { id: "1", type: "ack" }, []],
    ["kucoin pong", kucoinProtocol, { id: "ping-1", type: "pong", timestamp: 1 }, []],
    [
      "poloniex candle",
      poloniexProtocol,
      {
        channel: "candles_minute_1",
        data: [
          {
            symbol: "BTC_USDT",
            amount: "82700",
            high: "67020.5",
            quantity: "1.2345",
            tradeCount: 9,
            low: "66990",
            closeTime: T0 + 59_999,
            startTime: T0,
            close: "67010",
            open: "67000.1",
            ts: T0 + 12_000,
          },
        ],
      },
      [{ ...btc, market: "BTC_USDT", final: undefined }],
    ],
    ["poloniex subscribe ack", poloniexProtocol, { event: "subscribe", channel: "candles_minute_1", symbols: ["BTC_USDT"] }, []],
    ["poloniex pong", poloniexProtocol, { event: "pong" }, []],
  ])("parses %s", (_name, protocol, message, candles) => {
    expect(protocol.parse(JSON.stringify(message))).toEqual({ kind: "candles", candles: candles as never });
  });

  test.each<[string, StreamProtocol, string]>([
    ["binance garbage", binanceProtocol, GARBAGE],
    ["binance kline with a text time", binanceProtocol, JSON.stringify({ e: "kline", s: "BTCUSDT", k: { t: "x" } })],
    [
      "binance kline with a non-numeric price",
      binanceProtocol,
      JSON.stringify({ e: "kline", E: 1, s: "BTCUSDT", k: { t: T0, s: "BTCUSDT", i: "1m", o: "abc", c: "1", h: "1", l: "1", v: "1", x: true } }),
    ],
    ["kraken garbage", krakenProtocol, GARBAGE],
    ["kraken ohlc without prices", krakenProtocol, JSON.stringify({ channel: "ohlc", type: "update", data: [{ symbol: "BTC/USD" }] })],
    ["kucoin short candle row", kucoinProtocol, JSON.stringify({ type: "message", subject: "trade.candles.update", data: { symbol: "BTC-USDT", candles: ["1", "2"] } })],
    ["kucoin unknown type", kucoinProtocol, JSON.stringify({ type: "surprise" })],
    ["poloniex garbage", poloniexProtocol, GARBAGE],
    ["poloniex a JSON number", poloniexProtocol, "42"],
  ])("reports %s as malformed without throwing", (_name, protocol, text) => {
    expect(protocol.parse(text).kind).toBe("malformed");
  });

  test("kraken times keep milliseconds and drop the nanoseconds", () => {
    expect(parseKrakenTime("2024-03-08T12:00:00.000000000Z")).toBe(T0);
    expect(parseKrakenTime("2024-03-08T12:00:01.250999999Z")).toBe(T0 + 1250);
    expect(parseKrakenTime("2024-03-08T12:00:00Z")).toBe(T0);
    expect(parseKrakenTime("yesterday")).toBeNaN();
  });

  test("stream URLs derive from the REST base URLs, http to ws", async () => {
    const fail = () => Promise.reject(new Error("no fetch"));
    expect((await binanceProtocol.endpoint("http://127.0.0.1:9700/binance", fail, 0)).url).toBe("ws://127.0.0.1:9700/binance/stream");
    expect((await krakenProtocol.endpoint("https://h.example/kraken/", fail, 0)).url).toBe("wss://h.example/kraken/v2");
    expect((await poloniexProtocol.endpoint("http://127.0.0.1:9700/poloniex", fail, 0)).url).toBe("ws://127.0.0.1:9700/poloniex/ws/public");
    const seen: string[] = [];
    const fake = async (input: string, init?: RequestInit) => {
      seen.push(`${init?.method} ${input}`);
      return Response.json({ code: "200000", data: { token: "tok", instanceServers: [{ endpoint: "ws://127.0.0.1:9700/kucoin/ws", pingInterval: 18000, pingTimeout: 10000 }] } });
    };
    const kucoin = await kucoinProtocol.endpoint("http://127.0.0.1:9700/kucoin", fake, 1000, 60_000);
    expect(seen).toEqual(["POST http://127.0.0.1:9700/kucoin/api/v1/bullet-public"]);
    expect(kucoin.url).toStartWith("ws://127.0.0.1:9700/kucoin/ws?token=tok&connectId=");
    expect(kucoin).toMatchObject({ pingIntervalMs: 18000, expiresAtMs: 61_000 });
    expect(() => kucoinEndpointFromBullet({ code: "400100", data: {} }, "c", 0)).toThrow("bullet-public");
  });

  test("subscribe messages name the markets the exchange's way", () => {
    expect(binanceProtocol.subscribeMessages(["BTCUSDT", "DOGEUSDT"]).map((m) => JSON.parse(m))).toEqual([
      { method: "SUBSCRIBE", params: ["btcusdt@kline_1m", "dogeusdt@kline_1m"], id: 1 },
    ]);
    expect(JSON.parse(krakenProtocol.subscribeMessages(["BTC/USD"])[0]!)).toEqual({
      method: "subscribe",
      params: { channel: "ohlc", symbol: ["BTC/USD"], interval: 1, snapshot: true },
      req_id: 1,
    });
    expect(kucoinProtocol.subscribeMessages(["BTC-USDT", "DOGE-USDT"]).map((m) => JSON.parse(m).topic)).toEqual([
      "/market/candles:BTC-USDT_1min",
      "/market/candles:DOGE-USDT_1min",
    ]);
    expect(JSON.parse(poloniexProtocol.subscribeMessages(["BTC_USDT"])[0]!)).toEqual({ event: "subscribe", channel: ["candles_minute_1"], symbols: ["BTC_USDT"] });
  });

  test("binance batches subscriptions, paces them and keeps 1024 streams per connection", () => {
    const markets = Array.from({ length: 1500 }, (_, i) => `C${i}USDT`);
    const groups = splitMarkets(binanceProtocol, markets);
    expect(groups.map((g) => g.length)).toEqual([1024, 476]);
    const messages = binanceProtocol.subscribeMessages(groups[0]!).map((m) => JSON.parse(m));
    expect(messages.map((m) => m.params.length)).toEqual([200, 200, 200, 200, 200, 24]);
    expect(messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(binanceProtocol.subscribeGapMs).toBeGreaterThanOrEqual(200);
  });

  test("pings: Kraken, KuCoin and Poloniex send one; Binance's server pings", () => {
    expect(JSON.parse(krakenProtocol.pingMessage(3)!)).toEqual({ method: "ping", req_id: 3 });
    expect(JSON.parse(kucoinProtocol.pingMessage(3)!)).toEqual({ id: "ping-3", type: "ping" });
    expect(JSON.parse(poloniexProtocol.pingMessage(3)!)).toEqual({ event: "ping" });
    expect(binanceProtocol.pingMessage(3)).toBeUndefined();
  });
});
