import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { simInProgress, simMinute } from "../../src/simulator/market-data.ts";
import { connectWs, startWsHarness, until, type WsClient, type WsHarness } from "./ws-client.ts";

const T0 = Date.UTC(2024, 2, 8, 12, 0);
const MINUTE = 60_000;
const TOPIC = "/market/candles:BTC-USDT_1min";

describe("simulator KuCoin candle stream", () => {
  let h: WsHarness;
  beforeAll(() => {
    h = startWsHarness(T0 + 10_000);
  });
  afterAll(async () => {
    await h.sim.stop();
  });

  async function bullet(): Promise<any> {
    const response = await fetch(`${h.sim.url}/kucoin/api/v1/bullet-public`, { method: "POST" });
    expect(response.status).toBe(200);
    return response.json();
  }

  async function open(connectId = "c1"): Promise<WsClient> {
    const { data } = await bullet();
    const before = h.sim.stats().streams.kucoin.connections;
    const client = await connectWs(`${data.instanceServers[0].endpoint}?token=${data.token}&connectId=${connectId}`);
    await until(() => h.sim.stats().streams.kucoin.connections > before);
    expect(await client.json()).toEqual({ id: connectId, type: "welcome" });
    return client;
  }

  function expectCandle(candles: string[], c: { openTimeMs: number; open: number; high: number; low: number; close: number; volume: number }) {
    // [start(s), open, close, high, low, volume, turnover]
    expect(candles[0]).toBe(String(c.openTimeMs / 1000));
    expect(candles.slice(1, 6).map(Number)).toEqual([c.open, c.close, c.high, c.low, c.volume]);
  }

  test("POST bullet-public answers a token and the ws endpoint on the simulator's port", async () => {
    const body = await bullet();
    expect(body.code).toBe("200000");
    expect(body.data.token).toMatch(/^[0-9a-z]{20,}$/);
    expect(body.data.instanceServers).toEqual([{ endpoint: `${h.wsUrl}/kucoin/ws`, encrypt: false, protocol: "websocket", pingInterval: 18000, pingTimeout: 10000 }]);
    expect((await fetch(`${h.sim.url}/kucoin/api/v1/bullet-public`)).status).toBe(404);
  });

  test("subscribe acks, then trade.candles.update messages follow simInProgress; the last one of a candle equals simMinute", async () => {
    h.clock.set(T0 + 10_000);
    const client = await open();
    client.send({ id: "1", type: "subscribe", topic: TOPIC, response: true });
    expect(await client.json()).toEqual({ id: "1", type: "ack" });
    let last: any;
    for (let t = 11_000; t <= MINUTE; t += 1000) {
      await h.advance(1000);
      if (t % 15_000 === 0) {
        client.send({ id: `p${t}`, type: "ping" });
      }
      await Bun.sleep(1);
      while (client.pending() > 0 || t % 15_000 === 0) {
        const m = await client.json();
        if (m.type === "pong") {
          expect(m.id).toBe(`p${t}`);
          break;
        }
        expect(Object.keys(m)).toEqual(["type", "topic", "subject", "data"]);
        expect(m).toMatchObject({ type: "message", topic: TOPIC, subject: "trade.candles.update", data: { symbol: "BTC-USDT" } });
        // data.time (ns) is the clock time of the push: the in-progress candle then is simInProgress.
        const atMs = m.data.time / 1_000_000;
        expect(atMs % 1000).toBe(0);
        expect(m.data.candles.every((v: unknown) => typeof v === "string")).toBe(true);
        if (m.data.candles[0] === String(T0 / 1000) && atMs < T0 + MINUTE) expectCandle(m.data.candles, simInProgress("kucoin", "BTC", 1, atMs)!);
        if (m.data.candles[0] === String(T0 / 1000)) last = m;
      }
    }
    expect(last).toBeDefined();
    expectCandle(last.data.candles, simMinute("kucoin", "BTC", T0)!);
    client.ws.close();
  });

  test("closes a connection that does not ping within pingInterval + pingTimeout", async () => {
    const client = await open();
    await h.advance(27_000);
    client.send({ id: "x", type: "ping" });
    expect((await client.json()).type).toBe("pong");
    await h.advance(27_000);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await h.advance(1000);
    expect((await client.closed).code).toBe(1000);
  });

  test("an unknown topic answers an error; an unknown token gets an error and a close, no welcome", async () => {
    const client = await open();
    client.send({ id: "2", type: "subscribe", topic: "/market/candles:NOPE-USDT_1min", response: true });
    expect(await client.json()).toMatchObject({ id: "2", type: "error", code: 404 });
    client.ws.close();
    const bad = await connectWs(`${h.wsUrl}/kucoin/ws?token=nope&connectId=z`);
    expect(await bad.json()).toMatchObject({ id: "z", type: "error", code: 401 });
    await bad.closed;
  });

  test("token expiry: the connection gets a 401 and is closed, the token no longer connects, a new bullet does", async () => {
    h.sim.setFaults("kucoin", { streamTokenTtlMs: 5000 });
    const { data } = await bullet();
    const url = `${data.instanceServers[0].endpoint}?token=${data.token}&connectId=e`;
    const client = await connectWs(url);
    expect((await client.json()).type).toBe("welcome");
    await until(() => h.sim.stats().streams.kucoin.open > 0);
    const drops = h.sim.stats().streams.kucoin.drops;
    await h.advance(5000);
    expect(await client.json()).toMatchObject({ type: "error", code: 401, data: "token is expired" });
    await client.closed;
    expect(h.sim.stats().streams.kucoin.drops).toBe(drops + 1);
    const again = await connectWs(url);
    expect((await again.json()).type).toBe("error");
    await again.closed;
    const fresh = await open("f");
    fresh.ws.close();
    h.sim.setFaults("kucoin", {});
  });

  test("faults: abrupt drop and garbage", async () => {
    const client = await open();
    h.sim.setFaults("kucoin", { streamGarbageRate: 1 });
    client.send({ id: "g", type: "ping" });
    expect(await client.next()).toStartWith("<html>");
    h.sim.setFaults("kucoin", { streamCloseAfterMs: 0, streamCloseAbrupt: true });
    h.sim.tickStreams();
    expect((await client.closed).code).toBe(1006);
    h.sim.setFaults("kucoin", {});
  });
});
