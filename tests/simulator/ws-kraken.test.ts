import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { simInProgress, simMinute } from "../../src/simulator/market-data.ts";
import { connectWs, startWsHarness, until, type WsClient, type WsHarness } from "./ws-client.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "000000Z");

describe("simulator Kraken v2 ohlc stream", () => {
  let h: WsHarness;
  beforeAll(() => {
    h = startWsHarness(T0 + 10_000);
  });
  afterAll(async () => {
    await h.sim.stop();
  });

  async function open(): Promise<WsClient> {
    const before = h.sim.stats().streams.kraken.connections;
    const client = await connectWs(`${h.wsUrl}/kraken/v2`);
    await until(() => h.sim.stats().streams.kraken.connections > before);
    expect((await client.json()).channel).toBe("status");
    return client;
  }

  function expectCandle(entry: any, c: { open: number; high: number; low: number; close: number; volume: number }) {
    expect([entry.open, entry.high, entry.low, entry.close, entry.volume]).toEqual([c.open, c.high, c.low, c.close, c.volume]);
  }

  test("subscribe acks, sends a snapshot of the candle in progress, then updates and heartbeats as the clock moves", async () => {
    h.clock.set(T0 + 10_000);
    const client = await open();
    client.send({ method: "subscribe", params: { channel: "ohlc", symbol: ["BTC/USD"], interval: 1 }, req_id: 7 });
    expect(await client.json()).toEqual({
      method: "subscribe",
      result: { channel: "ohlc", interval: 1, snapshot: true, symbol: "BTC/USD" },
      success: true,
      time_in: iso(T0 + 10_000),
      time_out: iso(T0 + 10_000),
      req_id: 7,
    });
    const snapshot = await client.json();
    expect(snapshot).toMatchObject({ channel: "ohlc", type: "snapshot" });
    const entry = snapshot.data[0];
    expect(Object.keys(entry)).toEqual(["symbol", "open", "high", "low", "close", "trades", "volume", "vwap", "interval_begin", "interval", "timestamp"]);
    expect(entry).toMatchObject({ symbol: "BTC/USD", interval: 1, interval_begin: iso(T0) });
    for (const field of ["open", "high", "low", "close", "trades", "volume", "vwap"]) expect(typeof entry[field]).toBe("number");
    expectCandle(entry, simInProgress("kraken", "BTC", 1, T0 + 10_000)!);

    // Advance second by second: every message is an update equal to simInProgress then, or a heartbeat.
    let updates = 0;
    let lastForT0: any = entry;
    for (let t = 11_000; t <= 59_000; t += 1000) {
      await h.advance(1000);
      const messages = [await client.json()];
      if (messages[0].channel !== "heartbeat") messages.push(await client.json());
      for (const m of messages) {
        if (m.channel === "heartbeat") {
          expect(m).toEqual({ channel: "heartbeat" });
          continue;
        }
        updates++;
        lastForT0 = m.data[0];
        expect(m.type).toBe("update");
        expectCandle(m.data[0], simInProgress("kraken", "BTC", 1, T0 + t)!);
      }
    }
    expect(updates).toBeGreaterThan(0);
    // At the boundary: no closed flag; the candle's final values were the last update for its interval_begin.
    await h.advance(1000);
    const received: any[] = [];
    while (true) {
      const m = await client.json();
      if (m.channel === "heartbeat") break;
      received.push(m);
    }
    for (const m of received) if (m.data[0].interval_begin === iso(T0)) lastForT0 = m.data[0];
    expect(received.every((m) => m.type === "update" && !("closed" in m.data[0]))).toBe(true);
    expectCandle(lastForT0, simMinute("kraken", "BTC", T0)!);
    client.ws.close();
  });

  test("ping answers pong; unknown pairs and channels fail", async () => {
    const client = await open();
    client.send({ method: "ping", req_id: 3 });
    expect(await client.json()).toMatchObject({ method: "pong", req_id: 3 });
    client.send({ method: "subscribe", params: { channel: "ohlc", symbol: ["XBT/USD"], interval: 1 } });
    expect(await client.json()).toMatchObject({ method: "subscribe", success: false, symbol: "XBT/USD", error: "Currency pair not supported XBT/USD" });
    client.send({ method: "subscribe", params: { channel: "ohlc", symbol: ["BTC/USD"], interval: 2 } });
    expect((await client.json()).success).toBe(false);
    client.ws.close();
  });

  test("faults: close frame, silent stall (pings unanswered), garbage", async () => {
    const client = await open();
    h.sim.setFaults("kraken", { streamStall: true });
    client.send({ method: "ping", req_id: 1 });
    await h.advance(1000);
    expect(await client.silentFor(50)).toBe(true);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    h.sim.setFaults("kraken", { streamGarbageRate: 1 });
    client.send({ method: "ping", req_id: 2 });
    const text = await client.next();
    expect(text.startsWith("<html>")).toBe(true);
    h.sim.setFaults("kraken", { streamCloseAfterMs: 0 });
    h.sim.tickStreams();
    expect((await client.closed).code).toBe(1001);
    h.sim.setFaults("kraken", {});
  });
});
