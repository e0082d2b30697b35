import { z } from "zod";
import { checkCandles, ignored, malformed, parseJson, type StreamProtocol, toNumber, toWebSocketBase } from "./types.ts";

/**
 * Poloniex v3 public stream at `…/poloniex/ws/public`, channel `candles_minute_1`, `BTC_USDT`
 * symbols; values as strings; no closed flag. The server closes after 30 s without a ping.
 * @see https://api-docs.poloniex.com/spot/websocket/market-data#candlesticks
 */
export const POLONIEX_PING_INTERVAL_MS = 15_000;
export const POLONIEX_CHANNEL = "candles_minute_1";

const PoloniexCandle = z.looseObject({
  symbol: z.string(),
  open: z.string(),
  high: z.string(),
  low: z.string(),
  close: z.string(),
  // Base volume; `amount` is quote.
  quantity: z.string(),
  startTime: z.number(),
});
const PoloniexCandleMessage = z.looseObject({ channel: z.string().startsWith("candles_"), data: z.array(PoloniexCandle) });
/** Subscribe acks, pong and errors. */
const PoloniexEvent = z.looseObject({ event: z.string() });

export const poloniexProtocol: StreamProtocol = {
  exchange: "poloniex",
  maxMarketsPerConnection: 1000,
  subscribeGapMs: 0,
  endpoint: async (baseUrl) => ({ url: `${toWebSocketBase(baseUrl)}/ws/public`, pingIntervalMs: POLONIEX_PING_INTERVAL_MS }),
  subscribeMessages: (markets) => (markets.length === 0 ? [] : [JSON.stringify({ event: "subscribe", channel: [POLONIEX_CHANNEL], symbols: [...markets] })]),
  pingMessage: () => JSON.stringify({ event: "ping" }),
  parse(text) {
    const json = parseJson(text);
    if (!json) return malformed("poloniex", "not JSON");
    const message = PoloniexCandleMessage.safeParse(json.value);
    if (message.success) {
      return checkCandles(
        "poloniex",
        message.data.data.map((c) => ({
          market: c.symbol,
          openTimeMs: c.startTime,
          open: toNumber(c.open),
          high: toNumber(c.high),
          low: toNumber(c.low),
          close: toNumber(c.close),
          volume: toNumber(c.quantity),
          final: undefined,
        })),
      );
    }
    if (PoloniexEvent.safeParse(json.value).success) return ignored;
    return malformed("poloniex", "unexpected message");
  },
};
