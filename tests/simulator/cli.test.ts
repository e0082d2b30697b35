import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import { DEFAULT_SIMULATOR_PORT, parseSimulateArgs, runSimulator } from "../../src/simulator/cli.ts";

describe("simulator cli", () => {
  test("defaults to 127.0.0.1:9700 without faults", () => {
    expect(parseSimulateArgs([])).toEqual({
      help: false,
      port: DEFAULT_SIMULATOR_PORT,
      hosts: ["127.0.0.1"],
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
      hosts: ["0.0.0.0"],
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

  test("--host takes a comma-separated list of addresses; --request-log a file", () => {
    const args = parseSimulateArgs(["--host", "127.0.0.11,127.0.0.12,127.0.0.13", "--request-log", "requests.jsonl"]);
    expect(args.hosts).toEqual(["127.0.0.11", "127.0.0.12", "127.0.0.13"]);
    expect(args.requestLog).toBe("requests.jsonl");
    expect(parseSimulateArgs(["--host=::1"]).hosts).toEqual(["::1"]);
  });

  test.each([
    [["--host", "127.0.0.11,,127.0.0.12"], '""'],
    [["--host", "127.0.0.11,bad host"], '"bad host"'],
    [["--host", "127.0.0.11,127.0.0.11"], '"127.0.0.11" twice'],
    [["--host", "0.0.0.0,127.0.0.11"], '"0.0.0.0"'],
    [["--host", "127.0.0.11,127.0.0.12", "--public-host", "sim"], "127.0.0.11,127.0.0.12"],
    [["--request-log="], "--request-log"],
  ])("rejects %p naming %s", (argv, named) => {
    expect(() => parseSimulateArgs(argv)).toThrow(UsageError);
    expect(() => parseSimulateArgs(argv)).toThrow(named);
  });

  test("--help tells of several addresses and the request log", async () => {
    let printed = "";
    await runSimulator(["--help"], { write: (t) => (printed += t) });
    expect(printed).toContain("--host H[,H...]");
    expect(printed).toContain("its own rate limits");
    expect(printed).toContain("--request-log FILE");
  });

  test("on several addresses it prints each one's URLs and api_base_urls block, and serves on each", async () => {
    let printed = "";
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    const running = runSimulator(["--port", "0", "--host", "127.0.0.11,127.0.0.12"], { write: (t) => (printed += t), until, env: {} });
    for (let i = 0; i < 200 && !printed.includes("Ctrl+C"); i++) await Bun.sleep(5);
    const port = /listening on 127\.0\.0\.11:(\d+), 127\.0\.0\.12:(\d+)/.exec(printed);
    expect(port?.[1]).toBe(port?.[2]);
    for (const host of ["127.0.0.11", "127.0.0.12"]) {
      expect(printed).toContain(`  binance    http://${host}:${port![1]}/binance\n`);
      expect(printed).toContain(`api_base_urls:\n  binance: http://${host}:${port![1]}/binance\n`);
      expect((await fetch(`http://${host}:${port![1]}/kraken/0/public/Time`)).status).toBe(200);
    }
    expect(printed.match(/api_base_urls:/g)).toHaveLength(2);
    stop();
    await running;
  });

  test("as a process on two addresses, --request-log appends one JSON line per candle request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-request-log-"));
    const file = join(dir, "requests.jsonl");
    const root = join(import.meta.dir, "..", "..");
    const proc = Bun.spawn(["bun", join(root, "src", "main.ts"), "simulate", "--host", "127.0.0.11,127.0.0.12", "--port", "0", "--request-log", file], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = proc.stdout.getReader();
      let banner = "";
      while (!banner.includes("Ctrl+C")) {
        const next = await reader.read();
        if (next.done) throw new Error(`the simulator did not start: ${banner} ${await new Response(proc.stderr).text()}`);
        banner += new TextDecoder().decode(next.value);
      }
      const port = /127\.0\.0\.12:(\d+)/.exec(banner)![1];
      const start = Date.UTC(2024, 0, 1);
      await fetch(`http://127.0.0.11:${port}/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${start}&limit=2`);
      await fetch(`http://127.0.0.12:${port}/kucoin/api/v1/market/candles?symbol=ETH-USDT&type=5min&startAt=${start / 1000}&endAt=${start / 1000 + 600}`);
      await fetch(`http://127.0.0.12:${port}/binance/api/v3/exchangeInfo`);
      const lines = readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(lines).toEqual([
        { exchange: "binance", symbol: "BTCUSDT", interval: "1m", startMs: start, endMs: null, address: "127.0.0.11", status: 200, atMs: expect.any(Number) },
        { exchange: "kucoin", symbol: "ETH-USDT", interval: "5min", startMs: start, endMs: start + 600_000, address: "127.0.0.12", status: 200, atMs: expect.any(Number) },
      ]);
      expect(await (await fetch(`http://127.0.0.11:${port}/_sim/requests?since=1`)).json()).toEqual([lines[1]]);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(proc.exitCode).toBe(0);
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
