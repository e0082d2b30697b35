import { closeSync, openSync, writeSync } from "node:fs";
import { clockFromEnv, systemClock, type Clock } from "../clock.ts";
import { UsageError } from "../errors.ts";
import type { Faults } from "./faults.ts";
import { serviceBaseUrls, SIM_SERVICES, startSimulator, type SimCandleRequest, type SimServiceId } from "./server.ts";
import { MAX_EXTRA_COINS } from "./extra-coins.ts";
import { SIM_EXCHANGE_IDS } from "./listings.ts";

/**
 * `cryptointellect simulate`: serves the simulator until SIGINT/SIGTERM and prints where each
 * exchange is, with an `api_base_urls:` block to paste into the config (one per address listened on).
 */
export const SIMULATE_USAGE = `Usage: cryptointellect simulate [--port N] [--host H[,H...]] [--public-host H] [--latency MIN-MAX] [--error-rate R] [--garbage-rate R] [--seed N] [--request-log FILE] [--extra-coins N]

Serves the public market-data endpoints of Binance, Kraken, KuCoin, Poloniex, OKX, Coinbase, Bybit and CoinGecko in
their real wire formats from deterministic synthetic data, for trying the pipeline offline.

  --port N            port to listen on (default 9700; 0 picks a free one)
  --host H            address to listen on (default 127.0.0.1; 0.0.0.0 in the Docker image, so that
                      other containers and the host can reach it). A comma-separated list, e.g.
                      127.0.0.11,127.0.0.12,127.0.0.13, listens on each address on the same port;
                      each address has its own rate limits, as an exchange keeps them per client
                      IP, and the same market data (give each instance of the service its own)
  --public-host H     host name to print in the URLs (default: the --host address, or 127.0.0.1
                      when that is every interface), e.g. the container's name on a Docker network;
                      only with a single --host address
  --latency MIN-MAX   delay every answer by MIN to MAX milliseconds (or a single number)
  --error-rate R      answer this share of requests (0 to 1) with a 5xx
  --garbage-rate R    answer this share with a 200 whose body is not JSON
  --seed N            seed of the synthetic data and of the faults (default 1)
  --request-log FILE  append one JSON line per candle request answered: exchange, symbol, interval,
                      startMs, endMs (the window as the request gave it; null when unbounded),
                      address, status, atMs (GET /_sim/requests?since=N lists them too)
  --extra-coins N     add N synthetic coins (0 to 5000, default 0), X0001 to XNNNN, ranked after
                      the real coins on CoinGecko and listed on Binance, Kraken, KuCoin and
                      Poloniex (REST and WebSocket), for benchmarks at 1,000 series per exchange;
                      GET /_sim/extra-coins lists their tickers

With CRYPTOINTELLECT_TIME_WARP set, the simulator shares the service's accelerated clock.
`;

export const DEFAULT_SIMULATOR_PORT = 9700;

export interface SimulateArgs {
  help: boolean;
  port: number;
  /** The addresses listened on (one port for all), each with its own rate limits. */
  hosts: string[];
  /** The host put in the printed URLs, when not the one listened on. */
  publicHost?: string;
  seed: number | undefined;
  latencyMs: [number, number] | undefined;
  errorRate: number | undefined;
  garbageRate: number | undefined;
  /** File each candle request is appended to, one JSON line each. */
  requestLog?: string;
  /** Synthetic coins to add (`--extra-coins`); absent means none. */
  extraCoins?: number;
}

/** Parses the arguments after `simulate` (a leading `simulate` is skipped too). Throws UsageError. */
export function parseSimulateArgs(argv: readonly string[]): SimulateArgs {
  const args = argv[0] === "simulate" ? argv.slice(1) : [...argv];
  const out: SimulateArgs = {
    help: false,
    port: DEFAULT_SIMULATOR_PORT,
    hosts: ["127.0.0.1"],
    seed: undefined,
    latencyMs: undefined,
    errorRate: undefined,
    garbageRate: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      out.help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`simulate: ${flag} needs a value; see cryptointellect simulate --help`);
      return next;
    };
    switch (flag) {
      case "--port": {
        const text = value();
        const port = Number(text);
        if (!/^[0-9]+$/.test(text) || port > 65535) throw new UsageError(`simulate: --port must be a whole number from 0 to 65535, not "${printable(text)}"`);
        out.port = port;
        break;
      }
      case "--host":
        out.hosts = parseHosts(value());
        break;
      case "--public-host":
        out.publicHost = checkHost(flag, value());
        break;
      case "--seed": {
        const text = value();
        if (!/^[0-9]{1,9}$/.test(text)) throw new UsageError(`simulate: --seed must be a whole number, not "${printable(text)}"`);
        out.seed = Number(text);
        break;
      }
      case "--latency":
        out.latencyMs = parseLatency(value());
        break;
      case "--error-rate":
        out.errorRate = parseRate(flag, value());
        break;
      case "--garbage-rate":
        out.garbageRate = parseRate(flag, value());
        break;
      case "--request-log": {
        const file = value();
        if (file === "") throw new UsageError("simulate: --request-log needs a file name");
        out.requestLog = file;
        break;
      }
      case "--extra-coins": {
        const text = value();
        if (!/^[0-9]{1,4}$/.test(text) || Number(text) > MAX_EXTRA_COINS) {
          throw new UsageError(`simulate: --extra-coins must be a whole number from 0 to ${MAX_EXTRA_COINS}, not "${printable(text)}"`);
        }
        out.extraCoins = Number(text);
        break;
      }
      default:
        throw new UsageError(`simulate: unknown option "${printable(arg)}"; see cryptointellect simulate --help`);
    }
  }
  if (out.publicHost !== undefined && out.hosts.length > 1) {
    throw new UsageError(`simulate: --public-host goes with a single --host address, not ${out.hosts.length} (${printable(out.hosts.join(","))})`);
  }
  return out;
}

function checkHost(flag: string, host: string): string {
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) throw new UsageError(`simulate: ${flag} "${printable(host)}" is not a host name or address`);
  return host;
}

/** `--host A[,B...]`: distinct addresses; every interface (0.0.0.0) only alone, as it holds the port on all of them. */
function parseHosts(text: string): string[] {
  const hosts = text.split(",").map((host) => checkHost("--host", host));
  for (const [i, host] of hosts.entries()) {
    if (hosts.indexOf(host) !== i) throw new UsageError(`simulate: --host lists "${printable(host)}" twice`);
    if (hosts.length > 1 && EVERY_INTERFACE.has(host)) throw new UsageError(`simulate: --host "${printable(host)}" is every interface and cannot be listed with other addresses`);
  }
  return hosts;
}

function parseLatency(text: string): [number, number] {
  const match = /^([0-9]+)(?:-([0-9]+))?$/.exec(text);
  if (!match) throw new UsageError(`simulate: --latency must be MIN-MAX milliseconds (e.g. 20-200) or one number, not "${printable(text)}"`);
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  if (max < min) throw new UsageError(`simulate: --latency ${min}-${max}: the maximum is below the minimum`);
  return [min, max];
}

function parseRate(flag: string, text: string): number {
  const rate = Number(text);
  if (!/^[0-9]*\.?[0-9]+$/.test(text) || rate > 1) throw new UsageError(`simulate: ${flag} must be a number from 0 to 1, not "${printable(text)}"`);
  return rate;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 40);
}

const EVERY_INTERFACE = new Set(["0.0.0.0", "::", "[::]"]);

function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** Each service's base URL with `host` in it (for the banner and `api_base_urls`). */
export function simulatorBaseUrls(host: string, port: number): Record<SimServiceId, string> {
  return serviceBaseUrls(`http://${urlHost(host)}:${port}`);
}

/**
 * The banner: where each service is on each address (`sites`, one set of base URLs per address), and
 * the config blocks pointing the pipeline at them. `listen` (hosts and port listened on) adds where
 * the URLs work when the simulator listens on every interface and no public host was given.
 */
export function describeEndpoints(sites: readonly Record<SimServiceId, string>[], listen?: { hosts: readonly string[]; port: number; publicHost?: string }): string {
  const width = Math.max(...SIM_SERVICES.map((id) => id.length));
  const everywhere = listen !== undefined && listen.hosts.length === 1 && EVERY_INTERFACE.has(listen.hosts[0]!);
  const several = sites.length > 1;
  const lines = [
    `CryptoIntellect exchange simulator (synthetic data, real wire formats)${listen ? `, listening on ${listen.hosts.map((h) => `${urlHost(h)}:${listen.port}`).join(", ")}${everywhere ? " (every interface)" : ""}` : ""}`,
  ];
  if (several) lines.push("Each address has its own rate limits (as an exchange keeps them per client IP) and the same market data.");
  for (const [i, baseUrls] of sites.entries()) {
    if (i > 0) lines.push("");
    lines.push(...SIM_SERVICES.map((id) => `  ${id.padEnd(width)}  ${baseUrls[id]}`));
  }
  lines.push(
    "",
    `Point the service at it with (OKX, Coinbase and Bybit are collected through ccxt)${several ? ", one block per instance of the service" : ""}:`,
    `exchanges: [${SIM_EXCHANGE_IDS.join(", ")}]`,
  );
  for (const baseUrls of sites) lines.push("api_base_urls:", ...SIM_SERVICES.map((id) => `  ${id}: ${baseUrls[id]}`), "");
  if (everywhere && listen.publicHost === undefined) {
    lines.push(
      `127.0.0.1 reaches it from this machine, and in Docker from a container sharing its network`,
      `(docker run --network container:NAME) or from the host when published (-p ${listen.port}:${listen.port}).`,
      `From anywhere else, use this machine's or container's name instead (--public-host NAME prints it above).`,
      "",
    );
  }
  lines.push("Press Ctrl+C to stop.");
  return lines.join("\n") + "\n";
}

/**
 * What `healthcheck` probes in a container whose main process is the simulator (`argv`: PID 1's
 * command line, `cryptointellect simulate …`): the simulator's own stats route, which no injected
 * fault touches. Undefined for any other process, or a port picked at random.
 */
export function simulatorHealthUrl(argv: readonly string[]): string | undefined {
  if (argv.length < 2 || !/(^|\/)cryptointellect$/.test(argv[0]!) || argv[1] !== "simulate") return undefined;
  let args: SimulateArgs;
  try {
    args = parseSimulateArgs(argv.slice(1));
  } catch {
    return undefined;
  }
  if (args.port === 0) return undefined;
  const host = args.hosts[0]!;
  return `http://${EVERY_INTERFACE.has(host) ? "127.0.0.1" : urlHost(host)}:${args.port}/_sim/stats`;
}

export interface RunSimulatorOptions {
  env?: Record<string, string | undefined>;
  write?: (text: string) => void;
  /** Resolves when the simulator should stop; by default on SIGINT or SIGTERM. */
  until?: Promise<unknown>;
}

/** Runs `cryptointellect simulate`: serves until told to stop. Bad arguments throw UsageError (exit 2). */
export async function runSimulator(argv: readonly string[], options: RunSimulatorOptions = {}): Promise<void> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const args = parseSimulateArgs(argv);
  if (args.help) {
    write(SIMULATE_USAGE);
    return;
  }
  const env = options.env ?? process.env;
  const clock: Clock = clockFromEnv(env.CRYPTOINTELLECT_TIME_WARP) ?? systemClock;
  const faults: Faults = {};
  if (args.latencyMs) faults.latencyMs = args.latencyMs;
  if (args.errorRate !== undefined) faults.errorRate = args.errorRate;
  if (args.garbageRate !== undefined) faults.garbageRate = args.garbageRate;
  const perService: Partial<Record<SimServiceId, Faults>> = {};
  for (const id of SIM_SERVICES) perService[id] = { ...faults };
  const requestLog = args.requestLog === undefined ? undefined : openRequestLog(args.requestLog);
  let running: ReturnType<typeof startSimulator>;
  try {
    running = startSimulator({
      port: args.port,
      hostnames: args.hosts,
      clock,
      faults: perService,
      ...(args.seed === undefined ? {} : { seed: args.seed }),
      ...(args.extraCoins === undefined ? {} : { extraCoins: args.extraCoins }),
      ...(requestLog === undefined ? {} : { onCandleRequest: requestLog.append }),
    });
  } catch (error) {
    requestLog?.close();
    const where = args.hosts.map((host) => `${host}:${args.port}`).join(", ");
    throw new Error(`simulate: cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const sites = args.publicHost === undefined ? running.urls.map(serviceBaseUrls) : [simulatorBaseUrls(args.publicHost, running.port)];
  write(describeEndpoints(sites, { hosts: args.hosts, port: running.port, publicHost: args.publicHost }));
  await (options.until ?? untilSignal());
  await running.stop();
  requestLog?.close();
}

/** The request log file, opened for appending (created if missing): one JSON line per candle request. */
function openRequestLog(file: string): { append(entry: SimCandleRequest): void; close(): void } {
  let fd: number | undefined;
  try {
    fd = openSync(file, "a");
  } catch (error) {
    throw new Error(`simulate: cannot open the request log ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return {
    // A request held open by a timeout fault may finish after the close: it is not written.
    append: (entry) => {
      if (fd !== undefined) writeSync(fd, `${JSON.stringify(entry)}\n`);
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(signal);
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}
