/**
 * The service for the page to talk to: the in-process runtime on the simulator (tests/helpers/harness.ts)
 * behind a real socket on 127.0.0.1. Its virtual clock is set near the real one, so the page's
 * freshness (judged by the server's Date header) sees the buckets as recent.
 */
import type { Server } from "bun";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";

export const COINS = ["BTC", "ETH", "DOGE"] as const;
/** Three hours caught up at once, then one cycle a minute: enough candles for a chart. */
const HISTORY_MINUTES = 180;

export interface PageService {
  h: Harness;
  server: Server<undefined>;
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** The due time of the last cycle run. */
  lastDueMs: number;
  /** One more cycle, a bucket after the last one. */
  nextCycle(): Promise<void>;
  getJson<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

export async function startPageService(): Promise<PageService> {
  const nowMinute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  const t0 = nowMinute - HISTORY_MINUTES * MINUTE_MS;
  const h = await startHarness({
    startMs: t0 + 5000,
    label: "browser",
    keepLines: false,
    yaml: `bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [${COINS.join(", ")}]\ncatch_up_limit: 3h\n`,
  });
  // Four cycles (health needs three): the first seeds, the second catches up three hours.
  const dues = [t0, nowMinute - 2 * MINUTE_MS, nowMinute - MINUTE_MS, nowMinute].map((t) => t + 5000);
  for (const due of dues) await h.tickAt(due);
  // Through the harness's current runtime, whatever it is: the real app, /api included.
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => h.runtime.app.fetch(request) });
  const base = `http://127.0.0.1:${server.port}`;
  const s: PageService = {
    h,
    server,
    base,
    lastDueMs: dues.at(-1)!,
    async nextCycle() {
      s.lastDueMs += MINUTE_MS;
      await h.tickAt(s.lastDueMs);
    },
    async getJson<T>(path: string) {
      const res = await fetch(`${base}${path}`);
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async close() {
      await server.stop(true);
      await h.close();
    },
  };
  return s;
}
