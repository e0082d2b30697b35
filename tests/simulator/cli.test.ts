import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { DEFAULT_SIMULATOR_PORT, parseSimulateArgs, runSimulator } from "../../src/simulator/cli.ts";

describe("simulator cli", () => {
  test("defaults to 127.0.0.1:9700 without faults", () => {
    expect(parseSimulateArgs([])).toEqual({
      help: false,
      port: DEFAULT_SIMULATOR_PORT,
      host: "127.0.0.1",
      seed: undefined,
      latencyMs: undefined,
      errorRate: undefined,
      garbageRate: undefined,
    });
    expect(parseSimulateArgs(["simulate"]).port).toBe(9700);
  });

  test("reads port, host, latency, error and garbage rates and seed, as `--flag value` or `--flag=value`", () => {
    expect(parseSimulateArgs(["--port", "0", "--host=0.0.0.0", "--latency", "20-200", "--error-rate", "0.1", "--garbage-rate=0.05", "--seed", "42"])).toEqual({
      help: false,
      port: 0,
      host: "0.0.0.0",
      seed: 42,
      latencyMs: [20, 200],
      errorRate: 0.1,
      garbageRate: 0.05,
    });
    expect(parseSimulateArgs(["--latency", "50"]).latencyMs).toEqual([50, 50]);
    expect(parseSimulateArgs(["--help"]).help).toBe(true);
  });

  test.each([
    [["--port", "http"]],
    [["--port", "70000"]],
    [["--port"]],
    [["--latency", "200-20"]],
    [["--latency", "fast"]],
    [["--error-rate", "1.5"]],
    [["--garbage-rate", "-1"]],
    [["--seed", "x"]],
    [["--verbose"]],
    [["extra"]],
  ])("rejects %p with a usage error", (argv) => {
    expect(() => parseSimulateArgs(argv)).toThrow(UsageError);
  });

  test("prints each exchange's base URL and an api_base_urls block, serves, and stops when told", async () => {
    let printed = "";
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    const running = runSimulator(["--port", "0", "--seed", "3"], { write: (t) => (printed += t), until, env: {} });
    for (let i = 0; i < 100 && !printed.includes("coingecko:"); i++) await Bun.sleep(5);
    const base = /binance: (http:\/\/127\.0\.0\.1:\d+)\/binance/.exec(printed)?.[1];
    expect(base).toBeDefined();
    expect(printed).toContain("api_base_urls:");
    for (const id of ["kraken", "kucoin", "poloniex", "coingecko"]) expect(printed).toContain(`  ${id}: ${base}/${id}`);
    expect((await fetch(`${base}/binance/api/v3/ping`)).status).toBe(200);
    stop();
    await running;
    await expect(fetch(`${base}/binance/api/v3/ping`)).rejects.toThrow();
  });

  test("prints the usage for --help and serves nothing", async () => {
    let printed = "";
    await runSimulator(["--help"], { write: (t) => (printed += t) });
    expect(printed).toContain("Usage: cryptointellect simulate");
  });

  test("shares the service's accelerated clock when CRYPTOINTELLECT_TIME_WARP is set", async () => {
    let printed = "";
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    const startMs = Date.UTC(2024, 0, 1);
    const running = runSimulator(["--port", "0"], { write: (t) => (printed += t), until, env: { CRYPTOINTELLECT_TIME_WARP: `${Date.now()}:${startMs}:1` } });
    for (let i = 0; i < 100 && !printed.includes("coingecko:"); i++) await Bun.sleep(5);
    const base = /binance: (http:\/\/[^\s]+)\/binance/.exec(printed)![1];
    const { serverTime } = (await (await fetch(`${base}/binance/api/v3/time`)).json()) as { serverTime: number };
    expect(serverTime).toBeGreaterThanOrEqual(startMs);
    expect(serverTime).toBeLessThan(startMs + 60_000);
    stop();
    await running;
  });
});
