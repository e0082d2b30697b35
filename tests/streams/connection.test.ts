import { describe, expect, test } from "bun:test";
import { createManualClock } from "../../src/clock.ts";
import { binanceProtocol } from "../../src/streams/binance.ts";
import { backoffDelayMs, createStreamConnection, type StreamSocketHandlers } from "../../src/streams/connection.ts";
import { poloniexProtocol } from "../../src/streams/poloniex.ts";

describe("stream connection", () => {
  test.each([
    [0, 0, 500],
    [0, 0.999, 1000],
    [1, 0, 1000],
    [3, 0.5, 6000],
    [10, 0, 30_000],
    [40, 0.999, 59_970],
  ])("backoff attempt %d with random %d waits %d ms", (attempt, random, expected) => {
    expect(backoffDelayMs(attempt, { initialMs: 1000, maxMs: 60_000 }, () => random)).toBeCloseTo(expected, -1);
  });

  test("refuses more markets than one connection carries", () => {
    const markets = Array.from({ length: 1025 }, (_, i) => `C${i}USDT`);
    expect(() => createStreamConnection({ protocol: binanceProtocol, baseUrl: "http://x/binance", markets, clock: createManualClock(0), onCandle: () => {} })).toThrow(
      "at most 1024",
    );
  });

  test("with a fake socket: subscribes on open, pings at the interval, and a failed connect backs off", async () => {
    const clock = createManualClock(0);
    const sockets: { url: string; handlers: StreamSocketHandlers; sent: string[]; closed: boolean }[] = [];
    const conn = createStreamConnection({
      protocol: poloniexProtocol,
      baseUrl: "http://sim/poloniex",
      markets: ["BTC_USDT"],
      clock,
      random: () => 0,
      onCandle: () => {},
      createSocket: (url, handlers) => {
        const s = { url, handlers, sent: [] as string[], closed: false };
        sockets.push(s);
        return { send: (t) => s.sent.push(t), close: () => (s.closed = true) };
      },
    });
    await Bun.sleep(1);
    expect(sockets.map((s) => s.url)).toEqual(["ws://sim/poloniex/ws/public"]);
    // Refused: closed before opening; the retry waits the backoff (500 ms at random 0).
    sockets[0]!.handlers.onClose(1006, "");
    await Bun.sleep(1);
    await clock.advance(499);
    expect(sockets.length).toBe(1);
    await clock.advance(1);
    await Bun.sleep(1);
    expect(sockets.length).toBe(2);
    const s = sockets[1]!;
    s.handlers.onOpen();
    await Bun.sleep(1);
    expect(s.sent.map((t) => JSON.parse(t).event)).toEqual(["subscribe"]);
    s.handlers.onMessage(JSON.stringify({ event: "subscribe", channel: "candles_minute_1", symbols: ["BTC_USDT"] }));
    await clock.advance(15_000);
    expect(s.sent.map((t) => JSON.parse(t).event)).toEqual(["subscribe", "ping"]);
    s.handlers.onMessage(JSON.stringify({ event: "pong" }));
    await clock.advance(15_000);
    expect(s.sent.length).toBe(3);
    // No answer to that ping: silence since the pong reaches 2 × 15 s at 45 s.
    await clock.advance(14_999);
    expect(s.closed).toBe(false);
    await clock.advance(1);
    expect(s.closed).toBe(true);
    expect(conn.state()).toMatchObject({ connected: false, connects: 1, messages: 2, malformed: 0 });
    await conn.close();
  });
});
