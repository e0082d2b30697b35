/**
 * `cryptointellect backfill`: argument parsing (pure) and the run (edge): alone, the fetch itself;
 * against a cluster, jobs enqueued for the instances and watched until they are done.
 */
import type { Clock } from "../clock.ts";
import { BACKFILL_KEEPING, type BackfillWatch, backfillExpireSeconds, chunkingFor, type JobStatus, type PlannedJob, planBackfillJobs } from "../cluster/backfill-jobs.ts";
import type { Coordinator } from "../cluster/coordinator.ts";
import { fetchRanking } from "../coins/coingecko.ts";
import { buildUniverse } from "../coins/universe.ts";
import { type Config, DEFAULT_QUOTES } from "../config/config.ts";
import type { ExchangeId } from "../domain/candle.ts";
import type { BucketRange } from "../domain/gaps.ts";
import { bucketOpen, formatInterval, lastClosedBucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { describeError, UsageError } from "../errors.ts";
import { isNativeExchange, NATIVE_EXCHANGES, type NativeExchangeId } from "../exchanges/index.ts";
import { type ExchangeBackfillReport, runBackfill, unionRuns } from "../pipeline/backfill.ts";
import type { CandleSink } from "../sinks/types.ts";
import type { Logger } from "../telemetry/log.ts";
import { createProgress, formatDuration } from "./progress.ts";
import type { Runtime } from "../collector/runtime.ts";

export interface BackfillArgs {
  fromMs: number | undefined;
  toMs: number | undefined;
  exchanges: ExchangeId[] | undefined;
  coins: string[] | undefined;
  repair: boolean;
}

/** `YYYY-MM-DD` (midnight UTC) or ISO 8601; a time without a zone is UTC. */
export function parseDate(text: string, flag: string): number {
  let t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += "T00:00:00Z";
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t)) t = t.replace(" ", "T") + "Z";
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(t) ? Date.parse(t) : Number.NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`backfill: ${flag} "${text.slice(0, 40)}" is not a date: write YYYY-MM-DD or ISO 8601 (2024-03-08T12:00:00Z)`);
  return ms;
}

export function parseBackfillArgs(args: readonly string[], nowMs: number): BackfillArgs {
  const out: BackfillArgs = { fromMs: undefined, toMs: undefined, exchanges: undefined, coins: undefined, repair: false };
  const rest = [...args];
  const value = (flag: string) => {
    const v = rest.shift();
    if (v === undefined || v.startsWith("--")) throw new UsageError(`backfill: ${flag} needs a value`);
    return v;
  };
  while (rest.length > 0) {
    const raw = rest.shift()!;
    const [flag, inline] = raw.startsWith("--") && raw.includes("=") ? [raw.slice(0, raw.indexOf("=")), raw.slice(raw.indexOf("=") + 1)] : [raw, undefined];
    const v = () => inline ?? value(flag);
    switch (flag) {
      case "--from":
        out.fromMs = parseDate(v(), "--from");
        break;
      case "--to":
        out.toMs = parseDate(v(), "--to");
        break;
      case "--exchange":
      case "--exchanges": {
        const names = list(v());
        for (const n of names) if (!/^[a-z0-9]{2,40}$/i.test(n)) throw new UsageError(`backfill: "${n.slice(0, 40).replace(/[\u0000-\u001f]/g, "?")}" is not an exchange id`);
        out.exchanges = [...new Set(names.map((n) => n.toLowerCase() as ExchangeId))];
        break;
      }
      case "--coin":
      case "--coins": {
        const names = list(v());
        for (const n of names)
          if (!/^[\p{L}\p{N} ._()+-]{1,64}$/u.test(n)) throw new UsageError(`backfill: "${n.slice(0, 40).replace(/[\u0000-\u001f]/g, "?")}" is not a coin name`);
        out.coins = names;
        break;
      }
      case "--repair":
        out.repair = true;
        break;
      default:
        throw new UsageError(`backfill: unexpected argument "${raw.slice(0, 40)}"`);
    }
  }
  if (out.fromMs === undefined && !out.repair) throw new UsageError("backfill: --from DATE is required (or --repair to fill the gaps in what is saved)");
  if (out.fromMs !== undefined && out.fromMs > nowMs) throw new UsageError(`backfill: --from ${new Date(out.fromMs).toISOString()} is in the future`);
  if (out.toMs !== undefined && out.toMs > nowMs + 60_000) throw new UsageError(`backfill: --to ${new Date(out.toMs).toISOString()} is in the future`);
  if (out.fromMs !== undefined && out.toMs !== undefined && out.fromMs >= out.toMs) throw new UsageError("backfill: --from must be before --to");
  return out;
}

function list(text: string): string[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError("backfill: an empty list");
  return items;
}

/** Narrows the config to the selected exchanges and coins (unknown coins: a UsageError, nothing fetched). */
export async function selectBackfill(config: Config, args: BackfillArgs, runtime: Pick<Runtime, "logger"> & { coingecko: Parameters<typeof fetchRanking>[0] }): Promise<Config> {
  const exchanges = args.exchanges ?? config.exchanges;
  const unknown = exchanges.filter((e) => !config.exchanges.includes(e) && !isNativeExchange(e));
  if (unknown.length > 0)
    throw new UsageError(`backfill: unknown exchange for this config: ${unknown.join(", ")} (configured: ${config.exchanges.join(", ")}); add it to exchanges first`);
  // A native exchange the config does not name is collected natively, with the default quotes.
  const exchangeAdapters = { ...config.exchangeAdapters };
  const quoteCurrencies = { ...config.quoteCurrencies };
  for (const e of exchanges) {
    exchangeAdapters[e] ??= "native";
    quoteCurrencies[e] ??= [...(NATIVE_EXCHANGES[e as NativeExchangeId]?.defaultQuotes ?? DEFAULT_QUOTES)];
  }
  config = { ...config, exchanges, exchangeAdapters, quoteCurrencies };
  if (!args.coins) return config;
  const ranking = await fetchRanking(runtime.coingecko, args.coins, runtime.logger, config.coingeckoApiKey);
  const universe = buildUniverse(ranking.coins, 0, args.coins);
  if (universe.unresolved.length > 0) throw new UsageError(`backfill: unknown coin${universe.unresolved.length > 1 ? "s" : ""}: ${universe.unresolved.join(", ")}`);
  return { ...config, topN: 0, coinsToPoll: universe.coins.map((c) => c.id) };
}

export function formatBackfillSummary(reports: readonly ExchangeBackfillReport[], intervalMinutes: number, unlisted: readonly string[] = []): string {
  const lines = [`backfill summary (${formatInterval(intervalMinutes)} buckets):`];
  for (const e of unlisted) lines.push(`  ${e.padEnd(9)} market listing could not be loaded: nothing fetched`);
  for (const r of reports) {
    const written =
      Object.entries(r.written)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "no sink";
    lines.push(
      `  ${r.exchange.padEnd(9)} ${r.series} series, ${r.missingBuckets} buckets missing; written: ${written}; fed forward ${r.filled}; rejected ${r.rejected}; failed ranges ${r.failed.length}`,
    );
    for (const f of r.failed.slice(0, 10)) lines.push(`    failed ${f.coin} ${new Date(f.fromOpenMs).toISOString()} … ${new Date(f.toOpenMs).toISOString()}: ${f.error}`);
    if (r.failed.length > 10) lines.push(`    … and ${r.failed.length - 10} more`);
    for (const e of r.sinkErrors) lines.push(`    sink error: ${e}`);
  }
  if (unlisted.length > 0 || reports.some((r) => r.failed.length > 0 || r.sinkErrors.length > 0))
    lines.push("Some ranges failed: run `cryptointellect backfill --repair` to fetch them.");
  return lines.join("\n") + "\n";
}

/** Runs the backfill with an open runtime; returns the exit code (0 complete, 1 some ranges failed). */
export async function executeBackfill(runtime: Runtime, args: BackfillArgs, signal: AbortSignal, write: (t: string) => void, tty: boolean): Promise<number> {
  const { config, clock, logger } = runtime;
  await runtime.service.refreshUniverse(signal);
  const tracked = runtime.service.tracked();
  const runtimes = runtime.adapters
    .filter((a) => tracked.has(a.id))
    .map((adapter) => ({ adapter, client: runtime.clients.get(adapter.id)!, markets: [...tracked.get(adapter.id)!] }));
  const missingListings = config.exchanges.filter((e) => !tracked.has(e));
  for (const e of missingListings) logger.error("market listing could not be loaded; nothing fetched from this exchange", { exchange: e });
  const progress = createProgress({ clock, logger, tty });
  try {
    const reports = await runBackfill(
      { clock, logger, metrics: runtime.metrics, sinks: runtime.sinks, progress },
      runtimes,
      {
        intervalMinutes: config.bucketIntervalMinutes,
        settleSeconds: config.settleSeconds,
        // `--from 23:50:26` at 5m starts with the bucket holding that instant (23:50), not the next one.
        fromMs: args.fromMs === undefined ? undefined : bucketOpen(args.fromMs, config.bucketIntervalMinutes),
        toMs: args.toMs ?? clock.now(),
        repair: args.repair,
      },
      signal,
    );
    progress.finish();
    write(formatBackfillSummary(reports, config.bucketIntervalMinutes, missingListings));
    return reports.some((r) => r.failed.length > 0 || r.sinkErrors.length > 0) || missingListings.length > 0 || signal.aborted ? 1 : 0;
  } catch (error) {
    progress.finish();
    write(`backfill failed: ${describeError(error)}\n`);
    return 1;
  }
}

/** Against a cluster the instances work the queues of their own exchanges: another exchange's jobs would wait forever. */
export function checkClusterExchanges(config: Config, args: BackfillArgs): void {
  const foreign = (args.exchanges ?? []).filter((e) => !config.exchanges.includes(e));
  if (foreign.length > 0)
    throw new UsageError(
      `backfill: against a cluster only the config's exchanges can be backfilled (its instances collect them): ${foreign.join(", ")} is not in exchanges (${config.exchanges.join(", ")})`,
    );
}

export interface ClusterBackfillDeps {
  /** A coordinator that is not a member (`member: false`): it enqueues, it does not work. */
  coordinator: Pick<Coordinator, "start" | "enqueue">;
  watch: BackfillWatch;
  /** A real-time pause between looks at the jobs. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Standard error: what the user must know (no instance alive, stopped waiting). */
  err: (text: string) => void;
}

/**
 * Real milliseconds between looks at the jobs: a quarter second while at most FEW_JOBS are left
 * (the end is seen soon after it comes), a second for a longer backfill; and between checks of
 * who is alive.
 */
const POLL_MS = 1000;
const QUICK_POLL_MS = 250;
const FEW_JOBS = 2000;
const ALIVE_CHECK_MS = 10_000;
/** Jobs per insert statement. */
const ENQUEUE_BATCH = 1000;

/**
 * Backfill against a cluster: the same selection as alone, cut into jobs (one per exchange, coin
 * and chunk that still lacks a bucket) and enqueued for the instances; then follows them until
 * each is done or failed. Returns the exit code: 0 all done, 1 a job failed, a listing could not be
 * loaded, or the wait was stopped (the jobs stay queued; the instances finish them).
 */
export async function executeClusterBackfill(
  runtime: Runtime,
  args: BackfillArgs,
  deps: ClusterBackfillDeps,
  signal: AbortSignal,
  write: (t: string) => void,
  tty: boolean,
): Promise<number> {
  const { config, clock, logger } = runtime;
  const interval = config.bucketIntervalMinutes;
  const sizeMs = interval * MINUTE_MS;
  try {
    await runtime.service.refreshUniverse(signal);
    const tracked = runtime.service.tracked();
    const missingListings = config.exchanges.filter((e) => !tracked.has(e));
    for (const e of missingListings) logger.error("market listing could not be loaded; nothing enqueued for this exchange", { exchange: e });
    const series = [...tracked].map(([exchange, markets]) => ({ exchange, coins: markets.map((m) => m.coin) }));
    const firstOpenMs = args.fromMs !== undefined ? bucketOpen(args.fromMs, interval) : await oldestSaved(runtime.sinks, series, interval);
    const lastOpenMs = Math.min(lastClosedBucketOpen(clock.now(), interval, config.settleSeconds), Math.floor((args.toMs ?? clock.now()) / sizeMs) * sizeMs - sizeMs);
    if (firstOpenMs === undefined) logger.warn("nothing saved yet: --repair has no range to scan (give --from)");
    const range = { intervalMinutes: interval, firstOpenMs: firstOpenMs ?? lastOpenMs + sizeMs, lastOpenMs, repair: args.repair };
    // What the store holds already is not enqueued again: a finished backfill run again adds nothing.
    const missing = range.firstOpenMs <= lastOpenMs ? await missingPerSeries(runtime.sinks, series, range) : [];
    // Cut per exchange: where history comes from trades, smaller chunks in a lane per instance alive
    // and one job for a recent-only window.
    await deps.coordinator.start();
    const alive = await deps.watch.aliveInstances();
    const chunking = Object.fromEntries(runtime.adapters.map((a) => [a.id, chunkingFor(a, interval, clock.now(), alive)]));
    const jobs = planBackfillJobs({ ...range, series: missing, chunking });
    const chunks = planBackfillJobs({ ...range, series: missing.map(({ exchange, coin }) => ({ exchange, coin })), chunking });
    const byExchange = new Map(series.map(({ exchange }) => [exchange, { jobs: jobs.filter((j) => j.data.exchange === exchange), chunks: 0 }]));
    for (const c of chunks) byExchange.get(c.data.exchange as ExchangeId)!.chunks++;

    if (jobs.length > 0) await enqueueJobs(deps, byExchange, alive, clock, logger);
    const outcome = await followJobs(deps, jobs, { clock, logger, tty }, signal);
    write(formatClusterSummary(byExchange, outcome, interval, missingListings));
    const waiting = jobs.length - outcome.size;
    if (waiting > 0) {
      deps.err(
        `cryptointellect: stopped waiting: ${waiting} backfill job${waiting === 1 ? "" : "s"} still queued or running; the cluster's instances finish them. Run the same command again to follow them (it adds none that still wait).\n`,
      );
    }
    const failed = [...outcome.values()].some((s) => s.state === "failed");
    return failed || waiting > 0 || missingListings.length > 0 ? 1 : 0;
  } catch (error) {
    write(`backfill failed: ${describeError(error)}\n`);
    return 1;
  }
}

/** The oldest bucket any sink holds of these series (`--repair` without `--from` starts there, for every series). */
async function oldestSaved(sinks: readonly CandleSink[], series: readonly { exchange: ExchangeId; coins: readonly string[] }[], interval: number): Promise<number | undefined> {
  let oldest: number | undefined;
  for (const { exchange, coins } of series)
    for (const coin of coins)
      for (const sink of sinks) {
        const first = await sink.firstSaved(exchange, coin, interval);
        if (first !== undefined && (oldest === undefined || first < oldest)) oldest = first;
      }
  return oldest;
}

/** Per series, the runs some sink lacks in the range (one read per sink and exchange). */
async function missingPerSeries(
  sinks: readonly CandleSink[],
  series: readonly { exchange: ExchangeId; coins: readonly string[] }[],
  range: { intervalMinutes: number; firstOpenMs: number; lastOpenMs: number },
): Promise<{ exchange: ExchangeId; coin: string; missing: BucketRange[] }[]> {
  const out: { exchange: ExchangeId; coin: string; missing: BucketRange[] }[] = [];
  for (const { exchange, coins } of series) {
    const perSink = await Promise.all(sinks.map((s) => s.missingRanges(exchange, range.intervalMinutes, coins, range.firstOpenMs, range.lastOpenMs)));
    for (const coin of coins)
      out.push({
        exchange,
        coin,
        missing: unionRuns(
          perSink.map((m) => m.get(coin) ?? []),
          range.intervalMinutes * MINUTE_MS,
        ),
      });
  }
  return out;
}

type ExchangePlan = Map<ExchangeId, { jobs: PlannedJob[]; chunks: number }>;

async function enqueueJobs(deps: ClusterBackfillDeps, byExchange: ExchangePlan, alive: number, clock: Clock, logger: Logger): Promise<void> {
  if (alive === 0) {
    deps.err(
      "cryptointellect: backfill: no instance of this cluster is alive (none has a current heartbeat): the jobs wait in the queue until one runs (`cryptointellect run` with this cluster's config).\n",
    );
  }
  const expireInSeconds = backfillExpireSeconds(clock);
  // Exchanges in lanes (history from trades: the longest) first, so that their jobs start first.
  const order = [...byExchange].sort(([, a], [, b]) => (b.jobs[0]?.priority ?? 0) - (a.jobs[0]?.priority ?? 0));
  for (const [exchange, { jobs, chunks }] of order) {
    if (jobs.length === 0) continue;
    const queue = jobs[0]!.queue;
    // A year of history waits in the queue longer than the live queues keep a job.
    await deps.coordinator.enqueue(queue, [], expireInSeconds, BACKFILL_KEEPING);
    for (let i = 0; i < jobs.length; i += ENQUEUE_BATCH)
      await deps.coordinator.enqueue(
        queue,
        jobs.slice(i, i + ENQUEUE_BATCH).map((j) => ({ data: j.data, singletonKey: j.singletonKey, group: j.group, priority: j.priority })),
        expireInSeconds,
      );
    logger.info("backfill jobs enqueued", { exchange, jobs: jobs.length, complete: chunks - jobs.length, instances: alive });
  }
}

/**
 * Looks at the jobs (every second, or quarter second near the end) until each is done or failed, or the signal aborts; returns the
 * final state of those that finished. A job of the same key still waiting from an earlier run
 * stands for ours (the queue kept one), and is followed instead.
 */
async function followJobs(
  deps: ClusterBackfillDeps,
  jobs: readonly PlannedJob[],
  options: { clock: Clock; logger: Logger; tty: boolean },
  signal: AbortSignal,
): Promise<Map<string, JobStatus>> {
  const final = new Map<string, JobStatus>();
  const pending = new Map<string, Set<string>>();
  const exchangeOf = new Map<string, string>();
  for (const j of jobs) {
    let keys = pending.get(j.queue);
    if (!keys) pending.set(j.queue, (keys = new Set()));
    keys.add(j.singletonKey);
    exchangeOf.set(j.queue, j.data.exchange);
  }
  const progress = createJobProgress({ clock: options.clock, logger: options.logger, tty: options.tty, write: deps.err });
  const counts = new Map([...pending].map(([queue, keys]) => [queue, { total: keys.size, done: 0, failed: 0, running: 0 }]));
  let sinceAliveCheckMs = 0;
  let alone = false;
  while ([...pending.values()].some((k) => k.size > 0) && !signal.aborted) {
    for (const [queue, keys] of pending) {
      if (keys.size === 0) continue;
      const states = await deps.watch.states(queue, [...keys]);
      const c = counts.get(queue)!;
      c.running = 0;
      for (const key of keys) {
        // A key without a job: it finished so long ago that it was deleted, or was dropped unseen.
        const s = states.get(key) ?? { state: "failed", error: "the job is gone from the queue (deleted before it was seen finished): run the command again" };
        if (s.state === "running") c.running++;
        if (s.state !== "done" && s.state !== "failed") continue;
        final.set(key, s);
        keys.delete(key);
        if (s.state === "done") c.done++;
        else c.failed++;
      }
      progress.update(exchangeOf.get(queue)!, c);
    }
    progress.draw();
    if (![...pending.values()].some((k) => k.size > 0)) break;
    const left = [...pending.values()].reduce((n, k) => n + k.size, 0);
    const pollMs = left <= FEW_JOBS ? QUICK_POLL_MS : POLL_MS;
    if ((sinceAliveCheckMs += pollMs) >= ALIVE_CHECK_MS) {
      sinceAliveCheckMs = 0;
      const alive = await deps.watch.aliveInstances();
      if (alive === 0 && !alone) deps.err("cryptointellect: backfill: no instance of this cluster is alive any more: the jobs wait until one runs.\n");
      alone = alive === 0;
    }
    await deps.sleep(pollMs, signal);
  }
  progress.finish();
  return final;
}

interface JobCounts {
  total: number;
  done: number;
  failed: number;
  running: number;
}

/** Jobs done per exchange, drawn as the candle progress is: one redrawn bar per exchange on a TTY, else a log line every `intervalMs`. */
function createJobProgress(options: { clock: Clock; logger: Logger; tty: boolean; write: (text: string) => void; intervalMs?: number }) {
  const { clock, logger, tty, write } = options;
  const intervalMs = options.intervalMs ?? 10_000;
  const startedMs = clock.now();
  const counters = new Map<string, JobCounts>();
  let lastDrawMs = -Infinity;
  let drawnLines = 0;
  const text = (key: string, c: JobCounts, now: number) => {
    const finished = c.done + c.failed;
    const rate = finished / Math.max(0.001, (now - startedMs) / 1000);
    const eta = finished === c.total ? "0s" : rate > 0 ? formatDuration((c.total - finished) / rate) : "?";
    const share = c.total > 0 ? finished / c.total : 1;
    return { share, line: `${key.padEnd(9)} ${c.done}/${c.total} jobs ${(share * 100).toFixed(1)}% ${c.running} running ${c.failed} failed ETA ${eta}` };
  };
  const draw = (force: boolean) => {
    const now = clock.now();
    if (!force && now - lastDrawMs < (tty ? 200 : intervalMs)) return;
    lastDrawMs = now;
    if (!tty) {
      for (const [key, c] of counters) logger.info("backfill progress", { exchange: key, progress: text(key, c, now).line.slice(key.length).trim() });
      return;
    }
    let out = drawnLines > 0 ? `\u001b[${drawnLines}A` : "";
    for (const [key, c] of counters) {
      const t = text(key, c, now);
      const filled = Math.round(t.share * 24);
      out += `\u001b[2K[${"#".repeat(filled)}${"-".repeat(24 - filled)}] ${t.line}\n`;
    }
    drawnLines = counters.size;
    write(out);
  };
  return {
    update(key: string, counts: JobCounts) {
      counters.set(key, { ...counts });
    },
    /** Draws what the updates said, at most every `intervalMs` (200 ms on a TTY). */
    draw() {
      draw(false);
    },
    finish() {
      if (counters.size > 0) draw(true);
    },
  };
}

export function formatClusterSummary(
  byExchange: ReadonlyMap<ExchangeId, { jobs: readonly PlannedJob[]; chunks: number }>,
  outcome: ReadonlyMap<string, JobStatus>,
  intervalMinutes: number,
  unlisted: readonly string[] = [],
): string {
  const total = [...byExchange.values()].reduce((n, e) => n + e.jobs.length, 0);
  const lines = [`backfill summary (${formatInterval(intervalMinutes)} buckets, ${total} job${total === 1 ? "" : "s"} for the cluster):`];
  for (const e of unlisted) lines.push(`  ${e.padEnd(9)} market listing could not be loaded: nothing enqueued`);
  let anyFailed = false;
  for (const [exchange, { jobs, chunks }] of byExchange) {
    const states = jobs.map((j) => outcome.get(j.singletonKey));
    const done = states.filter((s) => s?.state === "done").length;
    const failed = jobs.filter((j) => outcome.get(j.singletonKey)?.state === "failed");
    const waiting = jobs.length - done - failed.length;
    anyFailed ||= failed.length > 0;
    const complete = chunks - jobs.length;
    lines.push(
      `  ${exchange.padEnd(9)} ${jobs.length} jobs: ${done} done, ${failed.length} failed${waiting > 0 ? `, ${waiting} still queued` : ""}${complete > 0 ? `; ${complete} of ${chunks} series chunks already complete, not enqueued` : ""}`,
    );
    for (const j of failed.slice(0, 10)) lines.push(`    failed ${j.singletonKey}: ${outcome.get(j.singletonKey)!.error ?? "unknown"}`);
    if (failed.length > 10) lines.push(`    … and ${failed.length - 10} more`);
  }
  if (anyFailed || unlisted.length > 0) lines.push("Some jobs failed: run the same command again to enqueue what is still missing.");
  return lines.join("\n") + "\n";
}
