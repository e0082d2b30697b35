/**
 * `live_source: websocket`: each native exchange's 1-minute kline streams feed the buckets, REST
 * reconciles. Final minutes are kept per series; at each bucket boundary a bucket whose minutes are
 * all final (or reported quiet by a connection that was up throughout) is built by the same series
 * step as REST (`stepWindow`) and written with `writeToSinks`. Everything else goes to REST: the
 * first cycle after a (re)connect runs the exchange's REST cycle (buckets since each sink's last
 * saved one), and a series the stream left incomplete falls back to the REST cycle for that bucket.
 * When both give a bucket, REST's is written and a disagreement is logged and counted.
 */
import type { Clock } from "../clock.ts";
import type { Config } from "../config/config.ts";
import type { Candle, ExchangeId, RawCandle } from "../domain/candle.ts";
import { lastClosedBucketOpen, MINUTE_MS } from "../domain/interval.ts";
import { describeError } from "../errors.ts";
import { isNativeExchange } from "../exchanges/index.ts";
import type { ExchangeAdapter, Market } from "../exchanges/types.ts";
import type { ExchangeCycleReport, ExchangeRuntime, SinkOutcome } from "../pipeline/cycle.ts";
import type { SeriesState } from "../pipeline/series.ts";
import { stepWindow, writeToSinks } from "../pipeline/series-step.ts";
import { interceptWrites } from "../sinks/intercept.ts";
import type { CandleSink } from "../sinks/types.ts";
import { binanceProtocol } from "../streams/binance.ts";
import { createStreamConnection, type StreamConnection, type StreamSocketFactory, webSocketFactory } from "../streams/connection.ts";
import { krakenProtocol } from "../streams/kraken.ts";
import { kucoinProtocol } from "../streams/kucoin.ts";
import { poloniexProtocol } from "../streams/poloniex.ts";
import { type FetchLike, type StreamCandle, type StreamExchangeId, type StreamProtocol, splitMarkets } from "../streams/types.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { timedSinks } from "./save-delay.ts";

const PROTOCOLS: Record<StreamExchangeId, StreamProtocol> = { binance: binanceProtocol, kraken: krakenProtocol, kucoin: kucoinProtocol, poloniex: poloniexProtocol };

/** Extra wait after settle for the stream's finals of the bucket's last minute (the issue's settle + 2 s). */
export const STREAM_GRACE_MS = 2000;

/** The stream's part of /health and /api/status. */
export interface StreamView {
  connected: boolean;
  reconnects: number;
  /** ISO time of the last message on any of the exchange's connections; null before the first. */
  lastMessage: string | null;
}

/** The REST cycle of one exchange, for the given markets, writing to the given sinks. */
export type RestCycle = (runtime: ExchangeRuntime, sinks: readonly CandleSink[]) => Promise<ExchangeCycleReport>;

export interface LiveStreams {
  /** Whether this exchange's live candles come from its stream. */
  handles(exchange: ExchangeId): boolean;
  /** The exchange's cycle at a bucket boundary + settle: stream buckets, REST where needed. */
  cycle(runtime: ExchangeRuntime, rest: RestCycle, signal?: AbortSignal): Promise<ExchangeCycleReport>;
  view(exchange: ExchangeId): StreamView | null;
  /** Copies the connections' counters into the metrics (before /metrics renders). */
  syncMetrics(): void;
  close(): Promise<void>;
}

export interface LiveStreamsDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  sinks: readonly CandleSink[];
  adapters: readonly ExchangeAdapter[];
  fetch?: FetchLike;
  createSocket?: StreamSocketFactory;
  random?: () => number;
}

interface Group {
  conn: StreamConnection;
  /** Minute ranges [from, to) in which the connection was down or not yet subscribed; `to` Infinity while down. */
  untrusted: [number, number][];
  /** Clock time of the last message holding candles. */
  lastCandleMs: number;
}

interface SeriesLive {
  /** The newest bucket handled (by the stream or REST). */
  doneOpenMs: number;
  previousClose: number | undefined;
}

interface ExchangeLive {
  exchange: StreamExchangeId;
  marketsKey: string;
  groups: Group[];
  coinOf: Map<string, string>;
  /** Final minutes per coin, by open time. */
  finals: Map<string, Map<number, RawCandle>>;
  /** Minutes accepted as quiet (no trades) per coin. */
  quiet: Map<string, Set<number>>;
  series: Map<string, SeriesLive>;
  needsReconcile: boolean;
  /** Coins that may have a bucket ready to write as soon as it is final. */
  ready: Set<string>;
  /** The write of ready buckets in flight (one at a time: finals arriving meanwhile go in the next). */
  flushing: Promise<void> | undefined;
  /** Set while the boundary cycle reads and moves the series: no write of ready buckets then. */
  cycleRunning: boolean;
  /** The sinks, timed as the stream's. */
  streamSinks: CandleSink[];
}

/** The market as the exchange's stream names it. */
export function streamMarket(exchange: StreamExchangeId, market: Market): string {
  return exchange === "kraken" ? `${market.coin}/${market.quote}` : market.symbol;
}

const floorMinute = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

export function createLiveStreams(deps: LiveStreamsDeps): LiveStreams {
  const { config, clock, logger, metrics } = deps;
  const size = config.bucketIntervalMinutes * MINUTE_MS;
  const live = new Map<ExchangeId, ExchangeLive>();
  let closing = false;
  const streamed = new Set<ExchangeId>();
  /** Counters of connections closed when the markets changed, so the totals never go down. */
  const retired = new Map<ExchangeId, { reconnects: number; messages: number; malformed: number }>();
  for (const adapter of deps.adapters) {
    if (isNativeExchange(adapter.id) && adapter.id in PROTOCOLS && config.exchangeAdapters[adapter.id] !== "ccxt") streamed.add(adapter.id);
    else logger.info("live_source websocket: this exchange has no stream here; it stays on REST", { exchange: adapter.id });
  }

  function open(adapter: ExchangeAdapter, markets: readonly Market[]): ExchangeLive {
    const exchange = adapter.id as StreamExchangeId;
    const protocol = PROTOCOLS[exchange];
    const coinOf = new Map(markets.map((m) => [streamMarket(exchange, m), m.coin]));
    const ex: ExchangeLive = {
      exchange,
      marketsKey: [...coinOf.keys()].join(","),
      groups: [],
      coinOf,
      finals: new Map(markets.map((m) => [m.coin, new Map()])),
      quiet: new Map(markets.map((m) => [m.coin, new Set()])),
      series: new Map(),
      needsReconcile: true,
      ready: new Set(),
      flushing: undefined,
      cycleRunning: false,
      streamSinks: timedSinks(deps.sinks, { exchange, source: "stream", intervalMinutes: config.bucketIntervalMinutes, clock, metrics }),
    };
    const base = deps.createSocket ?? webSocketFactory;
    for (const group of splitMarkets(protocol, [...coinOf.keys()])) {
      const g = { untrusted: [[Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]], lastCandleMs: Number.NEGATIVE_INFINITY } as Group;
      const createSocket: StreamSocketFactory = (url, handlers) =>
        base(url, {
          onOpen: handlers.onOpen,
          onMessage(text) {
            // Candles flowing prove the subscription live (an open socket with pongs alone does not):
            // trusted from the minute after the first one, as that minute was only partly watched.
            const parsed = protocol.parse(text);
            if (parsed.kind === "candles" && parsed.candles.length > 0) {
              const t = clock.now();
              g.lastCandleMs = t;
              const last = g.untrusted.at(-1);
              if (last && last[1] === Number.POSITIVE_INFINITY) last[1] = floorMinute(t) + MINUTE_MS;
            }
            handlers.onMessage(text);
          },
          onClose(code, reason) {
            // Down from the minute before the last candle heard (a stall is silent long before it is noticed).
            const last = g.untrusted.at(-1);
            if (!last || last[1] !== Number.POSITIVE_INFINITY) {
              g.untrusted.push([floorMinute(Math.min(g.lastCandleMs, clock.now())) - MINUTE_MS, Number.POSITIVE_INFINITY]);
            }
            handlers.onClose(code, reason);
          },
        });
      g.conn = createStreamConnection({
        protocol,
        baseUrl: config.apiBaseUrls[exchange] ?? adapter.defaultBaseUrl,
        markets: group,
        clock,
        fetch: deps.fetch,
        random: deps.random,
        createSocket,
        onCandle: (candle) => keepFinal(ex, candle),
        onReconnected: () => {
          ex.needsReconcile = true;
          logger.info("stream reconnected; the next cycle reconciles over REST", { exchange });
        },
        onIssue: (message) => logger.warn("stream connection issue", { exchange, issue: message }),
      });
      ex.groups.push(g);
    }
    logger.info("stream connections opened", { exchange, markets: coinOf.size, connections: ex.groups.length });
    return ex;
  }

  function keepFinal(ex: ExchangeLive, candle: StreamCandle): void {
    const coin = ex.coinOf.get(candle.market);
    const finals = coin === undefined ? undefined : ex.finals.get(coin);
    if (!finals || candle.final !== true) return;
    const { openTimeMs, open, high, low, close, volume } = candle;
    finals.set(openTimeMs, { openTimeMs, open, high, low, close, volume });
    // The bucket's last minute is the one that can complete it: write it now, not at the next cycle.
    if ((openTimeMs + MINUTE_MS) % size === 0) markReady(ex, [coin!]);
  }

  function markReady(ex: ExchangeLive, coins: Iterable<string>): void {
    for (const coin of coins) ex.ready.add(coin);
    kick(ex);
  }

  /** Starts writing ready buckets unless a write is in flight, the cycle holds the series, or REST must reconcile first. */
  function kick(ex: ExchangeLive): void {
    if (ex.flushing || ex.cycleRunning || ex.needsReconcile || closing || ex.ready.size === 0) return;
    ex.flushing = flushReady(ex)
      .catch((error: unknown) => {
        ex.needsReconcile = true;
        logger.error("writing stream buckets failed; the next cycle reconciles over REST", { exchange: ex.exchange, error: describeError(error) });
      })
      .finally(() => {
        ex.flushing = undefined;
        kick(ex);
      });
  }

  /**
   * Writes every bucket that is final now (all its minutes final, or quiet as reported) and follows
   * the series' last handled one: a bucket is saved as soon as the stream proves it closed, not at
   * the cycle. Finals that arrive during the write go in the next one (group commit).
   */
  async function flushReady(ex: ExchangeLive): Promise<void> {
    // Finals of one moment arrive as a burst of messages: take them in one write.
    await Bun.sleep(0);
    const coins = [...ex.ready];
    ex.ready.clear();
    const now = clock.now();
    const batch: Candle[] = [];
    const advanced = new Map<string, SeriesLive>();
    for (const coin of coins) {
      const s = ex.series.get(coin);
      if (!s) continue;
      const state: SeriesState = { exchange: ex.exchange, coin, intervalMinutes: config.bucketIntervalMinutes, previousClose: s.previousClose };
      let last: Candle | undefined;
      for (let b = s.doneOpenMs + size; b + size <= now; b += size) {
        const candle = buildBucket(ex, coin, b, state);
        if (!candle) break;
        batch.push(candle);
        last = candle;
      }
      if (last) advanced.set(coin, { doneOpenMs: last.openTimeMs, previousClose: last.close });
    }
    if (batch.length === 0) return;
    await writeStreamBuckets(ex, batch);
    for (const [coin, s] of advanced) ex.series.set(coin, s);
  }

  /** Writes stream-built buckets to every sink (timed as the stream's); a failed sink makes the next cycle reconcile over REST. */
  async function writeStreamBuckets(ex: ExchangeLive, candles: readonly Candle[]): Promise<Map<CandleSink, SinkOutcome>> {
    const writes = await writeToSinks(
      new Map(ex.streamSinks.map((sink) => [sink, candles])),
      { exchange: ex.exchange, logger, metrics },
      "sink write failed; the next cycle reconciles over REST",
    );
    if ([...writes.values()].some((w) => !w.ok)) ex.needsReconcile = true;
    const filled = candles.filter((c) => c.filled).length;
    if (filled > 0) metrics.inc("cryptointellect_filled_buckets_total", { exchange: ex.exchange }, filled);
    return writes;
  }

  /** Takes the connections' quiet reports: a minute counts as quiet only where the stream would have told. */
  function collectQuiet(ex: ExchangeLive, nowMs: number): void {
    // Binance sends a final for a quiet minute: a minute without one is missing there.
    const quietHasNoFinal = ex.exchange !== "binance";
    for (const g of ex.groups) {
      const heardMs = g.lastCandleMs;
      for (const q of g.conn.flushQuiet(nowMs, config.settleSeconds)) {
        const coin = ex.coinOf.get(q.market);
        if (coin === undefined || (q.hadUpdates && !q.settled) || !quietHasNoFinal) continue;
        const end = q.openTimeMs + MINUTE_MS;
        if (heardMs < end || g.untrusted.some(([from, to]) => q.openTimeMs < to && end > from)) continue;
        // Watched throughout: its last value (past end + settle) is final, else nothing traded.
        if (q.settled) keepFinal(ex, q.settled);
        else ex.quiet.get(coin)?.add(q.openTimeMs);
      }
    }
  }

  /**
   * Where each series stands after REST wrote it: the most-behind sink's newest saved bucket, so a
   * bucket REST could not get is tried again (stream minutes, else REST) rather than skipped.
   */
  async function seedFromSinks(ex: ExchangeLive, coins: readonly string[], targetOpenMs: number): Promise<void> {
    for (const coin of coins) {
      let behind: { openTimeMs: number; close: number | undefined } | undefined;
      for (const sink of deps.sinks) {
        const pos = await sink.lastSaved(ex.exchange, coin, config.bucketIntervalMinutes).catch(() => undefined);
        if (pos && pos.openTimeMs <= targetOpenMs && (!behind || pos.openTimeMs < behind.openTimeMs)) behind = { openTimeMs: pos.openTimeMs, close: pos.close };
      }
      // Nothing saved anywhere (nothing REST could get): the stream takes it from the next bucket.
      ex.series.set(coin, behind ? { doneOpenMs: behind.openTimeMs, previousClose: behind.close } : { doneOpenMs: targetOpenMs, previousClose: undefined });
    }
  }

  /** A bucket's candle from the stream's minutes, or undefined when a minute is missing or it builds nothing. */
  function buildBucket(ex: ExchangeLive, coin: string, bucketOpenMs: number, state: SeriesState): Candle | undefined {
    const finals = ex.finals.get(coin);
    const quiet = ex.quiet.get(coin);
    const minutes: RawCandle[] = [];
    for (let m = bucketOpenMs; m < bucketOpenMs + size; m += MINUTE_MS) {
      const c = finals?.get(m);
      if (c) minutes.push(c);
      else if (!quiet?.has(m)) return undefined;
    }
    const result = stepWindow(
      state,
      { ok: true, fromOpenMs: bucketOpenMs, toOpenMs: bucketOpenMs, candles: minutes, baseIntervalMinutes: 1 },
      // Stream minutes are final by the stream's word (closed flag, a later minute, or quiet past
      // settle): the bucket needs only to have ended, not a further settle wait.
      { exchange: ex.exchange, clock, logger, metrics, settleSeconds: 0 },
    );
    if (!result.ok || result.candles.length !== 1) return undefined;
    return result.candles[0];
  }

  /** The sinks as REST writes to them, comparing each candle with the stream's for the same bucket. */
  function comparingSinks(ex: ExchangeLive, streamCandles: ReadonlyMap<string, Candle>): CandleSink[] {
    const compared = new Set<string>();
    return deps.sinks.map((sink) =>
      interceptWrites(sink, (candles, inner) => {
        for (const c of candles) {
          const key = `${c.coin}|${c.openTimeMs}`;
          const s = streamCandles.get(key);
          if (!s || compared.has(key)) continue;
          compared.add(key);
          if (s.open !== c.open || s.high !== c.high || s.low !== c.low || s.close !== c.close || s.volume !== c.volume || s.filled !== c.filled) {
            metrics.inc("cryptointellect_stream_disagreements_total", { exchange: ex.exchange });
            logger.warn("stream and REST disagree on a bucket; REST's is saved", {
              exchange: ex.exchange,
              coin: c.coin,
              open: new Date(c.openTimeMs).toISOString(),
              stream: `${s.open}/${s.high}/${s.low}/${s.close}/${s.volume}`,
              rest: `${c.open}/${c.high}/${c.low}/${c.close}/${c.volume}`,
            });
          }
        }
        return inner.write(candles);
      }),
    );
  }

  function prune(ex: ExchangeLive): void {
    for (const [coin, finals] of ex.finals) {
      const done = ex.series.get(coin)?.doneOpenMs;
      if (done === undefined) continue;
      const keepFrom = done + size;
      for (const t of finals.keys()) if (t < keepFrom) finals.delete(t);
      const quiet = ex.quiet.get(coin)!;
      for (const t of quiet) if (t < keepFrom) quiet.delete(t);
    }
    for (const g of ex.groups) {
      const oldest = Math.min(...[...ex.series.values()].map((s) => s.doneOpenMs));
      g.untrusted = g.untrusted.filter(([, to]) => to > oldest);
    }
  }

  async function cycle(runtime: ExchangeRuntime, rest: RestCycle, signal?: AbortSignal): Promise<ExchangeCycleReport> {
    const { adapter } = runtime;
    const exchange = adapter.id;
    const key = runtime.markets.map((m) => streamMarket(exchange as StreamExchangeId, m)).join(",");
    let ex = live.get(exchange);
    if (ex && ex.marketsKey !== key) {
      // The tracked markets changed (daily listing refresh): new connections, counters carried on.
      const r = retired.get(exchange) ?? { reconnects: 0, messages: 0, malformed: 0 };
      for (const st of ex.groups.map((g) => g.conn.state())) {
        r.reconnects += st.reconnects;
        r.messages += st.messages;
        r.malformed += st.malformed;
      }
      retired.set(exchange, r);
      await Promise.all(ex.groups.map((g) => g.conn.close()));
      ex = undefined;
    }
    if (!ex) {
      ex = open(adapter, runtime.markets);
      live.set(exchange, ex);
    }
    // At boundary + settle a minute with nothing final is quiet: buckets it completes are written now.
    collectQuiet(ex, clock.now());
    markReady(ex, ex.series.keys());
    // The bucket's last minute closes at the boundary; its finals may take a moment.
    await clock.sleep(STREAM_GRACE_MS, signal);
    ex.cycleRunning = true;
    try {
      await ex.flushing;
      return await boundaryCycle(ex, runtime, rest, signal);
    } finally {
      ex.cycleRunning = false;
      // Finals that came while REST reconciled, or while the cycle held the series.
      markReady(ex, ex.series.keys());
    }
  }

  /** After the grace: buckets the stream completed are written, the rest of the series go to REST. */
  async function boundaryCycle(ex: ExchangeLive, runtime: ExchangeRuntime, rest: RestCycle, signal?: AbortSignal): Promise<ExchangeCycleReport> {
    const exchange = runtime.adapter.id;
    const startedMs = clock.now();
    collectQuiet(ex, startedMs);
    const targetOpenMs = lastClosedBucketOpen(startedMs, config.bucketIntervalMinutes, config.settleSeconds);

    // What the stream makes of each series' buckets since its last handled one.
    const streamCandles = new Map<string, Candle>();
    const complete = new Map<string, Candle[]>();
    const fallback: Market[] = [];
    for (const market of runtime.markets) {
      const s = ex.series.get(market.coin);
      const state: SeriesState = { exchange, coin: market.coin, intervalMinutes: config.bucketIntervalMinutes, previousClose: s?.previousClose };
      const built: Candle[] = [];
      let ok = true;
      for (let b = s ? s.doneOpenMs + size : targetOpenMs; b <= targetOpenMs; b += size) {
        const candle = buildBucket(ex, market.coin, b, state);
        if (!candle) {
          ok = false;
          break;
        }
        built.push(candle);
        streamCandles.set(`${market.coin}|${b}`, candle);
      }
      if (ok && s) complete.set(market.coin, built);
      else fallback.push(market);
    }

    if (ex.needsReconcile) {
      // On connect and after every reconnect: REST first, from each sink's last saved bucket.
      ex.needsReconcile = false;
      const report = await rest(runtime, comparingSinks(ex, streamCandles));
      await seedFromSinks(
        ex,
        runtime.markets.map((m) => m.coin),
        targetOpenMs,
      );
      prune(ex);
      return report;
    }

    const built = [...complete.values()].flat();
    const writes = await writeStreamBuckets(ex, built);
    const sinks: Record<string, SinkOutcome> = Object.fromEntries(deps.sinks.map((s) => [s.name, { ok: true, written: 0 }]));
    for (const [sink, outcome] of writes) sinks[sink.name] = outcome;
    const filled = built.filter((c) => c.filled).length;
    for (const [coin, candles] of complete) {
      const last = candles.at(-1);
      if (last) ex.series.set(coin, { doneOpenMs: last.openTimeMs, previousClose: last.close });
    }

    let restReport: ExchangeCycleReport | undefined;
    if (fallback.length > 0 && !signal?.aborted) {
      metrics.inc("cryptointellect_stream_fallbacks_total", { exchange }, fallback.length);
      logger.info("stream gave nothing final for some series; fetching them over REST", { exchange, coins: fallback.map((m) => m.coin).join(",") });
      restReport = await rest({ ...runtime, markets: fallback }, comparingSinks(ex, streamCandles));
      await seedFromSinks(
        ex,
        fallback.map((m) => m.coin),
        targetOpenMs,
      );
      for (const [name, outcome] of Object.entries(restReport.sinks)) {
        const mine = sinks[name];
        sinks[name] = mine ? { ok: mine.ok && outcome.ok, written: mine.written + outcome.written, error: mine.error ?? outcome.error } : outcome;
      }
    }
    prune(ex);
    const lagBuckets = restReport?.lagBuckets ?? 0;
    metrics.set("cryptointellect_lag_buckets", { exchange }, lagBuckets);
    return {
      exchange,
      startedMs,
      finishedMs: clock.now(),
      targetOpenMs,
      seriesTotal: runtime.markets.length,
      seriesOk: complete.size + (restReport?.seriesOk ?? 0),
      seriesFailed: restReport?.seriesFailed ?? (signal?.aborted ? fallback.length : 0),
      banned: restReport?.banned ?? false,
      filled: filled + (restReport?.filled ?? 0),
      rejected: restReport?.rejected ?? 0,
      sinks,
      lagBuckets,
    };
  }

  function view(exchange: ExchangeId): StreamView | null {
    if (!streamed.has(exchange)) return null;
    const ex = live.get(exchange);
    const states = ex?.groups.map((g) => g.conn.state()) ?? [];
    const heard = states.map((s) => s.lastMessageMs).filter((t): t is number => t !== null);
    return {
      connected: states.length > 0 && states.every((s) => s.connected),
      reconnects: states.reduce((n, s) => n + s.reconnects, 0),
      lastMessage: heard.length > 0 ? new Date(Math.max(...heard)).toISOString() : null,
    };
  }

  return {
    handles: (exchange) => streamed.has(exchange),
    cycle,
    view,
    syncMetrics() {
      for (const exchange of streamed) {
        const states = live.get(exchange)?.groups.map((g) => g.conn.state()) ?? [];
        const r = retired.get(exchange) ?? { reconnects: 0, messages: 0, malformed: 0 };
        const sum = (f: (s: (typeof states)[number]) => number) => states.reduce((n, s) => n + f(s), 0);
        metrics.set(
          "cryptointellect_stream_connections",
          { exchange },
          sum((s) => (s.connected ? 1 : 0)),
        );
        metrics.set("cryptointellect_stream_reconnects_total", { exchange }, r.reconnects + sum((s) => s.reconnects));
        metrics.set("cryptointellect_stream_messages_total", { exchange }, r.messages + sum((s) => s.messages));
        metrics.set("cryptointellect_stream_malformed_total", { exchange }, r.malformed + sum((s) => s.malformed));
      }
    },
    async close() {
      closing = true;
      await Promise.all([...live.values()].map((ex) => ex.flushing));
      const all = [...live.values()].flatMap((ex) => ex.groups);
      live.clear();
      await Promise.all(all.map((g) => g.conn.close().catch((error: unknown) => logger.warn("stream did not close cleanly", { error: describeError(error) }))));
    },
  };
}
