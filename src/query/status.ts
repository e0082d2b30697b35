/**
 * `/api/status`: the health snapshot, per exchange its last cycle and the refusals it received
 * (429 rate limits, 418 bans, from the metrics), and the effective config with every secret redacted.
 */
import type { HealthSnapshot } from "../collector/health.ts";
import type { StreamView } from "../collector/live-streams.ts";
import { type Config, configSecrets } from "../config/config.ts";
import type { ExchangeId } from "../domain/candle.ts";
import { formatInterval, MINUTE_MS } from "../domain/interval.ts";
import { redactDatabaseUrl } from "../db/url.ts";
import type { ExchangeCycleReport } from "../pipeline/cycle.ts";
import type { Metrics } from "../telemetry/metrics.ts";

export interface CycleView {
  startedAt: string;
  finishedAt: string;
  /** TimeStamp (bucket end) of the newest closed bucket the cycle aimed for. */
  target: string;
  seriesTotal: number;
  seriesOk: number;
  seriesFailed: number;
  banned: boolean;
  filled: number;
  rejected: number;
  lagBuckets: number;
  sinks: Record<string, { ok: boolean; written: number; error: string | null }>;
  error: string | null;
}

export interface ExchangeView {
  lastCycle: CycleView | null;
  /** Refusals received: `429` rate limits (or the exchange's equivalent), `418` bans. */
  refusals: { "429": number; "418": number };
  /** The live stream's state (WebSocket mode); null while candles come over REST. */
  stream: StreamView | null;
}

export interface StatusView {
  status: HealthSnapshot;
  exchanges: Record<string, ExchangeView>;
  config: Record<string, unknown>;
}

export function statusView(input: { config: Config; health: HealthSnapshot; lastCycles: ReadonlyMap<ExchangeId, ExchangeCycleReport>; metrics: Pick<Metrics, "get"> }): StatusView {
  const size = input.config.bucketIntervalMinutes * MINUTE_MS;
  const iso = (ms: number) => new Date(ms).toISOString();
  const exchanges: Record<string, ExchangeView> = {};
  for (const id of input.config.exchanges) {
    const r = input.lastCycles.get(id);
    exchanges[id] = {
      lastCycle: r
        ? {
            startedAt: iso(r.startedMs),
            finishedAt: iso(r.finishedMs),
            target: iso(r.targetOpenMs + size),
            seriesTotal: r.seriesTotal,
            seriesOk: r.seriesOk,
            seriesFailed: r.seriesFailed,
            banned: r.banned,
            filled: r.filled,
            rejected: r.rejected,
            lagBuckets: r.lagBuckets,
            sinks: Object.fromEntries(Object.entries(r.sinks).map(([name, s]) => [name, { ok: s.ok, written: s.written, error: s.error ?? null }])),
            error: r.error ?? null,
          }
        : null,
      refusals: {
        "429": input.metrics.get("cryptointellect_rate_limited_total", { exchange: id }),
        "418": input.metrics.get("cryptointellect_bans_total", { exchange: id }),
      },
      stream: input.health.exchanges[id]?.stream ?? null,
    };
  }
  return { status: input.health, exchanges, config: configView(input.config) };
}

const SECRET_KEY = /key|secret|password|passwd|token|credential/i;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The effective config as JSON, field names as the program has them (`bucketIntervalMinutes`,
 * `settleSeconds`), every field included (a new one shows up without a change here), with secrets
 * redacted three ways: URLs through `redactDatabaseUrl` (user-part passwords, `?password=`), fields
 * named like a key or password replaced, and every secret `configSecrets` knows masked wherever it appears.
 */
export function configView(config: Config): Record<string, unknown> {
  const secrets = configSecrets(config).sort((a, b) => b.length - a.length);
  const mask = (text: string) => secrets.reduce((t, s) => t.split(s).join("***"), URL_LIKE.test(text) || text.startsWith("sqlite:") ? redactDatabaseUrl(text) : text);
  const walk = (value: unknown, key: string): unknown => {
    if (typeof value === "string") return SECRET_KEY.test(key) && value !== "" ? "***" : mask(value);
    if (Array.isArray(value)) return value.map((v) => walk(v, key));
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    return value === undefined ? null : value;
  };
  const view = walk({ ...config, bucketingInterval: formatInterval(config.bucketIntervalMinutes) }, "") as Record<string, unknown>;
  return view;
}
