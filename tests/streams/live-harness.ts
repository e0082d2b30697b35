import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createManualClock, type ManualClock } from "../../src/clock.ts";
import { simMinute, simPreviousClose } from "../../src/simulator/market-data.ts";
import { type RunningSimulator, type SimServiceId, startSimulator, type Faults } from "../../src/simulator/server.ts";
import { createStreamConnection, type StreamConnection, type StreamSocketFactory, webSocketFactory } from "../../src/streams/connection.ts";
import type { StreamCandle, StreamExchangeId, StreamProtocol } from "../../src/streams/types.ts";

/**
 * A live-stream suite run against every exchange: a real connection to the simulator on a loopback
 * port with a manual clock shared by both; each step advances the clock, ticks the streams and
 * waits (real time, bounded) until what the simulator sent has arrived.
 */
export const T0 = Date.UTC(2024, 2, 8, 12, 0);
export const MINUTE = 60_000;
const STEP_MS = 2000;

export interface LiveCase {
  exchange: StreamExchangeId;
  protocol: StreamProtocol;
  /** The exchange's stream symbol for a coin. */
  symbol(coin: string): string;
  /** Messages the server sends for a connect + subscribe of two markets before candles flow. */
  subscribeAcks: number;
  /** Candidates for the quiet coin: the first with a quiet minute among minutes 0–3 is used. */
  quietCandidates: string[];
  /** Binance sends a final for a quiet minute (previous close, volume 0); the others send nothing. */
  finalsForQuietMinutes: boolean;
  /** Clock time of silence after which a stall is detected (2 × ping interval). */
  stallMs: number;
}

interface Tracked {
  received: number;
}

export function defineLiveSuite(c: LiveCase, extra?: (ctx: LiveContext) => void): void {
  const ctx = {} as LiveContext;
  describe(`${c.exchange} live stream client`, () => {
    beforeAll(() => {
      ctx.case = c;
      ctx.clock = createManualClock(T0 + 10_000);
      ctx.sim = startSimulator({ clock: ctx.clock, streamPollMs: 0 });
      ctx.quietCoin = c.quietCandidates.find((coin) => [0, 1, 2, 3].some((m) => simMinute(c.exchange, coin, T0 + m * MINUTE) === null))!;
      ctx.coins = ["BTC", ctx.quietCoin];
      ctx.finals = [];
      ctx.sockets = [];
      ctx.reconnected = 0;
      ctx.issues = [];
      ctx.lost = 0;
    });
    afterAll(async () => {
      await ctx.conn?.close();
      await ctx.sim.stop();
    });

    test("connects, subscribes and emits only final candles, each equal to the simulator's minute", async () => {
      ctx.conn = openConnection(ctx);
      await waitSubscribed(ctx, 1);
      await stepTo(ctx, T0 + 5 * MINUTE + 4000);
      expectAllExact(ctx);
      for (let m = 0; m <= 3; m++) {
        expect(finalOf(ctx, "BTC", T0 + m * MINUTE)).toBeDefined();
        const quiet = simMinute(c.exchange, ctx.quietCoin, T0 + m * MINUTE) === null;
        // A traded minute followed by another message closes; a quiet minute only has a Binance final.
        if (!quiet || c.finalsForQuietMinutes) expect(finalOf(ctx, ctx.quietCoin, T0 + m * MINUTE)).toBeDefined();
        else expect(finalOf(ctx, ctx.quietCoin, T0 + m * MINUTE)).toBeUndefined();
      }
      expect(ctx.conn.state()).toMatchObject({ connected: true, connects: 1, reconnects: 0, malformed: 0 });
    });

    test("flushQuiet reports the minutes with nothing final", () => {
      const quiet = ctx.conn.flushQuiet(ctx.clock.now(), 5);
      const btcQuiet = quiet.filter((q) => q.market === c.symbol("BTC"));
      expect(btcQuiet).toEqual([]);
      const expected = c.finalsForQuietMinutes ? [] : [0, 1, 2, 3].map((m) => T0 + m * MINUTE).filter((t) => simMinute(c.exchange, ctx.quietCoin, t) === null);
      expect(quiet.filter((q) => q.market === c.symbol(ctx.quietCoin) && q.openTimeMs <= T0 + 3 * MINUTE).map((q) => q.openTimeMs)).toEqual(expected);
    });

    const faults: [string, Faults][] = [
      ["a drop with a close frame", { streamCloseAfterMs: 0 }],
      ["a drop without a close frame", { streamCloseAfterMs: 0, streamCloseAbrupt: true }],
      ["a stall", { streamStall: true }],
      ["garbage messages", { streamGarbageRate: 1 }],
    ];
    for (const [name, fault] of faults) {
      test(`${name} leads to a reconnect and resubscribe; the finals after it are exact`, async () => {
        await reconnectAfter(ctx, fault);
      });
    }

    extra?.(ctx);
  });
}

export interface LiveContext {
  case: LiveCase;
  clock: ManualClock;
  sim: RunningSimulator;
  conn: StreamConnection;
  quietCoin: string;
  coins: string[];
  finals: StreamCandle[];
  sockets: Tracked[];
  reconnected: number;
  issues: string[];
  /** Messages sent to sockets the client had closed. */
  lost: number;
}

export function openConnection(ctx: LiveContext, extra: { tokenTtlMs?: number } = {}): StreamConnection {
  const c = ctx.case;
  const counting: StreamSocketFactory = (url, handlers) => {
    const tracked: Tracked = { received: 0 };
    ctx.sockets.push(tracked);
    return webSocketFactory(url, {
      ...handlers,
      onMessage(text) {
        tracked.received++;
        handlers.onMessage(text);
      },
    });
  };
  return createStreamConnection({
    protocol: c.protocol,
    baseUrl: ctx.sim.baseUrls[c.exchange as SimServiceId],
    markets: ctx.coins.map((coin) => c.symbol(coin)),
    clock: ctx.clock,
    createSocket: counting,
    random: () => 0.5,
    onCandle: (candle) => ctx.finals.push(candle),
    onReconnected: () => ctx.reconnected++,
    onIssue: (message) => ctx.issues.push(message),
    ...extra,
  });
}

async function until(check: () => boolean, timeoutMs = 2000, quiet = false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      if (quiet) return;
      throw new Error("condition not met in time");
    }
    await Bun.sleep(1);
  }
}

const received = (ctx: LiveContext) => ctx.sockets.reduce((n, s) => n + s.received, 0) + ctx.lost;

/** Waits for what the simulator sent; what never arrives (sent to a socket the client closed) is written off. */
async function drain(ctx: LiveContext): Promise<void> {
  await until(() => received(ctx) >= sent(ctx), 300, true);
  if (received(ctx) < sent(ctx)) ctx.lost += sent(ctx) - received(ctx);
}
const sent = (ctx: LiveContext) => ctx.sim.stats().streams[ctx.case.exchange].messages;

/** Waits until connection number `connects` is open and its subscriptions are acked. */
export async function waitSubscribed(ctx: LiveContext, connects: number): Promise<void> {
  await until(() => ctx.conn.state().connects >= connects);
  await until(() => (ctx.sockets[ctx.sockets.length - 1]?.received ?? 0) >= ctx.case.subscribeAcks);
  await drain(ctx);
}

/** Advances the clock in steps to `targetMs`, ticking the streams and letting messages arrive. */
export async function stepTo(ctx: LiveContext, targetMs: number, stopWhen?: () => boolean): Promise<void> {
  while (ctx.clock.now() < targetMs) {
    await ctx.clock.advance(Math.min(STEP_MS, targetMs - ctx.clock.now()));
    ctx.sim.tickStreams();
    await Bun.sleep(1);
    await drain(ctx);
    if (stopWhen?.()) return;
  }
}

function coinOf(ctx: LiveContext, market: string): string {
  return ctx.coins.find((coin) => ctx.case.symbol(coin) === market)!;
}

export function finalOf(ctx: LiveContext, coin: string, openTimeMs: number): StreamCandle | undefined {
  return ctx.finals.find((f) => f.market === ctx.case.symbol(coin) && f.openTimeMs === openTimeMs);
}

/** Every final equals the simulator's minute (Binance's quiet minute: the previous close, volume 0), once. */
export function expectAllExact(ctx: LiveContext): void {
  const ex = ctx.case.exchange;
  const seen = new Set<string>();
  for (const f of ctx.finals) {
    const key = `${f.market}|${f.openTimeMs}`;
    expect(seen.has(key)).toBe(false);
    seen.add(key);
    expect(f.final).toBe(true);
    const coin = coinOf(ctx, f.market);
    const sim = simMinute(ex, coin, f.openTimeMs);
    const previous = simPreviousClose(ex, coin, f.openTimeMs);
    const expected = sim ?? { openTimeMs: f.openTimeMs, open: previous, high: previous, low: previous, close: previous, volume: 0 };
    expect({ market: f.market, openTimeMs: f.openTimeMs, open: f.open, high: f.high, low: f.low, close: f.close, volume: f.volume }).toEqual({
      market: f.market,
      ...expected,
    } as never);
  }
}

/** Applies a fault until the connection notices, lifts it, and checks the resubscribed stream. */
export async function reconnectAfter(ctx: LiveContext, fault: Faults): Promise<void> {
  const before = ctx.conn.state();
  const reconnectedBefore = ctx.reconnected;
  ctx.sim.setFaults(ctx.case.exchange as SimServiceId, fault);
  // Let the fault bite: the connection ends (or a malformed message arrives).
  await stepTo(ctx, ctx.clock.now() + ctx.case.stallMs + 10_000, () => !ctx.conn.state().connected);
  expect(ctx.conn.state().connected).toBe(false);
  ctx.sim.setFaults(ctx.case.exchange as SimServiceId, {});
  await stepTo(ctx, ctx.clock.now() + 60_000, () => ctx.conn.state().connects > before.connects);
  await waitSubscribed(ctx, before.connects + 1);
  expect(ctx.reconnected).toBe(reconnectedBefore + 1);
  const from = ctx.clock.now();
  const firstFull = Math.ceil(from / MINUTE) * MINUTE;
  await stepTo(ctx, firstFull + 3 * MINUTE + 4000);
  expectAllExact(ctx);
  // BTC trades every minute: each minute after the resubscribe closes.
  for (let t = firstFull; t <= firstFull + MINUTE; t += MINUTE) expect(finalOf(ctx, "BTC", t)).toBeDefined();
  const after = ctx.conn.state();
  expect(after.connected).toBe(true);
  expect(after.reconnects).toBe(before.reconnects + 1);
  if (fault.streamGarbageRate) expect(after.malformed).toBeGreaterThan(before.malformed);
}
