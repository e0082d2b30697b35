/**
 * `bun bench/ours-only.ts [--exchanges a,b] [--runs N]`: only our backfill of the e2e benchmark into
 * CSV (no ccxt, no PostgreSQL), each exchange's share of its ceiling: a quick loop when tuning.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NativeExchangeId as ExchangeId } from "../src/exchanges/index.ts";
import { ceilingCandlesPerSecond, checkOurCsv, EXCHANGES, measureFetchFloor, runOurBackfill, scenario, startLatentSimulator, warmSimulator } from "./backfill.bench.ts";

const argv = process.argv.slice(2);
const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const exchanges = (arg("--exchanges")?.split(",") as ExchangeId[] | undefined) ?? EXCHANGES;
const runs = Number(arg("--runs") ?? 1);
const s = scenario(10, 2 * 1440);
const sim = await startLatentSimulator();
if (!argv.includes("--cold-simulator")) console.log(`simulator warmed with ${await warmSimulator(sim, s)} requests`);
try {
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), "ci-ours-only-"));
    try {
      const run = await runOurBackfill(sim, s, { csvDirectory: dir }, exchanges);
      if (exchanges.length === EXCHANGES.length) checkOurCsv(dir, s, run);
      for (const e of run.exchanges) {
        const share = e.written / (e.elapsedMs / 1000) / ceilingCandlesPerSecond(e.exchange, s.coins.length);
        console.log(
          `${e.exchange.padEnd(9)} ${e.elapsedMs.toFixed(0).padStart(6)} ms  ${e.requests} requests  ${(share * 100).toFixed(1)}% of ceiling  cpu ${e.cpuMsAtDone.toFixed(0)} ms, simulator cpu ${e.simCpuMsAtDone.toFixed(0)} ms`,
        );
      }
      const floor = await measureFetchFloor(
        run.urls,
        exchanges.filter((e) => e !== "kraken"),
      );
      console.log(`floor (our requests replayed at once, bodies dropped): ${[...floor].map(([e, ms]) => `${e} ${ms.toFixed(0)} ms`).join(", ")}`);
      console.log("---");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await sim.stop();
}
