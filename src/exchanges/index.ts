import { binance } from "./binance.ts";
import { kraken } from "./kraken.ts";
import { kucoin } from "./kucoin.ts";
import { poloniex } from "./poloniex.ts";
import type { ExchangeAdapter } from "./types.ts";

/**
 * The native exchanges: each adapter module declares its id, display name, base URL, limits and
 * intervals, and every other list (config validation, defaults, `--help`, `exchanges`, test and
 * bench helpers) derives from this object. Adding one: docs/adding-an-exchange.md.
 */
export const NATIVE_EXCHANGES = {
  binance,
  kraken,
  kucoin,
  poloniex,
} satisfies Record<string, ExchangeAdapter>;

export type NativeExchangeId = keyof typeof NATIVE_EXCHANGES;
export const NATIVE_EXCHANGE_IDS = Object.keys(NATIVE_EXCHANGES) as NativeExchangeId[];

export function isNativeExchange(id: string): id is NativeExchangeId {
  return Object.hasOwn(NATIVE_EXCHANGES, id);
}
