/**
 * The exchange limits we keep to. Two shapes, because exchanges count in two ways:
 * - a token bucket (`refillPerSecond`, `burst`): at most burst + rate·t units in any t seconds, for
 *   limits that decay continuously (Kraken's per-pair counter, CoinGecko's per-minute pace);
 * - a window (`unitsPerWindow` per `windowMs`): at most that many units in ANY span of
 *   `windowMs + slackMs`, for limits counted in fixed windows (Binance 6000 weight a minute, KuCoin
 *   2000 a 30 s, Poloniex 200 a second). A whole window's units may go at once (a short backfill
 *   takes them all in one burst), yet no window of the server's, wherever its edges fall, sees more:
 *   the slack absorbs requests that reach the server later than others sent with them.
 */
export interface BucketLimit {
  refillPerSecond: number;
  burst: number;
}
export interface WindowLimit {
  unitsPerWindow: number;
  windowMs: number;
  /** Added to the window: the spread in delay between sending a request and the server counting it. */
  slackMs: number;
}
export type RateLimit = BucketLimit | WindowLimit;
