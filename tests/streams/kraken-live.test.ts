import { krakenProtocol } from "../../src/streams/kraken.ts";
import { defineLiveSuite } from "./live-harness.ts";

defineLiveSuite({
  exchange: "kraken",
  protocol: krakenProtocol,
  symbol: (coin) => `${coin}/USD`,
  // status, then an ack and a snapshot per market
  subscribeAcks: 3,
  quietCandidates: ["DOGE", "ADA", "XRP"],
  finalsForQuietMinutes: false,
  stallMs: 60_000,
});
