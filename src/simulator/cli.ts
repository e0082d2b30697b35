import { clockFromEnv, systemClock, type Clock } from "../clock.ts";
import { UsageError } from "../errors.ts";
import type { Faults } from "./faults.ts";
import { SIM_SERVICES, startSimulator, type SimServiceId } from "./server.ts";
import { SIM_EXCHANGE_IDS } from "./listings.ts";

/**
 * `cryptointellect simulate`: serves the simulator until SIGINT/SIGTERM and prints where each
 * exchange is, with an `api_base_urls:` block to paste into the config.
 */
export const SIMULATE_USAGE = `Usage: cryptointellect simulate [--port N] [--host H] [--public-host H] [--latency MIN-MAX] [--error-rate R] [--garbage-rate R] [--seed N]

Serves the public market-data endpoints of Binance, Kraken, KuCoin, Poloniex, OKX, Coinbase, Bybit and CoinGecko in
their real wire formats from deterministic synthetic data, for trying the pipeline offline.

  --port N            port to listen on (default 9700; 0 picks a free one)
  --host H            address to listen on (default 127.0.0.1; 0.0.0.0 in the Docker image, so that
                      other containers and the host can reach it)
  --public-host H     host name to print in the URLs (default: the --host address, or 127.0.0.1
                      when that is every interface), e.g. the container's name on a Docker network
  --latency MIN-MAX   delay every answer by MIN to MAX milliseconds (or a single number)
  --error-rate R      answer this share of requests (0 to 1) with a 5xx
  --garbage-rate R    answer this share with a 200 whose body is not JSON
  --seed N            seed of the synthetic data and of the faults (default 1)

With CRYPTOINTELLECT_TIME_WARP set, the simulator shares the service's accelerated clock.
`;

export const DEFAULT_SIMULATOR_PORT = 9700;

export interface SimulateArgs {
  help: boolean;
  port: number;
  host: string;
  /** The host put in the printed URLs, when not the one listened on. */
  publicHost?: string;
  seed: number | undefined;
  latencyMs: [number, number] | undefined;
  errorRate: number | undefined;
  garbageRate: number | undefined;
}

/** Parses the arguments after `simulate` (a leading `simulate` is skipped too). Throws UsageError. */
export function parseSimulateArgs(argv: readonly string[]): SimulateArgs {
  const args = argv[0] === "simulate" ? argv.slice(1) : [...argv];
  const out: SimulateArgs = { help: false, port: DEFAULT_SIMULATOR_PORT, host: "127.0.0.1", seed: undefined, latencyMs: undefined, errorRate: undefined, garbageRate: undefined };
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
      case "--public-host": {
        const host = value();
        if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) throw new UsageError(`simulate: ${flag} "${printable(host)}" is not a host name or address`);
        if (flag === "--host") out.host = host;
        else out.publicHost = host;
        break;
      }
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
      default:
        throw new UsageError(`simulate: unknown option "${printable(arg)}"; see cryptointellect simulate --help`);
    }
  }
  return out;
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
  const urls = {} as Record<SimServiceId, string>;
  for (const id of SIM_SERVICES) urls[id] = `http://${urlHost(host)}:${port}/${id}`;
  return urls;
}

/**
 * The banner: where each service is, and the config block pointing the pipeline at them. `listen`
 * (host and port listened on) adds where the URLs work when the simulator listens on every interface
 * and no public host was given.
 */
export function describeEndpoints(baseUrls: Record<SimServiceId, string>, listen?: { host: string; port: number; publicHost?: string }): string {
  const width = Math.max(...SIM_SERVICES.map((id) => id.length));
  const everywhere = listen !== undefined && EVERY_INTERFACE.has(listen.host);
  const lines = [
    `CryptoIntellect exchange simulator (synthetic data, real wire formats)${listen ? `, listening on ${urlHost(listen.host)}:${listen.port}${everywhere ? " (every interface)" : ""}` : ""}`,
    ...SIM_SERVICES.map((id) => `  ${id.padEnd(width)}  ${baseUrls[id]}`),
    "",
    "Point the service at it with (OKX, Coinbase and Bybit are collected through ccxt):",
    `exchanges: [${SIM_EXCHANGE_IDS.join(", ")}]`,
    "api_base_urls:",
    ...SIM_SERVICES.map((id) => `  ${id}: ${baseUrls[id]}`),
    "",
  ];
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
  return `http://${EVERY_INTERFACE.has(args.host) ? "127.0.0.1" : urlHost(args.host)}:${args.port}/_sim/stats`;
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
  let running: ReturnType<typeof startSimulator>;
  try {
    running = startSimulator({ port: args.port, hostname: args.host, clock, faults: perService, ...(args.seed === undefined ? {} : { seed: args.seed }) });
  } catch (error) {
    throw new Error(`simulate: cannot listen on ${args.host}:${args.port}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const baseUrls = args.publicHost === undefined ? running.baseUrls : simulatorBaseUrls(args.publicHost, running.port);
  write(describeEndpoints(baseUrls, { host: args.host, port: running.port, publicHost: args.publicHost }));
  await (options.until ?? untilSignal());
  await running.stop();
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
