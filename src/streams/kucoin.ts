import { z } from "zod";
import { checkCandles, type FetchLike, ignored, malformed, parseJson, type StreamEndpoint, type StreamProtocol, toNumber } from "./types.ts";

/**
 * KuCoin public candles: `POST …/kucoin/api/v1/bullet-public` returns a token and the endpoint
 * with its ping interval; connect to `endpoint?token=…&connectId=…`, subscribe to
 * `/market/candles:BTC-USDT_1min` per market. Values as strings in REST order (time, open, close,
 * high, low, volume, turnover); no closed flag. The client pings at the server's pingInterval.
 * @see https://www.kucoin.com/docs/websocket/basic-info/apply-connect-token/public-token-no-authentication-required-
 */
export const KUCOIN_CANDLE_TYPE = "1min";
/** Reconnect this long before a known token expiry. */
export const KUCOIN_TOKEN_MARGIN_MS = 5000;

const KucoinBullet = z.looseObject({
  code: z.string(),
  data: z.looseObject({
    token: z.string().min(1),
    instanceServers: z.array(z.looseObject({ endpoint: z.string(), pingInterval: z.number().positive() })).min(1),
  }),
});
// [start (s), open, close, high, low, volume (base), turnover (quote)]
const KucoinCandleRow = z.tuple([z.string(), z.string(), z.string(), z.string(), z.string(), z.string(), z.string()]).rest(z.string());
const KucoinCandleMessage = z.looseObject({
  type: z.literal("message"),
  subject: z.literal("trade.candles.update"),
  data: z.looseObject({ symbol: z.string(), candles: KucoinCandleRow }),
});
/** welcome, ack, pong and error. */
const KucoinOther = z.looseObject({ type: z.enum(["welcome", "ack", "pong", "error"]) });

/** The endpoint from a `bullet-public` answer (pure). */
export function kucoinEndpointFromBullet(body: unknown, connectId: string, nowMs: number, tokenTtlMs?: number): StreamEndpoint {
  const parsed = KucoinBullet.safeParse(body);
  if (!parsed.success || parsed.data.code !== "200000") throw new Error("kucoin POST /api/v1/bullet-public: unexpected answer");
  const server = parsed.data.data.instanceServers[0]!;
  const url = new URL(server.endpoint);
  url.searchParams.set("token", parsed.data.data.token);
  url.searchParams.set("connectId", connectId);
  return { url: url.toString(), pingIntervalMs: server.pingInterval, ...(tokenTtlMs === undefined ? {} : { expiresAtMs: nowMs + tokenTtlMs }) };
}

export const kucoinProtocol: StreamProtocol = {
  exchange: "kucoin",
  // KuCoin allows 400 topics per connection.
  maxMarketsPerConnection: 400,
  subscribeGapMs: 0,
  async endpoint(baseUrl, fetchFn: FetchLike, nowMs, tokenTtlMs) {
    const response = await fetchFn(`${baseUrl.replace(/\/+$/, "")}/api/v1/bullet-public`, { method: "POST" });
    if (!response.ok) throw new Error(`kucoin POST /api/v1/bullet-public: ${response.status}`);
    return kucoinEndpointFromBullet(await response.json(), `ci${nowMs}`, nowMs, tokenTtlMs);
  },
  subscribeMessages: (markets) =>
    markets.map((m, i) => JSON.stringify({ id: String(i + 1), type: "subscribe", topic: `/market/candles:${m}_${KUCOIN_CANDLE_TYPE}`, response: true })),
  pingMessage: (seq) => JSON.stringify({ id: `ping-${seq}`, type: "ping" }),
  parse(text) {
    const json = parseJson(text);
    if (!json) return malformed("kucoin", "not JSON");
    const message = KucoinCandleMessage.safeParse(json.value);
    if (message.success) {
      const [start, open, close, high, low, volume] = message.data.data.candles;
      return checkCandles("kucoin", [
        {
          market: message.data.data.symbol,
          openTimeMs: toNumber(start) * 1000,
          open: toNumber(open),
          high: toNumber(high),
          low: toNumber(low),
          close: toNumber(close),
          volume: toNumber(volume),
          final: undefined,
        },
      ]);
    }
    if (KucoinOther.safeParse(json.value).success) return ignored;
    return malformed("kucoin", "unexpected message");
  },
};
