import { binance } from "../../src/exchanges/binance.ts";
import { kraken } from "../../src/exchanges/kraken.ts";
import { kucoin } from "../../src/exchanges/kucoin.ts";
import { poloniex } from "../../src/exchanges/poloniex.ts";
import { runContractSuite } from "./contract-suite.ts";

// Ceilings in candle requests per second on one market; the rate test crosses two of each exchange's windows.
runContractSuite(binance, { unknownSymbol: "NOPEUSDT", candleRequestsPerSecond: 6000 / 2 / 60, limitWindowMs: 60_000, rateTestRequests: 5600 });
runContractSuite(kraken, { unknownSymbol: "NOPEUSD", candleRequestsPerSecond: 1, limitWindowMs: 1000, rateTestRequests: 30 });
runContractSuite(kucoin, { unknownSymbol: "NOPE-USDT", candleRequestsPerSecond: 2000 / 3 / 30, limitWindowMs: 30_000, rateTestRequests: 1400 });
runContractSuite(poloniex, { unknownSymbol: "NOPE_USDT", candleRequestsPerSecond: 200, limitWindowMs: 1000, rateTestRequests: 600 });
