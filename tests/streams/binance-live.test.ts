import { binanceProtocol } from "../../src/streams/binance.ts";
import { defineLiveSuite } from "./live-harness.ts";

defineLiveSuite({
  exchange: "binance",
  protocol: binanceProtocol,
  symbol: (coin) => `${coin}USDT`,
  subscribeAcks: 1,
  quietCandidates: ["TRX", "DOGE", "LTC"],
  finalsForQuietMinutes: true,
  stallMs: 120_000,
});
