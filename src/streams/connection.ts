import type { Clock } from "../clock.ts";
import { createFinalityTracker, type FinalityTracker, type QuietBucket } from "./finality.ts";
import type { FetchLike, StreamCandle, StreamEndpoint, StreamProtocol } from "./types.ts";

/**
 * One exchange's stream connection: connect (KuCoin: token first), subscribe, ping at the
 * protocol's interval, treat silence for two ping intervals as a stall, reconnect on close, error,
 * stall, a malformed message or a token about to expire (jittered exponential backoff), subscribe
 * again, and hand out final candles only. Time is the injected clock; sockets come from the
 * injected factory. Messages are handled as they arrive: nothing is buffered.
 */

/** The socket events the manager listens to. */
export interface StreamSocketHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  /** Closed, with or without a close frame, or failed to connect. */
  onClose(code: number, reason: string): void;
}

export interface StreamSocket {
  send(text: string): void;
  close(): void;
}

export type StreamSocketFactory = (url: string, handlers: StreamSocketHandlers) => StreamSocket;

export interface StreamConnectionState {
  connected: boolean;
  /** Connections opened. */
  connects: number;
  /** Connections opened after the first. */
  reconnects: number;
  /** Messages received, malformed ones included. */
  messages: number;
  malformed: number;
  /** Clock time of the last message; null before the first. */
  lastMessageMs: number | null;
}

export interface StreamBackoff {
  initialMs: number;
  maxMs: number;
}

export interface StreamConnectionOptions {
  protocol: StreamProtocol;
  /** The exchange's REST base URL (`api_base_urls`), e.g. `http://127.0.0.1:9700/binance`. */
  baseUrl: string;
  /** Markets in the exchange's stream naming, at most `protocol.maxMarketsPerConnection`. */
  markets: readonly string[];
  clock: Clock;
  onCandle(candle: StreamCandle): void;
  /** After a reconnect has subscribed again: the gap can be reconciled over REST. */
  onReconnected?(): void;
  /** Why a connection ended or failed (for logs); never throws into the manager. */
  onIssue?(message: string): void;
  fetch?: FetchLike;
  createSocket?: StreamSocketFactory;
  /** Jitter source in [0, 1). */
  random?: () => number;
  backoff?: StreamBackoff;
  /** A token's lifetime when known (KuCoin): reconnect shortly before it ends. */
  tokenTtlMs?: number;
  /** Reconnect this long before a known token expiry. */
  tokenMarginMs?: number;
  /** Bucket width of the candles (1 minute). */
  intervalMs?: number;
}

export interface StreamConnection {
  state(): StreamConnectionState;
  /** See `FinalityTracker.flushQuiet`. */
  flushQuiet(nowMs: number, settleSeconds: number): QuietBucket[];
  /** Stops reconnecting and closes the socket. */
  close(): Promise<void>;
}

/** A connection not open after this long (clock time) is given up and retried. */
export const CONNECT_TIMEOUT_MS = 15_000;

export const DEFAULT_STREAM_BACKOFF: StreamBackoff = { initialMs: 1000, maxMs: 60_000 };

/** Full-jitter exponential backoff: a delay in [base/2, base) with base = initial × 2^attempt, capped. */
export function backoffDelayMs(attempt: number, backoff: StreamBackoff, random: () => number): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** The real `WebSocket`, adapted to the handlers. */
export const webSocketFactory: StreamSocketFactory = (url, handlers) => {
  const ws = new WebSocket(url);
  ws.addEventListener("open", () => handlers.onOpen());
  ws.addEventListener("message", (event) => handlers.onMessage(typeof event.data === "string" ? event.data : String(event.data)));
  ws.addEventListener("close", (event) => handlers.onClose(event.code, event.reason));
  return {
    send: (text) => ws.send(text),
    close: () => {
      try {
        ws.close();
      } catch {
        // Closing a socket that never opened: nothing to do.
      }
    },
  };
};

type SessionEnd = { reason: string; healthy: boolean };

export function createStreamConnection(options: StreamConnectionOptions): StreamConnection {
  const { protocol, clock } = options;
  if (options.markets.length > protocol.maxMarketsPerConnection) {
    throw new Error(`${protocol.exchange} stream: ${options.markets.length} markets, at most ${protocol.maxMarketsPerConnection} per connection`);
  }
  const createSocket = options.createSocket ?? webSocketFactory;
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? DEFAULT_STREAM_BACKOFF;
  const tokenMarginMs = options.tokenMarginMs ?? 5000;
  const now = () => Math.floor(clock.now());
  const tracker: FinalityTracker = createFinalityTracker({ markets: options.markets, intervalMs: options.intervalMs ?? 60_000, startMs: now() });
  const stop = new AbortController();
  const counters: StreamConnectionState = { connected: false, connects: 0, reconnects: 0, messages: 0, malformed: 0, lastMessageMs: null };
  /** Ends the current session early (stop, stall); replaced per session. */
  let endSession: (end: SessionEnd) => void = () => {};
  const issue = (message: string) => options.onIssue?.(`${protocol.exchange} stream: ${message}`);

  async function session(): Promise<SessionEnd> {
    let endpoint: StreamEndpoint;
    try {
      endpoint = await protocol.endpoint(options.baseUrl, fetchFn, now(), options.tokenTtlMs);
    } catch (error) {
      return { reason: error instanceof Error ? error.message : String(error), healthy: false };
    }
    if (stop.signal.aborted) return { reason: "closed", healthy: false };
    const wake = new AbortController();
    let ended = false;
    let opened = false;
    let healthy = false;
    let resolveEnd!: (end: SessionEnd) => void;
    const done = new Promise<SessionEnd>((resolve) => {
      resolveEnd = resolve;
    });
    const finish = (end: SessionEnd) => {
      if (ended) return;
      ended = true;
      counters.connected = false;
      wake.abort();
      socket?.close();
      resolveEnd(end);
    };
    endSession = finish;
    let lastHeardMs = now();
    let socket: StreamSocket | undefined;
    const handlers: StreamSocketHandlers = {
      onOpen() {
        if (ended) return;
        opened = true;
        counters.connected = true;
        counters.connects++;
        if (counters.connects > 1) counters.reconnects++;
        lastHeardMs = now();
        void run();
      },
      onMessage(text) {
        if (ended) return;
        const t = now();
        counters.messages++;
        counters.lastMessageMs = t;
        lastHeardMs = t;
        const parsed = protocol.parse(text);
        if (parsed.kind === "malformed") {
          counters.malformed++;
          // A lost message may have held a candle's last values: start over, REST fills the gap.
          return finish({ reason: parsed.reason, healthy });
        }
        if (parsed.candles.length > 0) healthy = true;
        for (const update of parsed.candles) {
          for (const final of tracker.push(update)) {
            try {
              options.onCandle(final);
            } catch (error) {
              issue(`onCandle failed: ${error instanceof Error ? error.message : String(error)}`);
            }
          }
        }
      },
      onClose(code, reason) {
        finish({ reason: opened ? `closed ${code}${reason ? ` ${reason}` : ""}` : `cannot connect (${code})`, healthy });
      },
    };
    try {
      socket = createSocket(endpoint.url, handlers);
    } catch (error) {
      finish({ reason: `cannot connect: ${error instanceof Error ? error.message : String(error)}`, healthy: false });
    }
    void clock.sleep(CONNECT_TIMEOUT_MS, wake.signal).then(() => {
      if (!opened) finish({ reason: "connect timed out", healthy: false });
    });

    async function run(): Promise<void> {
      const messages = protocol.subscribeMessages(options.markets);
      for (let i = 0; i < messages.length && !ended; i++) {
        if (i > 0 && protocol.subscribeGapMs > 0) await clock.sleep(protocol.subscribeGapMs, wake.signal);
        if (!ended) socket?.send(messages[i]!);
      }
      if (ended) return;
      if (counters.connects > 1) {
        try {
          options.onReconnected?.();
        } catch (error) {
          issue(`onReconnected failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      await keepalive();
    }

    async function keepalive(): Promise<void> {
      const interval = endpoint.pingIntervalMs;
      let lastPingMs = now();
      let seq = 0;
      while (!ended) {
        const t = now();
        const stallAt = lastHeardMs + 2 * interval;
        if (t >= stallAt) return finish({ reason: `silent for ${t - lastHeardMs} ms`, healthy });
        const renewAt = endpoint.expiresAtMs === undefined ? Number.POSITIVE_INFINITY : endpoint.expiresAtMs - tokenMarginMs;
        if (t >= renewAt) return finish({ reason: "token about to expire", healthy: true });
        const ping = protocol.pingMessage(seq + 1);
        const pingAt = ping === undefined ? Number.POSITIVE_INFINITY : lastPingMs + interval;
        if (ping !== undefined && t >= pingAt) {
          seq++;
          lastPingMs = t;
          socket?.send(ping);
          continue;
        }
        await clock.sleep(Math.max(1, Math.min(stallAt, renewAt, pingAt) - t), wake.signal);
      }
    }

    return done;
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!stop.signal.aborted) {
      const end = await session();
      tracker.reset();
      if (stop.signal.aborted) break;
      issue(end.reason);
      if (end.healthy) attempt = 0;
      const delay = end.reason === "token about to expire" ? 0 : backoffDelayMs(attempt++, backoff, random);
      if (delay > 0) await clock.sleep(delay, stop.signal);
    }
  }

  const running = loop();

  return {
    state: () => ({ ...counters }),
    flushQuiet: (nowMs, settleSeconds) => tracker.flushQuiet(nowMs, settleSeconds),
    async close() {
      stop.abort();
      endSession({ reason: "closed", healthy: false });
      await running;
    },
  };
}
