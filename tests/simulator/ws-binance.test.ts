import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { simInProgress, simMinute } from "../../src/simulator/market-data.ts";
import { BINANCE_WS_MAX_STREAMS } from "../../src/simulator/ws/binance.ts";
import { connectWs, startWsHarness, until, type WsClient, type WsHarness } from "./ws-client.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const MINUTE = 60_000;

describe("simulator Binance kline streams", () => {
  let h: WsHarness;
  beforeAll(() => {
    h = startWsHarness(T0 + 10_000);
  });
  afterAll(async () => {
    await h.sim.stop();
  });

  async function open(path: string): Promise<WsClient> {
    const before = h.sim.stats().streams.binance.connections;
    const client = await connectWs(`${h.wsUrl}/binance${path}`);
    await until(() => h.sim.stats().streams.binance.connections > before);
    return client;
  }

  function expectCandle(k: any, c: { open: number; high: number; low: number; close: number; volume: number }) {
    expect([Number(k.o), Number(k.h), Number(k.l), Number(k.c), Number(k.v)]).toEqual([c.open, c.high, c.low, c.close, c.volume]);
  }

  test("a raw stream sends the kline in progress every 2 s, then the final kline with x true at the boundary", async () => {
    h.clock.set(T0 + 10_000);
    const client = await open("/ws/btcusdt@kline_1m");
    await h.advance(2000);
    const event = await client.json();
    expect(Object.keys(event)).toEqual(["e", "E", "s", "k"]);
    expect(Object.keys(event.k)).toEqual(["t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"]);
    expect(event).toMatchObject({ e: "kline", E: T0 + 12_000, s: "BTCUSDT", k: { t: T0, T: T0 + MINUTE - 1, s: "BTCUSDT", i: "1m", x: false, B: "0" } });
    for (const field of ["o", "c", "h", "l", "v", "q", "V", "Q"]) expect(event.k[field]).toMatch(/^[0-9]+\.[0-9]{8}$/);
    expectCandle(event.k, simInProgress("binance", "BTC", 1, T0 + 12_000)!);
    expect(event.k.L - event.k.f + 1).toBe(event.k.n);
    // 1 s later: too soon for the next update.
    await h.advance(1000);
    expect(await client.silentFor(30)).toBe(true);
    await h.advance(1000);
    expectCandle((await client.json()).k, simInProgress("binance", "BTC", 1, T0 + 14_000)!);
    h.clock.set(T0 + MINUTE);
    h.sim.tickStreams();
    const final = await client.json();
    expect(final.k).toMatchObject({ t: T0, x: true });
    expectCandle(final.k, simMinute("binance", "BTC", T0)!);
    client.ws.close();
  });

  test("combined streams wrap each event with its stream name", async () => {
    h.clock.set(T0 + MINUTE + 30_000);
    const client = await open("/stream?streams=btcusdt@kline_1m/ethusdt@kline_5m");
    await h.advance(2000);
    const events = [await client.json(), await client.json()];
    expect(events.map((e) => e.stream).sort()).toEqual(["btcusdt@kline_1m", "ethusdt@kline_5m"]);
    const eth = events.find((e) => e.stream === "ethusdt@kline_5m");
    expect(Object.keys(eth)).toEqual(["stream", "data"]);
    expect(eth.data.k).toMatchObject({ s: "ETHUSDT", i: "5m", t: T0, x: false });
    expectCandle(eth.data.k, simInProgress("binance", "ETH", 5, T0 + MINUTE + 32_000)!);
    client.ws.close();
  });

  test("SUBSCRIBE and UNSUBSCRIBE answer result null with the id; LIST_SUBSCRIPTIONS lists", async () => {
    h.clock.set(T0 + 2 * MINUTE + 10_000);
    const client = await open("/ws");
    client.send({ method: "SUBSCRIBE", params: ["btcusdt@kline_1m"], id: 1 });
    expect(await client.json()).toEqual({ result: null, id: 1 });
    client.send({ method: "LIST_SUBSCRIPTIONS", id: 2 });
    expect(await client.json()).toEqual({ result: ["btcusdt@kline_1m"], id: 2 });
    await h.advance(2000);
    expect((await client.json()).k.s).toBe("BTCUSDT");
    client.send({ method: "UNSUBSCRIBE", params: ["btcusdt@kline_1m"], id: 3 });
    expect(await client.json()).toEqual({ result: null, id: 3 });
    await h.advance(2000);
    expect(await client.silentFor(30)).toBe(true);
    client.send({ method: "SUBSCRIBE", params: ["BTCUSDT@kline_1m"], id: 4 });
    expect((await client.json()).error.code).toBe(2);
    client.ws.close();
  });

  test("a quiet minute still ends with x true: previous close, volume 0, no trades", async () => {
    // ZILUSDT trades in the minute before T0 and not in T0's.
    expect(simMinute("binance", "ZIL", T0)).toBeNull();
    h.clock.set(T0 + 10_000);
    const client = await open("/ws/zilusdt@kline_1m");
    await h.advance(2000);
    expect(await client.silentFor(30)).toBe(true);
    h.clock.set(T0 + MINUTE);
    h.sim.tickStreams();
    const { k } = await client.json();
    const previous = simMinute("binance", "ZIL", T0 - MINUTE)!;
    expect(k).toMatchObject({ t: T0, x: true, n: 0, f: -1, L: -1, v: "0.00000000" });
    expect(Number(k.o)).toBe(previous.close);
    expect(Number(k.c)).toBe(previous.close);
    client.ws.close();
  });

  test("more than 5 messages in a second close the connection", async () => {
    const client = await open("/ws");
    for (let id = 1; id <= 6; id++) client.send({ method: "LIST_SUBSCRIPTIONS", id });
    for (let i = 0; i < 5; i++) expect((await client.json()).result).toEqual([]);
    expect((await client.closed).code).toBe(1008);
  });

  test("at most 1024 streams a connection", async () => {
    const names = Array.from({ length: BINANCE_WS_MAX_STREAMS + 1 }, (_, i) => `sym${i}usdt@kline_1m`);
    const client = await open("/ws");
    client.send({ method: "SUBSCRIBE", params: names.slice(0, BINANCE_WS_MAX_STREAMS), id: 1 });
    expect(await client.json()).toEqual({ result: null, id: 1 });
    client.send({ method: "SUBSCRIBE", params: [names.at(-1)], id: 2 });
    expect((await client.json()).error.code).toBe(2);
    client.ws.close();
  });

  test("pings every 20 s and keeps a connection that pongs", async () => {
    const client = await open("/ws/btcusdt@kline_1m");
    // Bun's client answers ping frames itself.
    for (let i = 0; i < 5; i++) {
      await h.advance(20_000);
      await Bun.sleep(20);
      while (client.pending() > 0) await client.next();
    }
    h.sim.tickStreams();
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
  });

  test("closes a connection that leaves a ping unanswered for a minute", async () => {
    const raw = await rawWebSocket(h.sim.port, "/binance/ws");
    await until(() => h.sim.stats().streams.binance.open > 0);
    await h.advance(20_000);
    await until(() => raw.frames().some((f) => f.opcode === 0x9));
    await h.advance(40_000);
    await Bun.sleep(20);
    expect(raw.frames().some((f) => f.opcode === 0x8)).toBe(false);
    await h.advance(20_000);
    await until(() => raw.frames().some((f) => f.opcode === 0x8));
    const close = raw.frames().find((f) => f.opcode === 0x8)!;
    expect(close.payload.readUInt16BE(0)).toBe(1008);
    raw.end();
  });

  test("faults: close frame, abrupt close, silent stall, garbage", async () => {
    const dropsBefore = h.sim.stats().streams.binance.drops;
    h.sim.setFaults("binance", { streamCloseAfterMs: 0 });
    let client = await open("/ws/btcusdt@kline_1m");
    h.sim.tickStreams();
    expect((await client.closed).code).toBe(1001);
    h.sim.setFaults("binance", { streamCloseAfterMs: 5000, streamCloseAbrupt: true });
    client = await open("/ws/btcusdt@kline_1m");
    await h.advance(2000);
    await client.json();
    await h.advance(3000);
    const abrupt = await client.closed;
    expect(abrupt.code).toBe(1006);
    expect(h.sim.stats().streams.binance.drops).toBeGreaterThanOrEqual(dropsBefore + 2);

    h.sim.setFaults("binance", { streamStall: true });
    client = await open("/ws/btcusdt@kline_1m");
    client.send({ method: "LIST_SUBSCRIPTIONS", id: 1 });
    await h.advance(2000);
    expect(await client.silentFor(50)).toBe(true);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    h.sim.setFaults("binance", { streamGarbageRate: 1 });
    await h.advance(2000);
    const text = await client.next();
    expect(() => JSON.parse(text)).toThrow();
    expect(h.sim.stats().streams.binance.garbage).toBeGreaterThan(0);
    h.sim.setFaults("binance", {});
    client.ws.close();
  });
});

/** A WebSocket client on a bare TCP socket that never answers pings: only the frames the server sends (unmasked). */
async function rawWebSocket(port: number, path: string) {
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  const frames: { opcode: number; payload: Buffer }[] = [];
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        buffer = Buffer.concat([buffer, chunk]);
        if (!upgraded) {
          const end = buffer.indexOf("\r\n\r\n");
          if (end < 0) return;
          upgraded = true;
          buffer = buffer.subarray(end + 4);
        }
        while (buffer.length >= 2) {
          const length = buffer[1]! & 0x7f;
          const header = length === 126 ? 4 : 2;
          const size = length === 126 ? buffer.readUInt16BE(2) : length;
          if (buffer.length < header + size) return;
          frames.push({ opcode: buffer[0]! & 0x0f, payload: buffer.subarray(header, header + size) });
          buffer = buffer.subarray(header + size);
        }
      },
    },
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  return { frames: () => frames, end: () => socket.end() };
}
