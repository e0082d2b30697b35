import { createManualClock, type ManualClock } from "../../src/clock.ts";
import { startSimulator, type RunningSimulator } from "../../src/simulator/server.ts";

/** A simulator with a manual clock and no stream poll: a test advances the clock, then ticks. */
export interface WsHarness {
  sim: RunningSimulator;
  clock: ManualClock;
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  /** Advances the clock by `ms` and pushes what is due. */
  advance(ms: number): Promise<void>;
}

export function startWsHarness(nowMs: number): WsHarness {
  const clock = createManualClock(nowMs);
  const sim = startSimulator({ clock, streamPollMs: 0 });
  return {
    sim,
    clock,
    wsUrl: sim.url.replace("http:", "ws:"),
    async advance(ms) {
      await clock.advance(ms);
      sim.tickStreams();
    },
  };
}

/** A WebSocket client that queues what it receives, so a test awaits messages in order. */
export interface WsClient {
  ws: WebSocket;
  send(message: unknown): void;
  /** The next message's text; rejects after `timeoutMs` of real time. */
  next(timeoutMs?: number): Promise<string>;
  /** The next message parsed as JSON. */
  json(timeoutMs?: number): Promise<any>;
  /** Resolves true when no message arrives within `ms`. */
  silentFor(ms: number): Promise<boolean>;
  /** The close event's code and whether the close was clean. */
  closed: Promise<{ code: number; reason: string; wasClean: boolean }>;
  /** Messages received and not yet taken. */
  pending(): number;
}

export async function connectWs(url: string): Promise<WsClient> {
  const ws = new WebSocket(url);
  const queue: string[] = [];
  const waiters: ((text: string) => void)[] = [];
  ws.addEventListener("message", (event) => {
    const text = typeof event.data === "string" ? event.data : String(event.data);
    const waiter = waiters.shift();
    if (waiter) waiter(text);
    else queue.push(text);
  });
  const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) => {
    ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
  });
  const next = (timeoutMs = 2000) =>
    new Promise<string>((resolve, reject) => {
      const queued = queue.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(done), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (text: string) => {
        clearTimeout(timer);
        resolve(text);
      };
      waiters.push(done);
    });
  return {
    ws,
    send: (message) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    next,
    json: async (timeoutMs) => JSON.parse(await next(timeoutMs)),
    async silentFor(ms) {
      await Bun.sleep(ms);
      return queue.length === 0;
    },
    closed,
    pending: () => queue.length,
  };
}

/** Waits (real time, bounded) until `check` holds: the server's side of a connection opens a moment after the client's. */
export async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}
