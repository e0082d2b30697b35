import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { simInProgress, simMinute } from "../../src/simulator/market-data.ts";
import { connectWs, startWsHarness, until, type WsClient, type WsHarness } from "./ws-client.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const MINUTE = 60_000;

describe("simulator Poloniex candle stream", () => {
  let h: WsHarness;
  beforeAll(() => {
    h = startWsHarness(T0 + 10_000);
  });
  afterAll(async () => {
    await h.sim.stop();
  });

  async function open(): Promise<WsClient> {
    const before = h.sim.stats().streams.poloniex.connections;
    const client = await connectWs(`${h.wsUrl}/poloniex/ws/public`);
    await until(() => h.sim.stats().streams.poloniex.connections > before);
    return client;
  }

  function expectCandle(entry: any, c: { open: number; high: number; low: number; close: number; volume: number }) {
    expect([entry.open, entry.high, entry.low, entry.close, entry.quantity].map(Number)).toEqual([c.open, c.high, c.low, c.close, c.volume]);
  }

  test("subscribe acks per channel, then candle messages follow simInProgress; the last one of a candle equals simMinute", async () => {
    h.clock.set(T0 + 10_000);
    const client = await open();
    client.send({ event: "subscribe", channel: ["candles_minute_1"], symbols: ["BTC_USDT"] });
    expect(await client.json()).toEqual({ event: "subscribe", channel: "candles_minute_1", symbols: ["BTC_USDT"] });
    let last: any;
    let updates = 0;
    for (let t = 11_000; t <= MINUTE; t += 1000) {
      await h.advance(1000);
      let awaitingPong = t % 20_000 === 0;
      if (awaitingPong) client.send({ event: "ping" });
      await Bun.sleep(1);
      while (client.pending() > 0 || awaitingPong) {
        const m = await client.json();
        if (m.event !== undefined) {
          expect(m).toEqual({ event: "pong" });
          awaitingPong = false;
          continue;
        }
        expect(Object.keys(m)).toEqual(["channel", "data"]);
        const entry = m.data[0];
        expect(Object.keys(entry)).toEqual(["symbol", "amount", "high", "quantity", "tradeCount", "low", "closeTime", "startTime", "close", "open", "ts"]);
        expect(entry).toMatchObject({ symbol: "BTC_USDT" });
        if (entry.startTime === T0 && entry.ts < T0 + MINUTE) {
          updates++;
          expect(entry.closeTime).toBe(T0 + MINUTE - 1);
          expectCandle(entry, simInProgress("poloniex", "BTC", 1, entry.ts)!);
        }
        if (entry.startTime === T0) last = entry;
      }
    }
    expect(updates).toBeGreaterThan(0);
    expectCandle(last, simMinute("poloniex", "BTC", T0)!);
    client.ws.close();
  });

  test("unknown symbols and channels answer an error event", async () => {
    const client = await open();
    client.send({ event: "subscribe", channel: ["candles_minute_1"], symbols: ["NOPE_USDT"] });
    expect((await client.json()).event).toBe("error");
    client.send({ event: "subscribe", channel: ["candles_minute_2"], symbols: ["BTC_USDT"] });
    expect((await client.json()).event).toBe("error");
    client.ws.close();
  });

  test("closes a connection idle for 30 s without a ping", async () => {
    const client = await open();
    await h.advance(29_000);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await h.advance(1000);
    expect((await client.closed).code).toBe(1000);
  });

  test("faults: silent stall keeps the socket open but answers nothing; close frame drop; counters", async () => {
    const client = await open();
    h.sim.setFaults("poloniex", { streamStall: true });
    client.send({ event: "ping" });
    await h.advance(40_000);
    expect(await client.silentFor(50)).toBe(true);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    h.sim.setFaults("poloniex", { streamCloseAfterMs: 0 });
    h.sim.tickStreams();
    expect((await client.closed).code).toBe(1001);
    const stats = h.sim.stats().streams.poloniex;
    expect(stats.connections).toBeGreaterThanOrEqual(4);
    expect(stats.messages).toBeGreaterThan(10);
    expect(stats.drops).toBeGreaterThanOrEqual(1);
    h.sim.setFaults("poloniex", {});
  });
});
