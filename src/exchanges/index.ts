import type { ExchangeId } from "../domain/candle.ts";
import { binance } from "./binance.ts";
import { kraken } from "./kraken.ts";
import { kucoin } from "./kucoin.ts";
import { poloniex } from "./poloniex.ts";
import type { ExchangeAdapter } from "./types.ts";

/**
 * Every exchange we collect from. Config validation derives the allowed names from these keys, so
 * adding an exchange is one adapter file and one line here.
 */
export const EXCHANGES: Partial<Record<ExchangeId, ExchangeAdapter>> = {
  binance,
  kraken,
  kucoin,
  poloniex,
};

export const EXCHANGE_IDS = Object.keys(EXCHANGES) as ExchangeId[];
