import { everyMinutes, MONDAY_WEEKS, type SeriesRow } from "../candle-series.ts";
import type { Faults } from "../faults.ts";
import type { SimMarket } from "../listings.ts";
import { getSeries, VOLUME_UNITS_PER_COIN, vwapTicks, type SimSeries } from "../price-model.ts";
import { isDelisted } from "../reply.ts";
import type { SimUniverse } from "../universe.ts";
import { advanceFeed, createCandleFeed, currentFeedRow, type CandleFeed } from "./candle-feed.ts";
import type { StreamConn, StreamProtocol } from "./hub.ts";

/**
 * Kraken WebSocket v2 at `/v2`: a status message on connect; `subscribe`/`unsubscribe` to the
 * `ohlc` channel with `BTC/USD`-style symbols (BTC, not XBT), one ack per symbol; a snapshot of the
 * candle in progress (unless `snapshot: false`), then an update on trades (at most one per tick).
 * JSON numbers, no closed flag: a candle is final when one with a later `interval_begin` arrives, so
 * the last trades of a candle go out as a last update before the next candle's first. A quiet
 * candle sends nothing. A heartbeat every second while subscribed; `{"method":"ping"}` answers pong.
 * @see https://docs.kraken.com/api/docs/websocket-v2/ohlc
 */
export const KRAKEN_WS_HEARTBEAT_MS = 1000;
const INTERVALS = new Set([1, 5, 15, 30, 60, 240, 1440, 10080, 21600]);

interface KrakenSub {
  symbol: string;
  interval: number;
  feed: CandleFeed;
}

interface KrakenConnState {
  subs: Map<string, KrakenSub>;
  lastHeartbeatMs: number;
}

/** RFC 3339 with nanoseconds, as Kraken v2 prints times. */
export function krakenTime(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "000000Z");
}

export function createKrakenStreams(seed: number, universe: SimUniverse, faultsOf: () => Faults): StreamProtocol {
  const stateOf = (conn: StreamConn) => conn.state as KrakenConnState;
  // A v2 symbol names the coin by its common ticker (`BTC/USD`, not `XBT/USD`).
  const bySymbol = new Map<string, SimMarket>();
  for (const m of universe.listings.kraken) if (!bySymbol.has(`${m.coin}/${m.quote}`)) bySymbol.set(`${m.coin}/${m.quote}`, m);
  const marketOf = (symbol: string) => bySymbol.get(symbol);

  function ack(conn: StreamConn, method: string, reqId: unknown, nowMs: number, body: Record<string, unknown>): void {
    conn.send({ method, ...body, time_in: krakenTime(nowMs), time_out: krakenTime(nowMs), ...(reqId === undefined ? {} : { req_id: reqId }) });
  }

  function subscribe(conn: StreamConn, method: "subscribe" | "unsubscribe", params: Record<string, unknown>, reqId: unknown, nowMs: number) {
    const fail = (error: string, symbol?: string) => ack(conn, method, reqId, nowMs, { error, success: false, ...(symbol === undefined ? {} : { symbol }) });
    if (params.channel !== "ohlc") return fail(`Channel ${String(params.channel)} not found`);
    const symbols = params.symbol;
    if (!Array.isArray(symbols) || symbols.length === 0 || !symbols.every((s) => typeof s === "string")) return fail("Missing field symbol");
    const interval = params.interval ?? 1;
    if (typeof interval !== "number" || !INTERVALS.has(interval)) return fail(`Invalid interval ${String(interval)}`);
    const snapshot = params.snapshot !== false;
    const state = stateOf(conn);
    for (const symbol of symbols as string[]) {
      const key = `${symbol}|${interval}`;
      const result = method === "subscribe" ? { channel: "ohlc", interval, snapshot, symbol } : { channel: "ohlc", interval, symbol };
      if (method === "unsubscribe") {
        if (!state.subs.delete(key)) fail("Subscription Not Found", symbol);
        else ack(conn, method, reqId, nowMs, { result, success: true });
        continue;
      }
      const market = marketOf(symbol);
      const series = market && !isDelisted(faultsOf(), market.coin) ? getSeries("kraken", market.coin, seed) : undefined;
      if (!market || !series) {
        fail(`Currency pair not supported ${symbol}`, symbol);
        continue;
      }
      if (state.subs.has(key)) {
        fail("Already subscribed", symbol);
        continue;
      }
      const feed = createCandleFeed(series, interval === 10080 ? MONDAY_WEEKS : everyMinutes(interval), nowMs);
      // Mark now as seen: what follows the snapshot are changes.
      advanceFeed(feed, nowMs, { minGapMs: 0, finalEveryBucket: false });
      state.subs.set(key, { symbol, interval, feed });
      ack(conn, method, reqId, nowMs, { result, success: true });
      const row = currentFeedRow(feed, nowMs);
      if (snapshot && row) conn.send({ channel: "ohlc", type: "snapshot", timestamp: krakenTime(nowMs), data: [ohlcEntry(symbol, interval, series, row, nowMs)] });
    }
  }

  return {
    accept: () => undefined,
    open(conn, nowMs) {
      conn.state = { subs: new Map(), lastHeartbeatMs: nowMs } satisfies KrakenConnState;
      conn.send({ channel: "status", type: "update", data: [{ version: "2.0.0", system: "online", api_version: "v2", connection_id: conn.id }] });
    },
    message(conn, text, nowMs) {
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch {
        return conn.send({ error: "Malformed request", success: false, time_in: krakenTime(nowMs), time_out: krakenTime(nowMs) });
      }
      const r = typeof request === "object" && request !== null ? (request as Record<string, unknown>) : {};
      const reqId = r.req_id;
      switch (r.method) {
        case "ping":
          return ack(conn, "pong", reqId, nowMs, {});
        case "subscribe":
        case "unsubscribe": {
          const params = typeof r.params === "object" && r.params !== null ? (r.params as Record<string, unknown>) : {};
          return subscribe(conn, r.method, params, reqId, nowMs);
        }
        default:
          return ack(conn, String(r.method), reqId, nowMs, { error: `Method ${String(r.method)} not found`, success: false });
      }
    },
    tick(conn, nowMs) {
      const state = stateOf(conn);
      for (const sub of state.subs.values()) {
        // Several buckets can end between ticks: each goes in its own update, oldest first.
        for (const { row } of advanceFeed(sub.feed, nowMs, { minGapMs: 0, finalEveryBucket: false })) {
          conn.send({ channel: "ohlc", type: "update", timestamp: krakenTime(nowMs), data: [ohlcEntry(sub.symbol, sub.interval, sub.feed.series, row, nowMs)] });
        }
      }
      if (state.subs.size > 0 && nowMs - state.lastHeartbeatMs >= KRAKEN_WS_HEARTBEAT_MS) {
        state.lastHeartbeatMs = nowMs;
        conn.send({ channel: "heartbeat" });
      }
    },
  };
}

/** One `ohlc` entry: JSON numbers; `timestamp` is when the candle was last updated. */
function ohlcEntry(symbol: string, interval: number, s: SimSeries, row: SeriesRow, nowMs: number) {
  const price = (ticks: number) => ticks / s.tickScale;
  const c = row.candle;
  return {
    symbol,
    open: price(c?.open ?? row.previousClose),
    high: price(c?.high ?? row.previousClose),
    low: price(c?.low ?? row.previousClose),
    close: price(c?.close ?? row.previousClose),
    trades: c?.trades ?? 0,
    volume: (c?.volumeUnits ?? 0) / VOLUME_UNITS_PER_COIN,
    vwap: c === null ? 0 : price(vwapTicks(s, c)),
    interval_begin: krakenTime(row.openTimeMs),
    interval,
    timestamp: krakenTime(Math.min(nowMs, row.endMs)),
  };
}
