import { poloniexProtocol } from "../../src/streams/poloniex.ts";
import { defineLiveSuite } from "./live-harness.ts";

defineLiveSuite({
  exchange: "poloniex",
  protocol: poloniexProtocol,
  symbol: (coin) => `${coin}_USDT`,
  // one ack for the channel
  subscribeAcks: 1,
  quietCandidates: ["ADA", "TRX", "DOGE"],
  finalsForQuietMinutes: false,
  stallMs: 30_000,
});
