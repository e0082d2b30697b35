import { z } from "zod";
import { checkCandles, ignored, malformed, parseJson, type StreamCandle, type StreamProtocol, toWebSocketBase } from "./types.ts";

/**
 * Kraken WebSocket v2 `ohlc` channel at `…/kraken/v2`, `BTC/USD`-style symbols (BTC, not XBT).
 * JSON numbers; no closed flag (a later `interval_begin` closes a candle). The client pings.
 * @see https://docs.kraken.com/api/docs/websocket-v2/ohlc
 */
export const KRAKEN_PING_INTERVAL_MS = 30_000;

const KrakenOhlcEntry = z.looseObject({
  symbol: z.string(),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  // Base volume; `vwap` is the average price.
  volume: z.number(),
  // RFC 3339 with nanoseconds: `2024-03-08T12:00:00.000000000Z`.
  interval_begin: z.string(),
});
const KrakenOhlcMessage = z.looseObject({ channel: z.literal("ohlc"), type: z.enum(["snapshot", "update"]), data: z.array(KrakenOhlcEntry) });
/** Acks (`method`), status, heartbeat and pong. */
const KrakenOther = z.union([z.looseObject({ method: z.string() }), z.looseObject({ channel: z.enum(["status", "heartbeat"]) })]);

/** Milliseconds of a Kraken RFC 3339 time; the fraction past milliseconds is dropped. */
export function parseKrakenTime(text: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) return Number.NaN;
  const ms = (m[2] ?? "").slice(0, 3).padEnd(3, "0");
  return Date.parse(`${m[1]}.${ms}Z`);
}

export const krakenProtocol: StreamProtocol = {
  exchange: "kraken",
  maxMarketsPerConnection: 1000,
  subscribeGapMs: 0,
  endpoint: async (baseUrl) => ({ url: `${toWebSocketBase(baseUrl)}/v2`, pingIntervalMs: KRAKEN_PING_INTERVAL_MS }),
  subscribeMessages: (markets) =>
    markets.length === 0 ? [] : [JSON.stringify({ method: "subscribe", params: { channel: "ohlc", symbol: [...markets], interval: 1, snapshot: true }, req_id: 1 })],
  pingMessage: (seq) => JSON.stringify({ method: "ping", req_id: seq }),
  parse(text) {
    const json = parseJson(text);
    if (!json) return malformed("kraken", "not JSON");
    const ohlc = KrakenOhlcMessage.safeParse(json.value);
    if (ohlc.success) {
      const candles: StreamCandle[] = ohlc.data.data.map((e) => ({
        market: e.symbol,
        openTimeMs: parseKrakenTime(e.interval_begin),
        open: e.open,
        high: e.high,
        low: e.low,
        close: e.close,
        volume: e.volume,
        final: undefined,
      }));
      return checkCandles("kraken", candles);
    }
    if (KrakenOther.safeParse(json.value).success) return ignored;
    return malformed("kraken", "unexpected message");
  },
};
