import { sortUnique } from "../domain/aggregate.ts";
import type { RawCandle } from "../domain/candle.ts";
import { bucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { CryptoIntellectError } from "../errors.ts";
import type { ExchangeClient } from "../http/client.ts";
import type { ExchangeAdapter, Market } from "../exchanges/types.ts";

/** The largest native interval that divides the bucket interval: fewest candles to fetch, exact buckets. */
export function baseIntervalFor(adapter: Pick<ExchangeAdapter, "nativeIntervals">, intervalMinutes: number): number {
  let best = 1;
  for (const native of adapter.nativeIntervals) {
    if (native <= intervalMinutes && intervalMinutes % native === 0 && native > best) best = native;
  }
  return best;
}

/** A run of whole buckets fetched together: [fromOpenMs, toOpenMs] are bucket opens, both inclusive. */
export interface FetchWindow {
  fromOpenMs: number;
  toOpenMs: number;
}

export type WindowResult =
  | (FetchWindow & { ok: true; candles: RawCandle[]; baseIntervalMinutes: number })
  | (FetchWindow & { ok: false; error: Error });

/** The range lies before what the exchange can serve (Kraken OHLC: the 720 most recent candles only). */
export class UnreachableRangeError extends CryptoIntellectError {
  constructor(where: string) {
    super("EXCHANGE_API", `${where}: older than the exchange serves on this endpoint`);
  }
}

export interface FetchRangeOptions {
  client: ExchangeClient;
  adapter: ExchangeAdapter;
  market: Market;
  intervalMinutes: number;
  /** First and last bucket open to fetch (inclusive); all must be closed at `nowMs`. */
  fromOpenMs: number;
  toOpenMs: number;
  nowMs: number;
  /** Windows fetched at once, for backfills; results still arrive in order. Default 1. */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Splits the range into windows of whole buckets, each fetched with pages of at most the adapter's
 * page size, so no page is ever truncated by the exchange and no bucket straddles two windows.
 * The part an exchange cannot serve any more comes back as a failed window, never as empty data.
 */
export function planWindows(
  adapter: Pick<ExchangeAdapter, "maxCandlesPerRequest" | "nativeIntervals" | "recentCandlesOnly">,
  intervalMinutes: number,
  fromOpenMs: number,
  toOpenMs: number,
  nowMs: number,
): { windows: FetchWindow[]; unreachable?: FetchWindow } {
  const size = intervalMinutes * MINUTE_MS;
  if (toOpenMs < fromOpenMs) return { windows: [] };
  let start = fromOpenMs;
  let unreachable: FetchWindow | undefined;
  if (adapter.recentCandlesOnly !== undefined) {
    const base = baseIntervalFor(adapter, intervalMinutes);
    const oldestBaseOpen = bucketOpen(nowMs, base) - (adapter.recentCandlesOnly - 1) * base * MINUTE_MS;
    const firstReachable = Math.ceil(oldestBaseOpen / size) * size;
    if (firstReachable > start) {
      unreachable = { fromOpenMs: start, toOpenMs: Math.min(toOpenMs, firstReachable - size) };
      start = firstReachable;
    }
  }
  const base = baseIntervalFor(adapter, intervalMinutes);
  const bucketsPerWindow = Math.max(1, Math.floor((adapter.maxCandlesPerRequest * base) / intervalMinutes));
  const windows: FetchWindow[] = [];
  for (let t = start; t <= toOpenMs; t += bucketsPerWindow * size) {
    windows.push({ fromOpenMs: t, toOpenMs: Math.min(toOpenMs, t + (bucketsPerWindow - 1) * size) });
  }
  return unreachable ? { windows, unreachable } : { windows };
}

/** Fetches one window: its pages in order, trimmed to the window, sorted and de-duplicated. */
export async function fetchWindow(options: FetchRangeOptions, window: FetchWindow): Promise<RawCandle[]> {
  const { adapter, client, market, intervalMinutes, signal } = options;
  const base = baseIntervalFor(adapter, intervalMinutes);
  const baseMs = base * MINUTE_MS;
  const endMs = window.toOpenMs + intervalMinutes * MINUTE_MS;
  const pageMs = adapter.maxCandlesPerRequest * baseMs;
  const all: RawCandle[] = [];
  for (let start = window.fromOpenMs; start < endMs; start += pageMs) {
    const stop = Math.min(endMs, start + pageMs);
    const spec = adapter.candlesRequest(market, base, start, stop);
    const candles = await client.request(spec, (body) => adapter.parseCandles(body, { market, intervalMinutes: base }), signal);
    for (const c of candles) {
      // Keep only whole base candles inside the window: drops the open candle and anything outside.
      if (c.openTimeMs >= start && c.openTimeMs + baseMs <= stop) all.push(c);
    }
  }
  return sortUnique(all);
}

/** Fetches every window of the range in order, up to `concurrency` at once; failures come back as results. */
export async function* fetchRange(options: FetchRangeOptions): AsyncGenerator<WindowResult> {
  const { windows, unreachable } = planWindows(options.adapter, options.intervalMinutes, options.fromOpenMs, options.toOpenMs, options.nowMs);
  const base = baseIntervalFor(options.adapter, options.intervalMinutes);
  if (unreachable) {
    yield { ...unreachable, ok: false, error: new UnreachableRangeError(`${options.adapter.id} ${options.market.symbol}`) };
  }
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const run = (w: FetchWindow): Promise<WindowResult> =>
    fetchWindow(options, w).then(
      (candles) => ({ ...w, ok: true as const, candles, baseIntervalMinutes: base }),
      (error: unknown) => ({ ...w, ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  const inFlight: Promise<WindowResult>[] = [];
  let next = 0;
  while (next < windows.length || inFlight.length > 0) {
    while (inFlight.length < concurrency && next < windows.length) inFlight.push(run(windows[next++]!));
    const result = await inFlight.shift()!;
    yield result;
    if (options.signal?.aborted) return;
  }
}
