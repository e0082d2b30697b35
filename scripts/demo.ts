/**
 * `bun run demo`: the built-in simulator and the service against it, offline, writing CSV under
 * ./cryptointellect/demo-csv and serving /health, /metrics on http://127.0.0.1:8080 (or the next
 * free port). Ctrl-C stops both cleanly.
 */
import { parseConfig } from "../src/config/config.ts";
import { createRuntime } from "../src/collector/runtime.ts";
import { SIM_EXCHANGE_IDS } from "../src/simulator/listings.ts";
import { startSimulator } from "../src/simulator/server.ts";

const sim = startSimulator({ port: 0 });
// The native four, and OKX, Coinbase and Bybit through ccxt.
const yaml = `bucketing_interval: 1m
exchanges: [${SIM_EXCHANGE_IDS.join(", ")}]
n_coins_to_poll: 10
list_coins_to_poll: [Neo, Optimism]
csv_directory: ./cryptointellect/demo-csv
settle_seconds: 2
http:
  host: 127.0.0.1
  port: 8080
api_base_urls:
${Object.entries(sim.baseUrls)
  .map(([k, v]) => `  ${k}: ${v}`)
  .join("\n")}
`;
const config = parseConfig(yaml, "demo");
const runtime = createRuntime(config);
await runtime.open();
let server: ReturnType<typeof Bun.serve>;
try {
  server = Bun.serve({ hostname: "127.0.0.1", port: 8080, fetch: runtime.app.fetch });
} catch {
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: runtime.app.fetch });
}
console.log(`demo: simulator at ${sim.url}; service at http://127.0.0.1:${server.port} (/health, /metrics)`);
console.log(`demo: CSV files in ${config.csvDirectory}, a new row per coin every minute; Ctrl-C to stop`);
const stop = new AbortController();
process.on("SIGINT", () => stop.abort());
process.on("SIGTERM", () => stop.abort());
await runtime.runLoop(stop.signal);
await server.stop(true);
await runtime.close();
await sim.stop();
console.log("demo: stopped");
