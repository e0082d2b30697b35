import type { Clock } from "../../clock.ts";
import type { Faults } from "../faults.ts";
import { createPrng } from "../noise.ts";
import { createBinanceStreams } from "./binance.ts";
import { createStreamHub, type StreamExchangeId, type StreamHub } from "./hub.ts";
import { createKrakenStreams } from "./kraken.ts";
import { createKucoinStreams, type KucoinStreams } from "./kucoin.ts";
import { createPoloniexStreams } from "./poloniex.ts";
import type { SimUniverse } from "../universe.ts";

/** The four exchanges' candle streams on one hub, plus KuCoin's token endpoint. */
export interface SimStreams {
  hub: StreamHub;
  kucoin: KucoinStreams;
}

export function createSimStreams(options: { clock: Clock; seed: number; universe: SimUniverse; faultsOf(exchange: StreamExchangeId): Faults }): SimStreams {
  const { seed, universe, faultsOf } = options;
  const kucoin = createKucoinStreams(seed, universe, () => faultsOf("kucoin"), createPrng(seed * 4099 + 3));
  const hub = createStreamHub({
    clock: options.clock,
    seed,
    faultsOf,
    protocols: {
      binance: createBinanceStreams(seed, universe, () => faultsOf("binance")),
      kraken: createKrakenStreams(seed, universe, () => faultsOf("kraken")),
      kucoin,
      poloniex: createPoloniexStreams(seed, universe, () => faultsOf("poloniex")),
    },
  });
  return { hub, kucoin };
}
