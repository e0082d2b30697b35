import { CALENDAR_MONTHS, everyMinutes, MONDAY_WEEKS, type BucketScheme, type SeriesRow } from "../candle-series.ts";
import { fixed } from "../decimal-text.ts";
import type { Faults } from "../faults.ts";
import type { SimUniverse } from "../universe.ts";
import { getSeries, type SimSeries } from "../price-model.ts";
import { isDelisted } from "../reply.ts";
import { advanceFeed, approxUnits, createCandleFeed, type CandleFeed } from "./candle-feed.ts";
import type { StreamConn, StreamProtocol } from "./hub.ts";

/**
 * Poloniex v3 public stream at `/ws/public`: `subscribe` to `candles_minute_1` (…) for
 * `BTC_USDT`-style symbols, one ack per channel; candle messages on trades with prices and volumes
 * as strings (`amount` quote, `quantity` base), no closed flag (the last trades of a candle go out
 * before the next candle's first; `closeTime` against `ts` tells), nothing for a quiet candle. The
 * client sends `{"event":"ping"}`; 30 s without one closes the connection.
 * @see https://api-docs.poloniex.com/spot/websocket/market-data#candlesticks
 */
export const POLONIEX_WS_IDLE_MS = 30_000;
export const POLONIEX_WS_IDLE_CLOSE = 1000;

const CHANNELS: Record<string, BucketScheme> = {
  candles_minute_1: everyMinutes(1),
  candles_minute_5: everyMinutes(5),
  candles_minute_10: everyMinutes(10),
  candles_minute_15: everyMinutes(15),
  candles_minute_30: everyMinutes(30),
  candles_hour_1: everyMinutes(60),
  candles_hour_2: everyMinutes(120),
  candles_hour_4: everyMinutes(240),
  candles_hour_6: everyMinutes(360),
  candles_hour_12: everyMinutes(720),
  candles_day_1: everyMinutes(1440),
  candles_day_3: everyMinutes(3 * 1440),
  candles_week_1: MONDAY_WEEKS,
  candles_month_1: CALENDAR_MONTHS,
};

interface PoloniexSub {
  channel: string;
  symbol: string;
  feed: CandleFeed;
}

interface PoloniexConnState {
  subs: Map<string, PoloniexSub>;
  lastPingMs: number;
}

export function createPoloniexStreams(seed: number, universe: SimUniverse, faultsOf: () => Faults): StreamProtocol {
  const stateOf = (conn: StreamConn) => conn.state as PoloniexConnState;

  function subscribe(conn: StreamConn, event: string, channels: unknown, symbols: unknown, nowMs: number) {
    const state = stateOf(conn);
    if (event === "unsubscribe_all") {
      state.subs.clear();
      return conn.send({ event: "unsubscribe_all", channel: "all", symbols: [] });
    }
    if (!Array.isArray(channels) || !channels.every((c) => typeof c === "string") || !Array.isArray(symbols) || !symbols.every((s) => typeof s === "string")) {
      return conn.send({ event: "error", message: "Invalid request parameters" });
    }
    for (const channel of channels as string[]) {
      const scheme = CHANNELS[channel];
      if (!scheme) {
        conn.send({ event: "error", message: `Subscription failed (channel ${channel} not found)` });
        continue;
      }
      const accepted: string[] = [];
      for (const symbol of symbols as string[]) {
        const key = `${channel}|${symbol}`;
        if (event === "unsubscribe") {
          state.subs.delete(key);
          accepted.push(symbol);
          continue;
        }
        const market = universe.findMarket("poloniex", symbol);
        const series = market && !isDelisted(faultsOf(), market.coin) ? getSeries("poloniex", market.coin, seed) : undefined;
        if (!series) {
          conn.send({ event: "error", message: `Subscription failed (symbol ${symbol} not found)` });
          continue;
        }
        if (!state.subs.has(key)) {
          const feed = createCandleFeed(series, scheme, nowMs);
          state.subs.set(key, { channel, symbol, feed });
        }
        accepted.push(symbol);
      }
      if (accepted.length > 0) conn.send({ event, channel, symbols: accepted });
    }
  }

  return {
    accept: () => undefined,
    open(conn, nowMs) {
      conn.state = { subs: new Map(), lastPingMs: nowMs } satisfies PoloniexConnState;
    },
    message(conn, text, nowMs) {
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch {
        return conn.send({ event: "error", message: "Invalid json" });
      }
      const r = typeof request === "object" && request !== null ? (request as Record<string, unknown>) : {};
      switch (r.event) {
        case "ping":
          stateOf(conn).lastPingMs = nowMs;
          return conn.send({ event: "pong" });
        case "subscribe":
        case "unsubscribe":
        case "unsubscribe_all":
          return subscribe(conn, r.event, r.channel, r.symbols, nowMs);
        default:
          return conn.send({ event: "error", message: `Unsupported event ${String(r.event)}` });
      }
    },
    tick(conn, nowMs) {
      const state = stateOf(conn);
      if (nowMs - state.lastPingMs >= POLONIEX_WS_IDLE_MS) return conn.close(POLONIEX_WS_IDLE_CLOSE, "idle timeout");
      for (const sub of state.subs.values()) {
        for (const { row } of advanceFeed(sub.feed, nowMs, { minGapMs: 0, finalEveryBucket: false })) {
          conn.send({ channel: sub.channel, data: [candleEntry(sub.symbol, sub.feed.series, row, nowMs)] });
        }
      }
    },
  };
}

/** One candle; `ts` is when it was pushed. */
function candleEntry(symbol: string, s: SimSeries, row: SeriesRow, nowMs: number) {
  const c = row.candle!;
  const price = (ticks: number) => fixed(ticks, s.decimals);
  return {
    symbol,
    amount: fixed(approxUnits(c.quoteVolume, 4), 4),
    high: price(c.high),
    quantity: fixed(c.volumeUnits, 4, 6),
    tradeCount: c.trades,
    low: price(c.low),
    closeTime: row.endMs - 1,
    startTime: row.openTimeMs,
    close: price(c.close),
    open: price(c.open),
    ts: nowMs,
  };
}
