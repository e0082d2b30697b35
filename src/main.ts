#!/usr/bin/env bun
/**
 * The composition root: reads argv and the environment, builds the runtime once, owns signals and
 * shutdown, and maps errors to exit codes (0 success, 1 runtime failure, 2 bad usage or config).
 */
// First: catch SIGTERM/SIGINT before anything else loads (see the module).
import { readFileSync } from "node:fs";
import { exchangeRows, renderExchangeTable } from "./exchanges/catalog-table.ts";
import { stopSignal, stopSignalName } from "./cli/stop-signal.ts";
import { checkClusterExchanges, executeBackfill, executeClusterBackfill, parseBackfillArgs, selectBackfill } from "./cli/backfill-command.ts";
import { createBackfillWatch } from "./cluster/backfill-jobs.ts";
import { createCoordinator } from "./cluster/coordinator.ts";
import { clockFromEnv, systemClock } from "./clock.ts";
import { COMMAND_HELP, parseCommandLine, USAGE } from "./cli/args.ts";
import { type Config, configPath, configSecrets, DEFAULT_SQLITE_URL, loadConfig, renderConfig, type Env } from "./config/config.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { redactDatabaseUrl } from "./db/url.ts";
import { createLogger } from "./telemetry/log.ts";
import { ConfigError, describeError, UsageError } from "./errors.ts";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Server } from "bun";
import { MAX_REQUEST_BODY_BYTES } from "./server/app.ts";
import { createCoingeckoClient, createRuntime, type Runtime } from "./collector/runtime.ts";
import { createMetrics } from "./telemetry/metrics.ts";
import { runSimulator, SIMULATE_USAGE, simulatorHealthUrl } from "./simulator/cli.ts";
import { VERSION_LINE } from "./cli/version.ts";
import { runExport } from "./cli/export.ts";
import { CLUSTER_USAGE, parseClusterArgs, readClusterStatus, renderClusterStatus } from "./cli/cluster-command.ts";

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export async function main(argv: readonly string[], env: Env = process.env, io: Io = defaultIo): Promise<number> {
  try {
    const command = parseCommandLine(argv);
    switch (command.name) {
      case "version":
        io.out(VERSION_LINE + "\n");
        return 0;
      case "help":
        io.out(
          command.topic === "simulate"
            ? SIMULATE_USAGE
            : command.topic === "cluster"
              ? CLUSTER_USAGE
              : command.topic && COMMAND_HELP[command.topic]
                ? COMMAND_HELP[command.topic]!
                : USAGE,
        );
        return 0;
      case "simulate":
        await runSimulator(command.args);
        return 0;
      case "config": {
        const config = await loadConfig(configPath(command.configFlag, env), env);
        io.out(renderConfig(config));
        return 0;
      }
      case "exchanges":
        io.out(renderExchangeTable(exchangeRows({ nativeOnly: command.nativeOnly })));
        return 0;
      case "healthcheck":
        return await healthcheck(command, env, io);
      case "backfill":
        return await backfill(command.args, await loadConfig(configPath(command.configFlag, env), env), io, env);
      case "cluster": {
        const { json } = parseClusterArgs(command.args);
        const status = await readClusterStatus(await loadConfig(configPath(command.configFlag, env), env), clockFromEnv(env.CRYPTOINTELLECT_TIME_WARP) ?? systemClock);
        io.out(json ? `${JSON.stringify(status, null, 2)}\n` : renderClusterStatus(status));
        return 0;
      }
      case "export": {
        const config = await loadConfig(configPath(command.configFlag, env), env);
        return await runExport(config, command.args, { err: io.err, logger: createLogger({ secrets: configSecrets(config), level: "warn" }), signal: stopSignal });
      }
      case "migrate": {
        const config = await loadConfig(configPath(command.configFlag, env), env);
        // The configured connection, even with save_to_database off; without one, the SQLite default.
        const url = config.databaseUrl ?? config.databaseConnection ?? DEFAULT_SQLITE_URL;
        const logger = createLogger({ secrets: configSecrets({ ...config, databaseUrl: url }) });
        await migrateDatabase(url, logger, url === config.databaseUrl || url === config.databaseConnection ? config.database : undefined);
        io.out(`migrated ${redactDatabaseUrl(url)}\n`);
        return 0;
      }
      case "once":
      case "run": {
        const path = configPath(command.configFlag, env);
        return await serve(command.name, await loadConfig(path, env), path ?? "defaults", io, env);
      }
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      io.err(`cryptointellect: ${error.message}\n`);
      return 2;
    }
    io.err(`cryptointellect: ${describeError(error)}\n`);
    return 1;
  }
}

/**
 * Opens the runtime's sinks, runs `work` with a signal that SIGTERM and SIGINT abort, and closes the
 * runtime afterwards. A sink that cannot be opened (database unreachable, CSV folder unusable) is
 * exit 1 with the reason.
 */
async function withRuntime(runtime: Runtime, io: Io, stopping: string, work: (signal: AbortSignal) => Promise<number>): Promise<number> {
  try {
    await runtime.open();
  } catch (error) {
    io.err(`cryptointellect: cannot start: ${describeError(error)}\n`);
    await runtime.close();
    return 1;
  }
  const announce = () => runtime.logger.info(stopping, { signal: stopSignalName() });
  if (stopSignal.aborted) announce();
  else stopSignal.addEventListener("abort", announce, { once: true });
  try {
    return await work(stopSignal);
  } finally {
    await runtime.close();
  }
}

async function serve(mode: "run" | "once", config: Config, source: string, io: Io, env: Env): Promise<number> {
  const runtime = createRuntime(config, { clock: clockFromEnv(env.CRYPTOINTELLECT_TIME_WARP) });
  // The HTTP endpoint is bound before any sink is opened: a host or port it cannot listen on is
  // refused with nothing created (no CSV folder, no database).
  let server: Server<undefined> | undefined;
  if (mode === "run" && config.http.enabled) {
    const bound = await listen(config.http, runtime.app.fetch, source);
    if (!bound.ok) {
      io.err(`cryptointellect: cannot start: ${bound.error}\n`);
      return 1;
    }
    server = bound.server;
  }
  const stopServer = async () => {
    const running = server;
    server = undefined;
    await running?.stop(true);
  };
  try {
    return await withRuntime(runtime, io, "stopping: abandoning fetches in flight, finishing writes", async (signal) => {
      if (mode === "once") {
        const report = await runtime.service.tick(runtime.clock.now(), signal);
        const failed = report.reports.filter((r) => r.seriesFailed > 0 || Object.values(r.sinks).some((s) => !s.ok));
        const missing = config.exchanges.filter((e) => !report.reports.some((r) => r.exchange === e));
        const why = signal.aborted ? `stopped by ${stopSignalName() ?? "a signal"} first` : "its market listing could not be loaded";
        for (const e of missing) io.err(`cryptointellect: ${e}: no cycle ran (${why})\n`);
        return failed.length > 0 || missing.length > 0 ? 1 : 0;
      }
      runtime.logger.info("service started", {
        version: VERSION_LINE,
        http: server ? `${server.hostname}:${server.port}` : "off (http.enabled: false)",
        exchanges: config.exchanges.join(","),
        interval: `${config.bucketIntervalMinutes}m`,
      });
      await runtime.runLoop(signal);
      await stopServer();
      runtime.logger.info("stopped cleanly");
      return 0;
    });
  } finally {
    await stopServer();
  }
}

/**
 * Binds the HTTP endpoint. A host that does not resolve or is not an address of this machine is the
 * config's fault (a ConfigError naming `http.host`: exit 2); a port that is taken or needs privileges
 * is the machine's (an error text: exit 1).
 */
async function listen(
  http: Config["http"],
  fetch: (request: Request) => Response | Promise<Response>,
  source: string,
): Promise<{ ok: true; server: Server<undefined> } | { ok: false; error: string }> {
  const where = `${isIP(http.host) === 6 ? `[${http.host}]` : http.host}:${http.port}`;
  const hostIssue = (message: string) => new ConfigError(source, [{ path: "http.host", message }]);
  if (isIP(http.host) === 0) {
    // Bun's own message for a name that does not resolve blames the port ("Is port 8080 in use?").
    try {
      await lookup(http.host);
    } catch (error) {
      throw hostIssue(`cannot listen on ${JSON.stringify(http.host)}: the name does not resolve (${errorCode(error) ?? "lookup failed"})`);
    }
  }
  try {
    return { ok: true, server: Bun.serve({ hostname: http.host, port: http.port, maxRequestBodySize: MAX_REQUEST_BODY_BYTES, fetch }) };
  } catch (error) {
    const code = errorCode(error);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "ENOTCONN")
      throw hostIssue(`cannot listen on ${JSON.stringify(http.host)}: not an address of this machine (${code})`);
    if (code === "EADDRINUSE") return { ok: false, error: `cannot listen on ${where}: port ${http.port} is in use by another program (set http.port)` };
    if (code === "EACCES") return { ok: false, error: `cannot listen on ${where}: permission denied (ports below 1024 need privileges; set http.port)` };
    return { ok: false, error: `cannot listen on ${where}: ${describeError(error)}` };
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

async function backfill(argv: string[], config: Config, io: Io, env: Env): Promise<number> {
  const clock = clockFromEnv(env.CRYPTOINTELLECT_TIME_WARP) ?? systemClock;
  const args = parseBackfillArgs(argv, clock.now());
  // Unknown coins are refused before anything is fetched from an exchange (only CoinGecko is asked).
  const logger = createLogger({ secrets: configSecrets(config) });
  const coingecko = createCoingeckoClient(config, { fetch: (input, init) => fetch(input, init), clock, logger, metrics: createMetrics() });
  const clusterUrl = config.cluster.enabled ? config.cluster.databaseUrl : undefined;
  if (clusterUrl) checkClusterExchanges(config, args);
  const selected = await selectBackfill(config, args, { logger, coingecko });
  if (clusterUrl) {
    // Against a cluster the instances fetch: this process reads listings and the store, enqueues
    // jobs and follows them; it writes no CSV and does not join as an instance.
    const runtime = createRuntime({ ...selected, saveToCsv: false, cluster: { ...selected.cluster, enabled: false } }, { clock });
    const coordinator = createCoordinator({
      url: clusterUrl,
      instance: `${config.cluster.instance}-backfill`,
      ipGroup: config.cluster.ipGroup,
      bucketMinutes: config.bucketIntervalMinutes,
      clock,
      logger: runtime.logger,
      member: false,
    });
    const watch = createBackfillWatch(clusterUrl);
    return withRuntime(runtime, io, "stopped waiting for the backfill jobs: they stay queued for the instances", async (signal) => {
      try {
        return await executeClusterBackfill(runtime, args, { coordinator, watch, sleep: systemClock.sleep, err: io.err }, signal, io.out, Boolean(process.stderr.isTTY));
      } finally {
        await coordinator.stop();
        await watch.close();
      }
    });
  }
  const runtime = createRuntime(selected, { clock });
  return withRuntime(runtime, io, "stopping the backfill: run the same command again to continue", (signal) =>
    executeBackfill(runtime, args, signal, io.out, Boolean(process.stderr.isTTY)),
  );
}

async function healthcheck(command: { url?: string; configFlag?: string; timeoutMs: number }, env: Env, io: Io): Promise<number> {
  // In a container running the simulator (the image's HEALTHCHECK cannot tell), probe the simulator.
  const simulatorUrl = command.url || command.configFlag ? undefined : simulatorHealthUrl(mainProcessArgv());
  let url = command.url ?? simulatorUrl;
  if (!url) {
    const path = configPath(command.configFlag, env);
    let port = 8080;
    if (path) port = (await loadConfig(path, env)).http.port;
    url = `http://127.0.0.1:${port}/health`;
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(command.timeoutMs) });
    const body = (await response.json().catch(() => ({}))) as { status?: string };
    io.out(`${response.status} ${body.status ?? (simulatorUrl ? "simulator" : "unknown")}\n`);
    return response.status === 200 ? 0 : 1;
  } catch (error) {
    io.err(`cryptointellect: healthcheck: ${url}: ${describeError(error)}\n`);
    return 1;
  }
}

/** The command line of process 1: in a container, its main process; elsewhere init (or nothing). */
function mainProcessArgv(): string[] {
  try {
    return readFileSync("/proc/1/cmdline", "utf8")
      .split("\0")
      .filter((arg) => arg !== "");
  } catch {
    return [];
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
