import type { SeriesRow } from "../candle-series.ts";
import { fixed, trimmed } from "../decimal-text.ts";
import type { Faults } from "../faults.ts";
import type { SimUniverse } from "../universe.ts";
import { getSeries, type SimSeries } from "../price-model.ts";
import { isDelisted } from "../reply.ts";
import { advanceFeed, approxUnits, createCandleFeed, type CandleFeed } from "./candle-feed.ts";
import { toWebSocketUrl, type StreamConn, type StreamProtocol } from "./hub.ts";
import { KUCOIN_CANDLE_TYPES } from "../kucoin.ts";

/**
 * KuCoin public streams: `POST /api/v1/bullet-public` hands out a token and the endpoint
 * (`ws://HOST:PORT/kucoin/ws`); a connection with a valid token gets `welcome`, then
 * `subscribe` to `/market/candles:BTC-USDT_1min` (acked when `response` is true) and
 * `trade.candles.update` messages on trades: `[start(s), open, close, high, low, volume,
 * turnover]` as strings, no closed flag (the last trades of a candle go out before the next
 * candle's first), nothing for a quiet candle. The client pings; no ping within
 * pingInterval + pingTimeout closes the connection. Tokens live `streamTokenTtlMs` (fault): at
 * expiry the connection gets a 401 error and is closed, and the token no longer connects.
 * @see https://www.kucoin.com/docs/websocket/spot-trading/public-channels/klines
 */
export const KUCOIN_WS_PING_INTERVAL_MS = 18_000;
export const KUCOIN_WS_PING_TIMEOUT_MS = 10_000;
/** Close code when a token expires or a connection stops pinging (KuCoin's own is not documented). */
export const KUCOIN_WS_CLOSE = 1000;

const TOPIC = /^\/market\/candles:([A-Z0-9]+-[A-Z0-9]+)_([0-9a-z]+)$/;

interface KucoinSub {
  topic: string;
  symbol: string;
  feed: CandleFeed;
}

interface KucoinConnState {
  token: string;
  subs: Map<string, KucoinSub>;
  lastPingMs: number;
}

export interface KucoinStreams extends StreamProtocol {
  /** The answer to `POST /api/v1/bullet-public` (request URL gives the endpoint's host). */
  bullet(url: URL, nowMs: number): Response;
}

export function createKucoinStreams(seed: number, universe: SimUniverse, faultsOf: () => Faults, random: () => number): KucoinStreams {
  /** Token → issue time. */
  const tokens = new Map<string, number>();
  const stateOf = (conn: StreamConn) => conn.state as KucoinConnState;

  function expired(token: string, nowMs: number): boolean {
    const issued = tokens.get(token);
    const ttl = faultsOf().streamTokenTtlMs;
    return issued === undefined || (ttl !== undefined && nowMs - issued >= ttl);
  }

  function subscribe(conn: StreamConn, r: Record<string, unknown>, nowMs: number) {
    const id = r.id;
    const topic = typeof r.topic === "string" ? r.topic : "";
    const state = stateOf(conn);
    const m = TOPIC.exec(topic);
    const scheme = m ? KUCOIN_CANDLE_TYPES[m[2]!] : undefined;
    const market = m ? universe.findMarket("kucoin", m[1]!) : undefined;
    const series = market && !isDelisted(faultsOf(), market.coin) ? getSeries("kucoin", market.coin, seed) : undefined;
    if (r.type === "unsubscribe") {
      state.subs.delete(topic);
    } else if (!scheme || !series) {
      return conn.send({ id, type: "error", code: 404, data: `topic ${topic} is not found` });
    } else if (!state.subs.has(topic)) {
      const feed = createCandleFeed(series, scheme, nowMs);
      state.subs.set(topic, { topic, symbol: m![1]!, feed });
    }
    if (r.response === true) conn.send({ id, type: "ack" });
  }

  return {
    bullet(url, nowMs) {
      let token = "";
      while (token.length < 48) token += Math.floor(random() * 36 ** 6).toString(36);
      tokens.set(token, nowMs);
      return Response.json({
        code: "200000",
        data: {
          token,
          instanceServers: [
            {
              endpoint: `${toWebSocketUrl(url)}/kucoin/ws`,
              encrypt: false,
              protocol: "websocket",
              pingInterval: KUCOIN_WS_PING_INTERVAL_MS,
              pingTimeout: KUCOIN_WS_PING_TIMEOUT_MS,
            },
          ],
        },
      });
    },
    accept: () => undefined,
    open(conn, nowMs) {
      const token = conn.url.searchParams.get("token") ?? "";
      const connectId = conn.url.searchParams.get("connectId") ?? String(conn.id);
      conn.state = { token, subs: new Map(), lastPingMs: nowMs } satisfies KucoinConnState;
      // A bad or expired token: the error, then the close (no welcome).
      if (expired(token, nowMs)) {
        conn.send({ id: connectId, type: "error", code: 401, data: "token is invalid" });
        return conn.close(KUCOIN_WS_CLOSE, "token is invalid");
      }
      conn.send({ id: connectId, type: "welcome" });
    },
    message(conn, text, nowMs) {
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch {
        return conn.send({ id: "", type: "error", code: 400, data: "message is not json" });
      }
      const r = typeof request === "object" && request !== null ? (request as Record<string, unknown>) : {};
      switch (r.type) {
        case "ping":
          stateOf(conn).lastPingMs = nowMs;
          return conn.send({ id: r.id, type: "pong", timestamp: nowMs * 1000 });
        case "subscribe":
        case "unsubscribe":
          return subscribe(conn, r, nowMs);
        default:
          return conn.send({ id: r.id, type: "error", code: 400, data: `type ${String(r.type)} is not supported` });
      }
    },
    tick(conn, nowMs) {
      const state = stateOf(conn);
      if (expired(state.token, nowMs)) {
        conn.send({ id: state.token.slice(0, 8), type: "error", code: 401, data: "token is expired" });
        return conn.drop(KUCOIN_WS_CLOSE, "token is expired");
      }
      if (nowMs - state.lastPingMs >= KUCOIN_WS_PING_INTERVAL_MS + KUCOIN_WS_PING_TIMEOUT_MS) return conn.close(KUCOIN_WS_CLOSE, "ping timeout");
      for (const sub of state.subs.values()) {
        for (const { row } of advanceFeed(sub.feed, nowMs, { minGapMs: 0, finalEveryBucket: false })) {
          conn.send(candleMessage(sub, sub.feed.series, row, nowMs));
        }
      }
    },
  };
}

function candleMessage(sub: KucoinSub, s: SimSeries, row: SeriesRow, nowMs: number) {
  const c = row.candle!;
  const price = (ticks: number) => trimmed(ticks, s.decimals);
  return {
    type: "message",
    topic: sub.topic,
    subject: "trade.candles.update",
    data: {
      symbol: sub.symbol,
      candles: [String(row.openTimeMs / 1000), price(c.open), price(c.close), price(c.high), price(c.low), fixed(c.volumeUnits, 4, 8), trimmed(approxUnits(c.quoteVolume, 4), 4)],
      // Documented as microseconds; the example has 19 digits: nanoseconds, as sent here.
      time: nowMs * 1_000_000,
    },
  };
}
