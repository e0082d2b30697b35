import type { Clock } from "../../clock.ts";
import { GARBAGE_BODY, type Faults } from "../faults.ts";
import { createPrng } from "../noise.ts";

/**
 * The simulator's WebSocket streams: one hub holds every connection, hands its messages to the
 * exchange's protocol, and on `tick()` lets each protocol push what the simulator clock says has
 * changed (candle updates, heartbeats, keepalive checks). Time is the injected clock only: a test
 * with a manual clock advances it and calls `tick()`; `startSimulator` also polls it on a short
 * real-time timer. Stream faults (drops, stalls, garbage, token expiry) are applied here, once.
 */
export const STREAM_EXCHANGE_IDS = ["binance", "kraken", "kucoin", "poloniex"] as const;
export type StreamExchangeId = (typeof STREAM_EXCHANGE_IDS)[number];

/** What the hub needs of a server-side socket (Bun's `ServerWebSocket` has all of it). */
export interface StreamPeer {
  send(text: string): unknown;
  /** Closes with a close frame. */
  close(code?: number, reason?: string): void;
  /** Drops the TCP connection without a close frame. */
  terminate(): void;
  /** A WebSocket ping frame. */
  ping(): unknown;
}

/** One open stream connection as a protocol sees it. */
export interface StreamConn {
  readonly id: number;
  readonly exchange: StreamExchangeId;
  readonly url: URL;
  readonly openedAtMs: number;
  /** Sends a JSON value (or text as is), unless a stall holds it back or garbage replaces it. */
  send(message: unknown): void;
  /** Closes with a close frame (the server's own decision, not a fault). */
  close(code: number, reason: string): void;
  /** Ends the connection for a fault (KuCoin's token expiry), counted in `drops`. */
  drop(code: number, reason: string): void;
  /** Sends a WebSocket ping frame (skipped while stalled). */
  ping(): void;
  /** True while the `streamStall` fault holds: protocols skip their keepalive decisions. */
  stalled(): boolean;
  /** The exchange's per-connection state. */
  state: unknown;
}

/** One exchange's stream behaviour. */
export interface StreamProtocol {
  /** Answers an upgrade request for `path` (below the exchange prefix): undefined to upgrade, else the refusal. */
  accept(path: string, url: URL, nowMs: number): Response | undefined;
  open(conn: StreamConn, nowMs: number): void;
  message(conn: StreamConn, text: string, nowMs: number): void;
  /** A pong frame arrived. */
  pong?(conn: StreamConn, nowMs: number): void;
  /** Pushes due updates and runs keepalive checks. */
  tick(conn: StreamConn, nowMs: number): void;
}

export interface StreamCounters {
  /** Connections accepted. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Messages sent (garbage included). */
  messages: number;
  /** Messages replaced by garbage. */
  garbage: number;
  /** Connections the server ended for a fault (`streamCloseAfterMs`, `streamTokenTtlMs`). */
  drops: number;
}

export type StreamStats = Record<StreamExchangeId, StreamCounters>;

/** The data Bun keeps on an upgraded socket: which exchange and which URL. */
export interface StreamRoute {
  exchange: StreamExchangeId;
  url: string;
}

export interface StreamHubOptions {
  clock: Clock;
  seed: number;
  protocols: Record<StreamExchangeId, StreamProtocol>;
  /** The service's current faults. */
  faultsOf(exchange: StreamExchangeId): Faults;
}

export interface StreamHub {
  /** For a WebSocket upgrade request: the route to upgrade with, a refusal, or undefined when no stream lives there. */
  route(request: Request): StreamRoute | Response | undefined;
  open(peer: StreamPeer, route: StreamRoute): StreamConn;
  message(conn: StreamConn, text: string): void;
  pong(conn: StreamConn): void;
  closed(conn: StreamConn): void;
  /** Pushes what the clock says is due on every connection. */
  tick(): void;
  stats(): StreamStats;
  resetStats(): void;
}

const STREAM_PATHS: Record<StreamExchangeId, RegExp> = {
  binance: /^\/(ws|stream)(\/.*)?$/,
  kraken: /^\/v2\/?$/,
  kucoin: /^\/ws\/?$/,
  poloniex: /^\/ws\/public\/?$/,
};

/** Close code for a fault drop: 1001 going away, as a server restarting or rebalancing sends. */
export const STREAM_DROP_CLOSE_CODE = 1001;

export function createStreamHub(options: StreamHubOptions): StreamHub {
  const { clock, protocols } = options;
  const conns = new Set<StreamConn & { peer: StreamPeer; done: boolean }>();
  const random = createPrng(options.seed * 31337 + 17);
  const zero = () => Object.fromEntries(STREAM_EXCHANGE_IDS.map((id) => [id, { connections: 0, open: 0, messages: 0, garbage: 0, drops: 0 }])) as StreamStats;
  let counters = zero();
  let nextId = 1;
  const now = () => Math.floor(clock.now());

  function route(request: Request): StreamRoute | Response | undefined {
    const url = new URL(request.url);
    const slash = url.pathname.indexOf("/", 1);
    if (slash < 0) return undefined;
    const prefix = url.pathname.slice(1, slash);
    if (!(STREAM_EXCHANGE_IDS as readonly string[]).includes(prefix)) return undefined;
    const exchange = prefix as StreamExchangeId;
    const path = url.pathname.slice(slash);
    if (!STREAM_PATHS[exchange].test(path)) return undefined;
    if (options.faultsOf(exchange).outage) return new Response("service unavailable (simulated outage)", { status: 503 });
    const refusal = protocols[exchange].accept(path, url, now());
    return refusal ?? { exchange, url: url.toString() };
  }

  function open(peer: StreamPeer, r: StreamRoute): StreamConn {
    const exchange = r.exchange;
    const c = counters[exchange];
    c.connections++;
    c.open++;
    const faults = () => options.faultsOf(exchange);
    const conn: StreamConn & { peer: StreamPeer; done: boolean } = {
      id: nextId++,
      exchange,
      url: new URL(r.url),
      openedAtMs: now(),
      peer,
      done: false,
      state: undefined,
      stalled: () => faults().streamStall === true,
      send(message) {
        if (conn.done || conn.stalled()) return;
        const rate = faults().streamGarbageRate ?? 0;
        // Always draw, so the sequence of decisions does not depend on the rate.
        const garbage = random() < rate;
        counters[exchange].messages++;
        if (garbage) counters[exchange].garbage++;
        peer.send(garbage ? GARBAGE_BODY : typeof message === "string" ? message : JSON.stringify(message));
      },
      close(code, reason) {
        if (conn.done) return;
        conn.done = true;
        peer.close(code, reason);
      },
      drop(code, reason) {
        if (conn.done) return;
        counters[exchange].drops++;
        conn.close(code, reason);
      },
      ping() {
        if (!conn.done && !conn.stalled()) peer.ping();
      },
    };
    conns.add(conn);
    protocols[exchange].open(conn, now());
    return conn;
  }

  /** Applies the drop faults; true when the connection was ended. */
  function dropByFault(conn: StreamConn & { peer: StreamPeer; done: boolean }, nowMs: number): boolean {
    const f = options.faultsOf(conn.exchange);
    const after = f.streamCloseAfterMs;
    if (after === undefined || nowMs - conn.openedAtMs < after) return false;
    counters[conn.exchange].drops++;
    conn.done = true;
    if (f.streamCloseAbrupt) conn.peer.terminate();
    else conn.peer.close(STREAM_DROP_CLOSE_CODE, "simulated disconnect");
    return true;
  }

  return {
    route,
    open,
    message(conn, text) {
      const c = conn as StreamConn & { done: boolean };
      // A stalled server reads nothing and answers nothing.
      if (c.done || conn.stalled()) return;
      protocols[conn.exchange].message(conn, text, now());
    },
    pong(conn) {
      if (!conn.stalled()) protocols[conn.exchange].pong?.(conn, now());
    },
    closed(conn) {
      const c = conn as StreamConn & { peer: StreamPeer; done: boolean };
      if (conns.delete(c)) counters[conn.exchange].open--;
      c.done = true;
    },
    tick() {
      const nowMs = now();
      for (const conn of [...conns]) {
        if (conn.done) continue;
        if (dropByFault(conn, nowMs)) continue;
        if (conn.stalled()) continue;
        protocols[conn.exchange].tick(conn, nowMs);
      }
    },
    stats() {
      return Object.fromEntries(STREAM_EXCHANGE_IDS.map((id) => [id, { ...counters[id] }])) as StreamStats;
    },
    resetStats() {
      const open = counters;
      counters = zero();
      for (const id of STREAM_EXCHANGE_IDS) counters[id].open = open[id].open;
    },
  };
}

/** `ws://…` for an `http://…` URL (and `wss` for `https`). */
export function toWebSocketUrl(url: URL): string {
  return `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
}
