import { z } from "zod";
import { checkCandles, ignored, malformed, parseJson, type StreamProtocol, toNumber, toWebSocketBase } from "./types.ts";

/**
 * Binance kline streams over one combined-stream connection (`…/binance/stream`), subscribed with
 * live SUBSCRIBE messages in batches. The server pings every 20 s and the WebSocket answers, so no
 * application ping; a 1m kline stream sends at least its final event every minute.
 * @see https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
 */
export const BINANCE_STREAM_MAX_STREAMS = 1024;
/** Streams named in one SUBSCRIBE (keeps each frame small). */
export const BINANCE_SUBSCRIBE_BATCH = 200;
/** 5 incoming messages a second: one subscribe every 250 ms stays under it with pings around. */
export const BINANCE_SUBSCRIBE_GAP_MS = 250;
/** No client ping: silence for 2 × this is a stall (a 1m kline stream sends every minute). */
export const BINANCE_SILENCE_UNIT_MS = 60_000;

const BinanceKline = z.looseObject({
  t: z.number(),
  s: z.string(),
  i: z.string(),
  o: z.string(),
  c: z.string(),
  h: z.string(),
  l: z.string(),
  // Base volume (`q` is quote).
  v: z.string(),
  // Closed: the kline's final values.
  x: z.boolean(),
});
const BinanceKlineEvent = z.looseObject({ e: z.literal("kline"), s: z.string(), k: BinanceKline });
const BinanceCombined = z.looseObject({ stream: z.string(), data: z.unknown() });
/** `{"result":null,"id":1}`, `{"result":[…],"id":2}` and `{"error":{…},"id":…}`. */
const BinanceReply = z.looseObject({ id: z.union([z.number(), z.string(), z.null()]) });

/** `btcusdt@kline_1m` for `BTCUSDT`. */
export function binanceStreamName(market: string, interval = "1m"): string {
  return `${market.toLowerCase()}@kline_${interval}`;
}

export const binanceProtocol: StreamProtocol = {
  exchange: "binance",
  maxMarketsPerConnection: BINANCE_STREAM_MAX_STREAMS,
  subscribeGapMs: BINANCE_SUBSCRIBE_GAP_MS,
  endpoint: async (baseUrl) => ({ url: `${toWebSocketBase(baseUrl)}/stream`, pingIntervalMs: BINANCE_SILENCE_UNIT_MS }),
  subscribeMessages(markets) {
    const out: string[] = [];
    for (let i = 0; i < markets.length; i += BINANCE_SUBSCRIBE_BATCH) {
      out.push(JSON.stringify({ method: "SUBSCRIBE", params: markets.slice(i, i + BINANCE_SUBSCRIBE_BATCH).map((m) => binanceStreamName(m)), id: out.length + 1 }));
    }
    return out;
  },
  pingMessage: () => undefined,
  parse(text) {
    const json = parseJson(text);
    if (!json) return malformed("binance", "not JSON");
    const combined = BinanceCombined.safeParse(json.value);
    const payload = combined.success ? combined.data.data : json.value;
    const event = BinanceKlineEvent.safeParse(payload);
    if (event.success) {
      const k = event.data.k;
      return checkCandles("binance", [
        { market: k.s, openTimeMs: k.t, open: toNumber(k.o), high: toNumber(k.h), low: toNumber(k.l), close: toNumber(k.c), volume: toNumber(k.v), final: k.x },
      ]);
    }
    if (!combined.success && BinanceReply.safeParse(json.value).success) return ignored;
    return malformed("binance", "unexpected message");
  },
};
