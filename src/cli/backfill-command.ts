/** `cryptointellect backfill`: argument parsing (pure) and the run (edge). */
import { fetchRanking } from "../coins/coingecko.ts";
import { buildUniverse } from "../coins/universe.ts";
import { type Config, DEFAULT_QUOTES } from "../config/config.ts";
import type { ExchangeId } from "../domain/candle.ts";
import { bucketOpen, formatInterval } from "../domain/interval.ts";
import { describeError, UsageError } from "../errors.ts";
import { isNativeExchange, NATIVE_EXCHANGES, type NativeExchangeId } from "../exchanges/index.ts";
import { type ExchangeBackfillReport, runBackfill } from "../pipeline/backfill.ts";
import { createProgress } from "./progress.ts";
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
