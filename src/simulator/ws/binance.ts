import type { SeriesRow } from "../candle-series.ts";
import { fixed } from "../decimal-text.ts";
import type { Faults } from "../faults.ts";
import type { SimUniverse } from "../universe.ts";
import { getSeries, type SimSeries } from "../price-model.ts";
import { isDelisted } from "../reply.ts";
import { advanceFeed, approxUnits, createCandleFeed, type CandleFeed } from "./candle-feed.ts";
import type { StreamConn, StreamProtocol } from "./hub.ts";
import { BINANCE_KLINE_INTERVALS } from "../binance.ts";

/**
 * Binance spot market streams: raw `/ws/<symbol>@kline_<interval>`, combined
 * `/stream?streams=a/b` (each event wrapped as `{stream, data}`), and live SUBSCRIBE /
 * UNSUBSCRIBE / LIST_SUBSCRIPTIONS. Kline updates at most every 2 s of clock time while trades
 * happen, and a final event (`k.x` true) for every kline that ends, a quiet one included (prices the
 * previous close, volume 0, `f`/`L` -1), as the REST klines carry quiet rows. Server pings every
 * 20 s and closes a connection whose ping stays unanswered for a minute; more than 5 incoming
 * messages in a second or 1024 streams close it (1008).
 * @see https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
 */
export const BINANCE_WS_MAX_STREAMS = 1024;
export const BINANCE_WS_MAX_MESSAGES_PER_SECOND = 5;
export const BINANCE_WS_PING_EVERY_MS = 20_000;
export const BINANCE_WS_PONG_WITHIN_MS = 60_000;
/** Kline update speed for intervals other than `1s`. */
export const BINANCE_WS_UPDATE_MS = 2000;
/** Close code for a broken connection rule (too many messages, no pong). */
export const BINANCE_WS_POLICY_CLOSE = 1008;

const STREAM_NAME = /^([a-z0-9]+)@kline_([0-9]+[smhdwM])$/;
const PRICE_PLACES = 8;
/** Trade ids are synthetic: room for this many a minute, like the simulator's trade list. */
const TRADE_IDS_PER_MINUTE = 64;

interface BinanceStream {
  name: string;
  symbol: string;
  interval: string;
  /** Null for a well-formed name Binance would accept but that never sends (unknown symbol). */
  feed: CandleFeed | null;
}

interface BinanceConnState {
  combined: boolean;
  streams: Map<string, BinanceStream>;
  /** Clock times of the incoming messages of the last second. */
  recent: number[];
  lastPingMs: number;
  /** When the oldest unanswered ping went out; null when all were answered. */
  unansweredSinceMs: number | null;
}

export function createBinanceStreams(seed: number, universe: SimUniverse, faultsOf: () => Faults): StreamProtocol & { streamNames(conn: StreamConn): string[] } {
  function stream(name: string, nowMs: number): BinanceStream | undefined {
    const m = STREAM_NAME.exec(name);
    const scheme = m ? BINANCE_KLINE_INTERVALS[m[2]!] : undefined;
    if (!m || !scheme) return undefined;
    const market = universe.findMarket("binance", m[1]!.toUpperCase());
    const series = market && !isDelisted(faultsOf(), market.coin) ? getSeries("binance", market.coin, seed) : undefined;
    const feed = series ? createCandleFeed(series, scheme, nowMs) : null;
    // A new subscriber gets the next update, not a replay.
    return { name, symbol: m[1]!.toUpperCase(), interval: m[2]!, feed };
  }

  function stateOf(conn: StreamConn): BinanceConnState {
    return conn.state as BinanceConnState;
  }

  function namesFromUrl(path: string, url: URL): string[] {
    if (path.startsWith("/stream")) return (url.searchParams.get("streams") ?? "").split("/").filter((s) => s !== "");
    return path
      .slice("/ws".length)
      .split("/")
      .filter((s) => s !== "");
  }

  function reply(conn: StreamConn, body: unknown): void {
    conn.send(body);
  }

  function sendKline(conn: StreamConn, s: BinanceStream, series: SimSeries, row: SeriesRow, final: boolean, nowMs: number): void {
    const event = klineEvent(s, series, row, final, nowMs);
    conn.send(stateOf(conn).combined ? `{"stream":${JSON.stringify(s.name)},"data":${event}}` : event);
  }

  return {
    accept(path, url) {
      if (!/^\/(ws(\/[^/]+)?|stream)\/?$/.test(path)) return new Response("not found", { status: 404 });
      const names = namesFromUrl(path, url);
      if (names.length > BINANCE_WS_MAX_STREAMS) return Response.json({ code: -1, msg: "too many streams" }, { status: 400 });
      if (names.some((n) => !STREAM_NAME.test(n))) return Response.json({ code: -1, msg: "Invalid stream name" }, { status: 400 });
      return undefined;
    },
    open(conn, nowMs) {
      const path = conn.url.pathname.slice("/binance".length);
      const state: BinanceConnState = { combined: path.startsWith("/stream"), streams: new Map(), recent: [], lastPingMs: nowMs, unansweredSinceMs: null };
      conn.state = state;
      for (const name of namesFromUrl(path, conn.url)) {
        const s = stream(name, nowMs);
        if (s) state.streams.set(name, s);
      }
    },
    message(conn, text, nowMs) {
      const state = stateOf(conn);
      state.recent = state.recent.filter((t) => t > nowMs - 1000);
      state.recent.push(nowMs);
      if (state.recent.length > BINANCE_WS_MAX_MESSAGES_PER_SECOND) return conn.close(BINANCE_WS_POLICY_CLOSE, "Too many requests");
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch {
        return reply(conn, { error: { code: 3, msg: "Invalid JSON: expected value at line 1 column 1" } });
      }
      if (typeof request !== "object" || request === null || Array.isArray(request)) return reply(conn, { error: { code: 3, msg: "Invalid JSON" } });
      const r = request as Record<string, unknown>;
      const id = r.id ?? null;
      if (id !== null && typeof id !== "number" && typeof id !== "string") return reply(conn, { error: { code: 1, msg: "Invalid value type: expected u64 or string" }, id: null });
      const params = r.params;
      switch (r.method) {
        case "SUBSCRIBE":
        case "UNSUBSCRIBE": {
          if (!Array.isArray(params) || !params.every((p) => typeof p === "string" && STREAM_NAME.test(p))) {
            return reply(conn, { error: { code: 2, msg: "Invalid request: invalid stream" }, id });
          }
          if (r.method === "UNSUBSCRIBE") {
            for (const name of params as string[]) state.streams.delete(name);
            return reply(conn, { result: null, id });
          }
          const added = (params as string[]).filter((n) => !state.streams.has(n));
          if (state.streams.size + new Set(added).size > BINANCE_WS_MAX_STREAMS) {
            return reply(conn, { error: { code: 2, msg: `Invalid request: at most ${BINANCE_WS_MAX_STREAMS} streams per connection` }, id });
          }
          for (const name of added) {
            const s = stream(name, nowMs);
            if (s) state.streams.set(name, s);
          }
          return reply(conn, { result: null, id });
        }
        case "LIST_SUBSCRIPTIONS":
          return reply(conn, { result: [...state.streams.keys()], id });
        default:
          return reply(conn, { error: { code: 2, msg: "Invalid request: unknown method" }, id });
      }
    },
    pong(conn) {
      stateOf(conn).unansweredSinceMs = null;
    },
    tick(conn, nowMs) {
      const state = stateOf(conn);
      if (state.unansweredSinceMs !== null && nowMs - state.unansweredSinceMs >= BINANCE_WS_PONG_WITHIN_MS) {
        return conn.close(BINANCE_WS_POLICY_CLOSE, "Pong timeout");
      }
      if (nowMs - state.lastPingMs >= BINANCE_WS_PING_EVERY_MS) {
        state.lastPingMs = nowMs;
        state.unansweredSinceMs ??= nowMs;
        conn.ping();
      }
      for (const s of state.streams.values()) {
        if (!s.feed) continue;
        for (const { row, final } of advanceFeed(s.feed, nowMs, { minGapMs: BINANCE_WS_UPDATE_MS, finalEveryBucket: true })) {
          sendKline(conn, s, s.feed.series, row, final, nowMs);
        }
      }
    },
    streamNames: (conn) => [...stateOf(conn).streams.keys()],
  };
}

/** `{"e":"kline","E":…,"s":…,"k":{t,T,s,i,f,L,o,c,h,l,v,n,x,q,V,Q,B}}`, prices and volumes as strings. */
function klineEvent(s: BinanceStream, series: SimSeries, row: SeriesRow, final: boolean, nowMs: number): string {
  const d = series.decimals;
  const price = (ticks: number) => fixed(ticks, d, PRICE_PLACES);
  const c = row.candle;
  const firstId = (row.openTimeMs / 60_000) * TRADE_IDS_PER_MINUTE;
  const k = {
    t: row.openTimeMs,
    T: row.endMs - 1,
    s: s.symbol,
    i: s.interval,
    // First and last trade id; -1 when the kline had no trades.
    f: c === null ? -1 : firstId,
    L: c === null ? -1 : firstId + c.trades - 1,
    o: price(c?.open ?? row.previousClose),
    c: price(c?.close ?? row.previousClose),
    h: price(c?.high ?? row.previousClose),
    l: price(c?.low ?? row.previousClose),
    v: fixed(c?.volumeUnits ?? 0, 4, 8),
    n: c?.trades ?? 0,
    x: final,
    q: fixed(c === null ? 0 : approxUnits(c.quoteVolume, 4), 4, 8),
    // Taker buy base and quote volume.
    V: fixed(c?.takerBuyUnits ?? 0, 4, 8),
    Q: fixed(c === null || c.volumeUnits === 0 ? 0 : approxUnits((c.quoteVolume * c.takerBuyUnits) / c.volumeUnits, 4), 4, 8),
    B: "0",
  };
  return JSON.stringify({ e: "kline", E: nowMs, s: s.symbol, k });
}
