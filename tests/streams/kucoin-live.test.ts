import { expect, test } from "bun:test";
import { kucoinProtocol } from "../../src/streams/kucoin.ts";
import { defineLiveSuite, expectAllExact, finalOf, MINUTE, openConnection, reconnectAfter, stepTo, waitSubscribed } from "./live-harness.ts";

defineLiveSuite(
  {
    exchange: "kucoin",
    protocol: kucoinProtocol,
    symbol: (coin) => `${coin}-USDT`,
    // welcome, then an ack per topic
    subscribeAcks: 3,
    quietCandidates: ["TRX", "ADA", "LTC"],
    finalsForQuietMinutes: false,
    stallMs: 36_000,
  },
  (ctx) => {
    test("an expired token (401, then the close) leads to a new token, a reconnect and exact finals", async () => {
      const drops = ctx.sim.stats().streams.kucoin.drops;
      await reconnectAfter(ctx, { streamTokenTtlMs: 1000 });
      expect(ctx.sim.stats().streams.kucoin.drops).toBe(drops + 1);
    });

    test("a known token lifetime reconnects before the expiry: no 401 drop, finals stay exact", async () => {
      await ctx.conn.close();
      ctx.sockets.length = 0;
      ctx.lost = 0;
      const ttlMs = 100_000;
      ctx.sim.setFaults("kucoin", { streamTokenTtlMs: ttlMs });
      const drops = ctx.sim.stats().streams.kucoin.drops;
      const sentBefore = ctx.sim.stats().streams.kucoin.messages;
      ctx.lost = sentBefore;
      ctx.conn = openConnection(ctx, { tokenTtlMs: ttlMs });
      await waitSubscribed(ctx, 1);
      const start = ctx.clock.now();
      await stepTo(ctx, start + 3 * MINUTE);
      ctx.sim.setFaults("kucoin", {});
      const state = ctx.conn.state();
      // Renewed 5 s before the 100 s lifetime: one reconnect in 3 minutes, none forced by the server.
      expect(state.reconnects).toBe(1);
      expect(ctx.sim.stats().streams.kucoin.drops).toBe(drops);
      expectAllExact(ctx);
      // The minute in progress at the renewal is left to REST; the next one closes on the new connection.
      expect(finalOf(ctx, "BTC", Math.ceil((start + 95_000) / MINUTE) * MINUTE)).toBeDefined();
    });
  },
);
