/**
 * Plain ccxt for any exchange, the way a ccxt user backfills: one instance per exchange with ccxt's
 * own throttler (`enableRateLimit: true`, its `rateLimit` and endpoint costs on the wall clock), all
 * coins at once, either through ccxt's own paginator, `fetchOHLCV(symbol, "1m", since, undefined,
 * { paginate: true, paginationCalls })`, one call per coin, or through a page loop as
 * bench/ccxt-baseline.ts does: every page bounded on both ends, all in flight (ccxt's throttler queues
 * them), no retry, a failed page a lost window. Nothing of our pipeline is used but `rebaseUrls`,
 * which points ccxt's URLs at the simulator; a guard refuses anything off loopback.
 */
import ccxt, { type Exchange, type OHLCV } from "ccxt";
import type { Market } from "../src/exchanges/types.ts";
import { rebaseUrls } from "../src/http/ccxt-client.ts";

const MINUTE = 60_000;
/** The smallest page ccxt's deterministic paginator takes for fetchOHLCV among the exchanges benched (OKX: 200). */
const SMALLEST_PAGINATOR_PAGE = 200;

export type PlainMode = "paginate" | "pages";

export interface PlainSeries {
  coin: string;
  /** Every candle ccxt returned, or undefined when the paginator call threw. */
  minutes: OHLCV[] | undefined;
  /** The (first) error's ccxt class and first line. */
  error?: string;
  /** The page loop: pages asked for, and those that failed (their window lost). */
  pages?: number;
  failedPages?: number;
}

export interface PlainExchangeRun {
  exchange: string;
  /** loadMarkets, before the timed part. */
  setupMs: number;
  /** From the common start to this exchange's last coin answered. */
  elapsedMs: number;
  /** HTTP requests ccxt sent during the timed part. */
  requests: number;
  series: PlainSeries[];
}

export interface PlainRun {
  exchanges: PlainExchangeRun[];
  /** Requests the loopback guard refused (must be 0). */
  refused: number;
  ccxtVersion: string;
}

export interface PlainRunOptions {
  /** Per exchange id, the simulated service's base URL. */
  baseUrls: Readonly<Record<string, string>>;
  /** Per exchange, the markets to fetch (ccxt symbols, as our run tracked them). */
  markets: ReadonlyMap<string, readonly Market[]>;
  mode: PlainMode;
  /** First minute asked for (the range start minus the look-back for the previous close). */
  sinceMs: number;
  /** End of the last minute wanted (exclusive): the page loop's bound. */
  endMs: number;
  /** Called once the markets are loaded, just before the timed part. */
  ready?: () => Promise<void>;
  /** Saves an exchange's series (inside its time, as a backfill ends with the rows saved). */
  save?: (exchange: string, series: readonly PlainSeries[]) => void;
}

/** Spot markets only, as a ccxt user sets it up (futures, options and currencies cost requests the candles do not need). */
function spotOnly(ex: Exchange): void {
  const options = ex.options as Record<string, unknown>;
  const fetchMarkets = options.fetchMarkets;
  if (Array.isArray(fetchMarkets) && fetchMarkets.includes("spot")) options.fetchMarkets = ["spot"];
  else if (fetchMarkets && typeof fetchMarkets === "object") {
    const types = (fetchMarkets as { types?: unknown }).types;
    if (Array.isArray(types) && types.includes("spot")) options.fetchMarkets = { ...fetchMarkets, types: ["spot"], fetchTickersFees: false };
  }
  (ex.has as Record<string, unknown>).fetchCurrencies = false;
}

function createInstance(id: string, baseUrl: string, count: () => void, refuse: (url: string) => never): Exchange {
  const Class = (ccxt as unknown as Record<string, new (options: Record<string, unknown>) => Exchange>)[id];
  if (!Class) throw new Error(`ccxt has no exchange ${id}`);
  const ex = new Class({ enableRateLimit: true, timeout: 15_000 });
  ex.urls.api = rebaseUrls(ex.urls.api, baseUrl) as typeof ex.urls.api;
  spotOnly(ex);
  ex.fetchImplementation = (url: string, init: RequestInit) => {
    const host = new URL(url).hostname;
    if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") refuse(url);
    count();
    return fetch(url, init);
  };
  return ex;
}

/** The error's ccxt class name and the first line of its message, short. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 120);
  return `${error.constructor.name}: ${(error.message.split("\n")[0] ?? "").slice(0, 120)}`;
}

/** One coin through the page loop: pages of the exchange's largest size, bounded on both ends, all in flight. */
async function fetchPages(ex: Exchange, symbol: string, sinceMs: number, endMs: number): Promise<Omit<PlainSeries, "coin">> {
  const features = ex.features as { spot?: { fetchOHLCV?: { limit?: number } } } | undefined;
  const perPage = features?.spot?.fetchOHLCV?.limit ?? 100;
  const pages: [number, number][] = [];
  for (let s = sinceMs; s < endMs; s += perPage * MINUTE) pages.push([s, Math.min(endMs, s + perPage * MINUTE)]);
  // KuCoin's ccxt class reads no `until` (its endAt is inclusive, so the page's last second); Kraken's OHLC takes only `since`.
  const bound = (e: number): Record<string, unknown> => (ex.id === "kucoin" ? { endAt: e / 1000 - 1 } : ex.id === "kraken" ? {} : { until: e - 1 });
  const results = await Promise.allSettled(pages.map(([s, e]) => ex.fetchOHLCV(symbol, "1m", s, perPage, bound(e))));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  return {
    minutes: results.flatMap((r) => (r.status === "fulfilled" ? r.value : [])),
    pages: pages.length,
    failedPages: failed.length,
    ...(failed.length > 0 ? { error: describe(failed[0]!.reason) } : {}),
  };
}

/**
 * Calls the paginator often enough to reach back to `sinceMs`: without `until` it asks for the last
 * `paginationCalls` pages up to now (with `until`, OKX's pages would each return the window's newest
 * rows), so the count is set from the smallest page size, and larger pages stop early at now.
 */
export async function runPlainCcxt(options: PlainRunOptions): Promise<PlainRun> {
  let refused = 0;
  const refuse = (url: string): never => {
    refused++;
    throw new TypeError(`plain ccxt: refused a request off loopback (${new URL(url).hostname})`);
  };
  const ids = [...options.markets.keys()];
  const requests = new Map<string, number>(ids.map((e) => [e, 0]));
  const instances = new Map<string, { ex: Exchange; setupMs: number }>();
  await Promise.all(
    ids.map(async (id) => {
      const ex = createInstance(id, options.baseUrls[id]!, () => requests.set(id, requests.get(id)! + 1), refuse);
      const t0 = performance.now();
      // Setup, not measured: retried, so a fault run still gets to the candles.
      for (let attempt = 1; ; attempt++) {
        try {
          await ex.loadMarkets(true);
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          await Bun.sleep(500);
        }
      }
      instances.set(id, { ex, setupMs: performance.now() - t0 });
    }),
  );
  await options.ready?.();
  const t0 = performance.now();
  const paginationCalls = Math.ceil((Date.now() - options.sinceMs) / (SMALLEST_PAGINATOR_PAGE * MINUTE)) + 1;
  const exchanges = await Promise.all(
    ids.map(async (id): Promise<PlainExchangeRun> => {
      const { ex, setupMs } = instances.get(id)!;
      const before = requests.get(id)!;
      const series = await Promise.all(
        options.markets.get(id)!.map(async (market): Promise<PlainSeries> => {
          if (ex.markets?.[market.symbol] === undefined) throw new Error(`plain ccxt ${id} does not know the market ${market.symbol}`);
          try {
            if (options.mode === "pages") return { coin: market.coin, ...(await fetchPages(ex, market.symbol, options.sinceMs, options.endMs)) };
            const minutes = await ex.fetchOHLCV(market.symbol, "1m", options.sinceMs, undefined, { paginate: true, paginationCalls });
            return { coin: market.coin, minutes };
          } catch (error) {
            return { coin: market.coin, minutes: undefined, error: describe(error) };
          }
        }),
      );
      options.save?.(id, series);
      return { exchange: id, setupMs, elapsedMs: performance.now() - t0, requests: requests.get(id)! - before, series };
    }),
  );
  return { exchanges, refused, ccxtVersion: ccxt.version };
}
