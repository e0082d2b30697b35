/**
 * The composition root's body: builds clock, fetch, HTTP clients, sinks, service, health and the
 * HTTP app from a config, once, with every part injectable so tests can run it in-process.
 */
import { type Clock, systemClock } from "../clock.ts";
import { COINGECKO_BUDGET } from "../coins/coingecko.ts";
import { type Config, configSecrets } from "../config/config.ts";
import { ConfigError, describeError } from "../errors.ts";
import type { ExchangeId } from "../domain/candle.ts";
import { createCcxtAdapter } from "../exchanges/ccxt.ts";
import { brandName } from "../exchanges/ccxt-catalog.ts";
import { isNativeExchange, NATIVE_EXCHANGES } from "../exchanges/index.ts";
import { recordExchangeName } from "../exchanges/names.ts";
import { createCcxtClient, openCcxtExchange } from "../http/ccxt-client.ts";
import type { ExchangeAdapter } from "../exchanges/types.ts";
import { createHealthTracker, type HealthTracker } from "./health.ts";
import { createLiveStreams, type LiveStreams } from "./live-streams.ts";
import { createExchangeClient, type ExchangeClient, type FetchFn } from "../http/client.ts";
import { createLogger, type Logger } from "../telemetry/log.ts";
import { createMetrics, type Metrics } from "../telemetry/metrics.ts";
import { runScheduler } from "./schedule.ts";
import { createApp } from "../server/app.ts";
import { createApiRoutes } from "../server/api.ts";
import { createCycleLog } from "../query/last-cycles.ts";
import { createCandleSource } from "../query/source.ts";
import { createService, type Service } from "./service.ts";
import { computeMetadataStats } from "../domain/metadata.ts";
import { createMetadataRoutes } from "../server/metadata.ts";
import { createCsvSink } from "../sinks/csv.ts";
import { createDatabaseSink, type DatabaseSink } from "../sinks/database.ts";
import type { CandleSink } from "../sinks/types.ts";
import type { Hono } from "hono";
import { type Coordinator, createCoordinator } from "../cluster/coordinator.ts";
import { planShards } from "../cluster/shards.ts";
import { type BackfillJob, backfillExpireSeconds, backfillQueueName, backfillQueueWork } from "../cluster/backfill-jobs.ts";
import { withPositionsOf } from "../sinks/intercept.ts";
import { nextCycleAt } from "./schedule.ts";

export interface RuntimeOverrides {
  clock?: Clock;
  fetch?: FetchFn;
  logger?: Logger;
  random?: () => number;
  /** Replaces the sinks built from the config (tests). */
  sinks?: CandleSink[];
  /** Per-request timeout, attempts and backoff of the exchange clients. */
  http?: { timeoutMs?: number; maxAttempts?: number; backoff?: { baseMs: number; capMs: number } };
}

export interface Runtime {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  health: HealthTracker;
  sinks: CandleSink[];
  clients: Map<ExchangeId, ExchangeClient>;
  coingecko: ExchangeClient;
  adapters: ExchangeAdapter[];
  service: Service;
  /** The stream side of `live_source: websocket`; undefined in REST mode. */
  live: LiveStreams | undefined;
  /** Cluster mode's link to the other instances; undefined when alone. */
  coordinator: Coordinator | undefined;
  app: Hono;
  /** Opens every sink; throws (DatabaseError, SinkError) when one cannot be used. */
  open(): Promise<void>;
  /** A tick now, then one at every bucket boundary + settle, until the signal aborts. */
  runLoop(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The CoinGecko client on its own: what resolving coin names needs, without a whole runtime. */
export function createCoingeckoClient(
  config: Pick<Config, "apiBaseUrls">,
  options: Pick<Parameters<typeof createExchangeClient>[0], "fetch" | "clock" | "logger" | "metrics" | "random" | "timeoutMs" | "backoff">,
): ExchangeClient {
  return createExchangeClient({
    ...options,
    adapter: { id: "coingecko", budget: COINGECKO_BUDGET },
    baseUrl: config.apiBaseUrls.coingecko ?? "https://api.coingecko.com",
    maxAttempts: 3,
  });
}

export function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  const clock = overrides.clock ?? systemClock;
  const fetchFn = overrides.fetch ?? ((input, init) => fetch(input, init));
  const logger = overrides.logger ?? createLogger({ secrets: configSecrets(config) });
  const metrics = createMetrics();
  const coordinator =
    config.cluster.enabled && config.cluster.databaseUrl
      ? createCoordinator({
          url: config.cluster.databaseUrl,
          instance: config.cluster.instance,
          ipGroup: config.cluster.ipGroup,
          bucketMinutes: config.bucketIntervalMinutes,
          clock,
          logger,
        })
      : undefined;
  // Instances of one IP group split its budget: each spends a request's weight over its share.
  const budgetShare = coordinator ? () => 1 / coordinator.groupSize() : undefined;
  const clientOptions = { fetch: fetchFn, clock, logger, metrics, random: overrides.random, budgetShare, ...overrides.http };
  const adapters: ExchangeAdapter[] = [];
  const clients = new Map<ExchangeId, ExchangeClient>();
  for (const id of config.exchanges) {
    const viaCcxt = (config.exchangeAdapters[id] ?? (isNativeExchange(id) ? "native" : "ccxt")) === "ccxt";
    if (!viaCcxt && isNativeExchange(id)) {
      const adapter = NATIVE_EXCHANGES[id];
      adapters.push(adapter);
      clients.set(id, createExchangeClient({ ...clientOptions, adapter, baseUrl: config.apiBaseUrls[id] ?? adapter.defaultBaseUrl }));
      continue;
    }
    // ccxt is loaded here, and only here: a config of native exchanges never reaches this line.
    const opened = openCcxtExchange({ id, baseUrl: config.apiBaseUrls[id], fetch: fetchFn, clock, metrics, timeoutMs: overrides.http?.timeoutMs });
    if (!opened) throw new ConfigError("config", [{ path: "exchanges", message: `ccxt has no exchange ${id}` }]);
    const name = isNativeExchange(id) ? NATIVE_EXCHANGES[id].name : brandName(opened.exchange.name ?? id);
    recordExchangeName(id, name);
    adapters.push(createCcxtAdapter({ id, name, exchange: opened.exchange }));
    clients.set(id, createCcxtClient({ ...clientOptions, id, ...opened }));
  }
  const coingecko = createCoingeckoClient(config, clientOptions);
  const built = overrides.sinks ?? buildSinks(config, logger, clock);
  const database = built.find((s): s is DatabaseSink => s.name === "database" && "recordMetadata" in s);
  // In a cluster the shared database says what is saved; an instance's CSV holds what it fetched.
  const sinks = coordinator && database ? built.map((s) => (s === database ? s : withPositionsOf(s, database))) : built;
  const live = config.liveSource === "websocket" ? createLiveStreams({ config, clock, logger, metrics, sinks, adapters, fetch: fetchFn, random: overrides.random }) : undefined;
  // Each exchange's last cycle report is kept for /api/status as the tracker is told it.
  const cycles = createCycleLog();
  const health = cycles.observe(
    createHealthTracker(
      config.exchanges,
      sinks.map((s) => s.name),
      clock.now(),
      live ? (exchange) => live.view(exchange) : undefined,
    ),
  );
  let looping = false; // set by runLoop: `once` and `backfill` tick without a next cycle
  const service = createService({
    repeating: () => looping,
    live,
    config,
    clock,
    logger,
    metrics,
    health,
    adapters,
    clients,
    coingecko,
    sinks,
    cluster: coordinator ? { publish: (dueMs, exchanges) => coordinator.publishTick(dueMs, planShards(dueMs, exchanges)) } : undefined,
    // The metadata job: a new bitemporal version only when a statistic changed.
    afterTick: database
      ? async ({ series, coins, exchanges, atMs }) => {
          if (series === 0) return;
          const changed = await database.recordMetadata(computeMetadataStats(series, coins, exchanges, config.bucketIntervalMinutes), atMs);
          if (changed) logger.info("metadata changed; new version recorded", { series, coins, exchanges });
        }
      : undefined,
  });
  // The query API reads the store the config writes to, through a reader of its own (opened on first use).
  const candles = createCandleSource(config, { logger });
  const api = createApiRoutes({ config, source: candles, tracked: () => service.tracked(), health: () => health.snapshot(clock.now()), lastCycles: cycles.last, metrics, logger });
  const renderMetrics = () => {
    live?.syncMetrics();
    return metrics.render();
  };
  const app = createApp({ health: () => health.snapshot(clock.now()), metrics: renderMetrics, metadata: createMetadataRoutes(database), logger, api });
  return {
    config,
    clock,
    logger,
    metrics,
    health,
    sinks,
    clients,
    coingecko,
    adapters,
    service,
    live,
    coordinator,
    app,
    async open() {
      for (const sink of sinks) await sink.open();
    },
    async runLoop(signal) {
      looping = true;
      let firstDue = clock.now();
      if (coordinator) {
        await coordinator.start();
        for (const adapter of adapters) await coordinator.work(adapter.id, (job) => service.runShard(job.exchange, job.coins, signal).then(() => undefined));
        // Backfill jobs (`cryptointellect backfill` against the cluster): a worker of their own per
        // exchange, so a long backfill never holds up a live shard; the shared rate limiter interleaves them.
        const expireInSeconds = backfillExpireSeconds(clock);
        for (const adapter of adapters)
          await coordinator.workQueue<BackfillJob>(
            backfillQueueName(adapter.id),
            expireInSeconds,
            async (job) => {
              try {
                await service.backfillRange(job, signal);
              } catch (error) {
                if (!signal.aborted) logger.warn("backfill job failed; it is retried", { exchange: job.exchange, coin: job.coin, error: describeError(error) });
                throw error;
              }
            },
            backfillQueueWork(adapter),
          );
        // Every instance names the first tick alike (the last due time), so one publishes it.
        firstDue = nextCycleAt(clock.now(), config.bucketIntervalMinutes, config.settleSeconds) - config.bucketIntervalMinutes * 60_000;
      }
      const first = service.tick(firstDue, signal).catch(() => undefined);
      await runScheduler(
        { clock, logger, intervalMinutes: config.bucketIntervalMinutes, settleSeconds: config.settleSeconds, onTick: (due) => service.tick(due, signal).then(() => undefined) },
        signal,
      );
      await first;
    },
    async close() {
      await live?.close();
      await coordinator?.stop();
      await candles.close().catch((error: unknown) => logger.warn("candle reader did not close cleanly", { error: String(error) }));
      for (const sink of sinks) {
        try {
          await sink.close();
        } catch (error) {
          logger.warn("sink did not close cleanly", { sink: sink.name, error: String(error) });
        }
      }
    },
  };
}

function buildSinks(config: Config, logger: Logger, clock: Clock): CandleSink[] {
  const sinks: CandleSink[] = [];
  if (config.saveToDatabase && config.databaseUrl) sinks.push(createDatabaseSink({ url: config.databaseUrl, target: config.database, logger, now: () => clock.now() }));
  if (config.saveToCsv) {
    sinks.push(createCsvSink({ directory: config.csvDirectory, logger, lookbackDays: Math.ceil(config.catchUpLimitMinutes / 1440) + 1 }));
  }
  return sinks;
}
