/**
 * The simulator as the Docker image runs it: listening on every interface, printing URLs that work,
 * and known to the image's HEALTHCHECK (scripts/docker-test.sh checks the same on a real engine).
 */
import { describe, expect, test } from "bun:test";
import { runSimulator, simulatorHealthUrl } from "../../src/simulator/cli.ts";

/** Runs `simulate argv` until its banner is printed, fetches `path` from it, and stops it. */
async function banner(argv: string[], path = "/binance/api/v3/ping"): Promise<{ printed: string; status: number }> {
  let printed = "";
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const running = runSimulator(["--port", "0", ...argv], { write: (t) => (printed += t), until, env: {} });
  for (let i = 0; i < 200 && !printed.includes("Ctrl+C"); i++) await Bun.sleep(5);
  const port = /listening on \S+:(\d+)/.exec(printed)?.[1];
  const status = (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  stop();
  await running;
  return { printed, status };
}

describe("simulate in a container", () => {
  test("on every interface it says so and where its 127.0.0.1 URLs work", async () => {
    const { printed, status } = await banner(["--host", "0.0.0.0"]);
    expect(status).toBe(200);
    expect(printed).toMatch(/listening on 0\.0\.0\.0:\d+ \(every interface\)/);
    expect(printed).toMatch(/ {2}binance: http:\/\/127\.0\.0\.1:\d+\/binance/);
    expect(printed).toContain("--network container:NAME");
    expect(printed).toContain("--public-host NAME");
  });

  test("--public-host puts the name other containers know it by into every URL", async () => {
    const { printed } = await banner(["--host", "0.0.0.0", "--public-host", "cryptointellect-sim"]);
    for (const id of ["binance", "kraken", "kucoin", "poloniex", "okx", "coinbase", "bybit", "coingecko"]) {
      expect(printed).toMatch(new RegExp(`  ${id}: http://cryptointellect-sim:\\d+/${id}\\n`));
    }
    expect(printed).not.toContain("127.0.0.1");
  });

  test("bound to one address, it prints that address", async () => {
    const { printed } = await banner(["--host", "127.0.0.1"]);
    expect(printed).toMatch(/ {2}kraken: http:\/\/127\.0\.0\.1:\d+\/kraken/);
    expect(printed).not.toContain("every interface");
  });

  test("the simulator's health route answers 200 whatever faults are injected", async () => {
    const { status } = await banner(["--error-rate", "1"], "/_sim/stats");
    expect(status).toBe(200);
  });

  test.each([
    [["/usr/local/bin/cryptointellect", "simulate", "--host", "0.0.0.0"], "http://127.0.0.1:9700/_sim/stats"],
    [["/usr/local/bin/cryptointellect", "simulate", "--host", "0.0.0.0", "--port", "9800"], "http://127.0.0.1:9800/_sim/stats"],
    [["cryptointellect", "simulate", "--port=9801", "--host", "10.1.2.3"], "http://10.1.2.3:9801/_sim/stats"],
    [["/usr/local/bin/cryptointellect", "simulate", "--host", "::"], "http://127.0.0.1:9700/_sim/stats"],
    [["/usr/local/bin/cryptointellect", "run"], undefined],
    [["/usr/local/bin/cryptointellect"], undefined],
    [["/sbin/init"], undefined],
    [["/usr/local/bin/cryptointellect", "simulate", "--port", "0"], undefined],
    [["/usr/local/bin/cryptointellect", "simulate", "--bogus"], undefined],
  ])("the HEALTHCHECK, with process 1 being %p, probes %p", (argv, url) => {
    expect(simulatorHealthUrl(argv)).toBe(url);
  });
});
