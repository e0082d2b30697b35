#!/usr/bin/env bun
/**
 * The composition root: reads argv and the environment, builds the runtime once, owns signals and
 * shutdown, and maps errors to exit codes (0 success, 1 runtime failure, 2 bad usage or config).
 */
// First: catch SIGTERM/SIGINT before anything else loads (see the module).
import { exchangeRows, renderExchangeTable } from "./exchanges/catalog-table.ts";
import { stopSignal, stopSignalName } from "./cli/stop-signal.ts";
import { executeBackfill, parseBackfillArgs, selectBackfill } from "./cli/backfill-command.ts";
import { clockFromEnv, systemClock } from "./clock.ts";
import { COMMAND_HELP, parseCommandLine, USAGE } from "./cli/args.ts";
import { type Config, configPath, configSecrets, DEFAULT_SQLITE_URL, loadConfig, renderConfig, type Env } from "./config/config.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { redactDatabaseUrl } from "./db/url.ts";
import { createLogger } from "./telemetry/log.ts";
import { ConfigError, describeError, UsageError } from "./errors.ts";
import { MAX_REQUEST_BODY_BYTES } from "./server/app.ts";
import { createRuntime, type Runtime } from "./collector/runtime.ts";
import { runSimulator, SIMULATE_USAGE } from "./simulator/cli.ts";
import { VERSION_LINE } from "./cli/version.ts";

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
        io.out(command.topic === "simulate" ? SIMULATE_USAGE : command.topic && COMMAND_HELP[command.topic] ? COMMAND_HELP[command.topic]! : USAGE);
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
      case "migrate": {
        const config = await loadConfig(configPath(command.configFlag, env), env);
        const url = config.databaseUrl ?? DEFAULT_SQLITE_URL;
        const logger = createLogger({ secrets: configSecrets({ ...config, databaseUrl: url }) });
        await migrateDatabase(url, logger);
        io.out(`migrated ${redactDatabaseUrl(url)}\n`);
        return 0;
      }
      case "once":
      case "run":
        return await serve(command.name, await loadConfig(configPath(command.configFlag, env), env), io, env);
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

async function serve(mode: "run" | "once", config: Config, io: Io, env: Env): Promise<number> {
  const runtime = createRuntime(config, { clock: clockFromEnv(env.CRYPTOINTELLECT_TIME_WARP) });
  return withRuntime(runtime, io, "stopping: abandoning fetches in flight, finishing writes", async (signal) => {
    if (mode === "once") {
      const report = await runtime.service.tick(runtime.clock.now(), signal);
      const failed = report.reports.filter((r) => r.seriesFailed > 0 || Object.values(r.sinks).some((s) => !s.ok));
      const missing = config.exchanges.filter((e) => !report.reports.some((r) => r.exchange === e));
      for (const e of missing) io.err(`cryptointellect: ${e}: no cycle ran (its market listing could not be loaded)\n`);
      return failed.length > 0 || missing.length > 0 ? 1 : 0;
    }
    const server = Bun.serve({
      hostname: config.http.host,
      port: config.http.port,
      maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
      fetch: runtime.app.fetch,
    });
    runtime.logger.info("service started", { version: VERSION_LINE, http: `${server.hostname}:${server.port}`, exchanges: config.exchanges.join(","), interval: `${config.bucketIntervalMinutes}m` });
    await runtime.runLoop(signal);
    await server.stop(true);
    runtime.logger.info("stopped cleanly");
    return 0;
  });
}

async function backfill(argv: string[], config: Config, io: Io, env: Env): Promise<number> {
  const clock = clockFromEnv(env.CRYPTOINTELLECT_TIME_WARP) ?? systemClock;
  const args = parseBackfillArgs(argv, clock.now());
  // Unknown coins are refused before anything is fetched from an exchange.
  const selected = await selectBackfill(config, args, createRuntime(config, { clock, sinks: [] }));
  const runtime = createRuntime(selected, { clock });
  return withRuntime(runtime, io, "stopping the backfill: run the same command again to continue", (signal) =>
    executeBackfill(runtime, args, signal, io.out, Boolean(process.stderr.isTTY)),
  );
}

async function healthcheck(command: { url?: string; configFlag?: string; timeoutMs: number }, env: Env, io: Io): Promise<number> {
  let url = command.url;
  if (!url) {
    const path = configPath(command.configFlag, env);
    let port = 8080;
    if (path) port = (await loadConfig(path, env)).http.port;
    url = `http://127.0.0.1:${port}/health`;
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(command.timeoutMs) });
    const body = (await response.json().catch(() => ({}))) as { status?: string };
    io.out(`${response.status} ${body.status ?? "unknown"}\n`);
    return response.status === 200 ? 0 : 1;
  } catch (error) {
    io.err(`cryptointellect: healthcheck: ${url}: ${describeError(error)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}

