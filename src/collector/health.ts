/** Health as SPEC section 8 defines it, computed from cycle reports. Pure state, no I/O. */
import type { ExchangeId } from "../domain/candle.ts";
import type { ExchangeCycleReport } from "../pipeline/cycle.ts";
import type { StreamView } from "./live-streams.ts";

export type HealthStatus = "starting" | "ok" | "degraded" | "down";

interface ExchangeHealth {
  lastSuccessMs: number | undefined;
  lastErrorMs: number | undefined;
  /** Outcomes of the most recent cycles, newest last (true = succeeded). */
  recent: boolean[];
  errors: number;
  lagBuckets: number;
  bannedUntilMs: number | undefined;
  lastError: string | undefined;
}

interface SinkHealth {
  lastSuccessMs: number | undefined;
  /** Cycles in a row in which the sink failed (a cycle is one tick, whatever the number of exchanges). */
  consecutiveFailures: number;
  /** Cycles in which the sink failed. */
  errors: number;
  lastError: string | undefined;
}

/** What the exchanges of the running cycle said of one sink so far. */
interface SinkCycle {
  failed: boolean;
  error: string | undefined;
  atMs: number;
}

export interface HealthSnapshot {
  status: HealthStatus;
  reasons: string[];
  uptimeSeconds: number;
  cycles: number;
  exchanges: Record<string, { lastSuccess: string | null; lagBuckets: number; errors: number; bannedUntil: string | null; lastError: string | null; stream: StreamView | null }>;
  sinks: Record<string, { lastSuccess: string | null; consecutiveFailures: number; errors: number; lastError: string | null }>;
}

export interface HealthTracker {
  /** One exchange's part of the running cycle. */
  record(report: ExchangeCycleReport): void;
  /** The cycle is over: each sink failed in it when any exchange's write to it failed. */
  cycleDone(): void;
  setBan(exchange: ExchangeId, untilMs: number | undefined): void;
  snapshot(nowMs: number): HealthSnapshot;
}

const WINDOW = 3;

/** `streamOf`: each exchange's live stream state (WebSocket mode); null or absent in REST mode. */
export function createHealthTracker(
  exchanges: readonly ExchangeId[],
  sinks: readonly string[],
  startedMs: number,
  streamOf?: (exchange: ExchangeId) => StreamView | null,
): HealthTracker {
  const ex = new Map<ExchangeId, ExchangeHealth>(
    exchanges.map((e) => [e, { lastSuccessMs: undefined, lastErrorMs: undefined, recent: [], errors: 0, lagBuckets: 0, bannedUntilMs: undefined, lastError: undefined }]),
  );
  const sk = new Map<string, SinkHealth>(sinks.map((s) => [s, { lastSuccessMs: undefined, consecutiveFailures: 0, errors: 0, lastError: undefined }]));
  const sinkCycle = new Map<string, SinkCycle>();
  let cycles = 0;
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    record(report) {
      const h = ex.get(report.exchange);
      if (!h) return;
      // A cycle that could not run at all (no market listing) failed for every series.
      const ok = report.error === undefined && (report.seriesTotal === 0 ? !report.banned : report.seriesOk > 0);
      h.recent.push(ok);
      if (h.recent.length > WINDOW) h.recent.shift();
      if (ok) h.lastSuccessMs = report.finishedMs;
      else h.lastErrorMs = report.finishedMs;
      h.errors += report.error !== undefined ? Math.max(1, report.seriesFailed) : report.seriesFailed;
      if (report.seriesFailed > 0 || report.error !== undefined) {
        h.lastError = `${report.seriesFailed} of ${report.seriesTotal} series failed${report.error !== undefined ? `: ${report.error}` : ""}`;
      }
      h.lagBuckets = report.lagBuckets;
      // Every exchange writes to every sink: their outcomes make one outcome per cycle, not one each.
      for (const [name, outcome] of Object.entries(report.sinks)) {
        if (!sk.has(name)) continue;
        const c = sinkCycle.get(name) ?? { failed: false, error: undefined, atMs: report.finishedMs };
        c.atMs = Math.max(c.atMs, report.finishedMs);
        if (!outcome.ok) {
          c.failed = true;
          c.error = outcome.error;
        }
        sinkCycle.set(name, c);
      }
    },
    cycleDone() {
      cycles++;
      for (const [name, c] of sinkCycle) {
        const s = sk.get(name)!;
        if (c.failed) {
          s.consecutiveFailures++;
          s.errors++;
          s.lastError = c.error;
        } else {
          s.lastSuccessMs = c.atMs;
          s.consecutiveFailures = 0;
        }
      }
      sinkCycle.clear();
    },
    setBan(exchange, untilMs) {
      const h = ex.get(exchange);
      if (h) h.bannedUntilMs = untilMs;
    },
    snapshot(nowMs) {
      const reasons: string[] = [];
      const stale: string[] = [];
      for (const [name, h] of ex) {
        if (h.bannedUntilMs !== undefined && h.bannedUntilMs > nowMs) reasons.push(`${name}: banned until ${iso(h.bannedUntilMs)}`);
        if (!h.recent.some(Boolean)) stale.push(name);
      }
      const failingSinks = [...sk].filter(([, s]) => s.consecutiveFailures >= WINDOW).map(([n]) => n);
      const erroringSinks = [...sk].filter(([, s]) => s.consecutiveFailures > 0).map(([n]) => n);
      let status: HealthStatus;
      if (cycles < WINDOW) status = "starting";
      else if (stale.length === ex.size || failingSinks.length > 0) status = "down";
      else if (stale.length > 0 || erroringSinks.length > 0) status = "degraded";
      else status = "ok";
      for (const n of stale) reasons.push(`${n}: no successful fetch in the last ${WINDOW} cycles`);
      for (const n of erroringSinks) reasons.push(`${n} sink: ${sk.get(n)!.consecutiveFailures} failed cycle(s)`);
      if (status === "starting") reasons.push(`${cycles} of the first ${WINDOW} cycles done`);
      return {
        status,
        reasons,
        uptimeSeconds: Math.max(0, Math.round((nowMs - startedMs) / 1000)),
        cycles,
        exchanges: Object.fromEntries(
          [...ex].map(([n, h]) => [
            n,
            {
              lastSuccess: iso(h.lastSuccessMs),
              lagBuckets: h.lagBuckets,
              errors: h.errors,
              bannedUntil: iso(h.bannedUntilMs && h.bannedUntilMs > nowMs ? h.bannedUntilMs : undefined),
              lastError: h.lastError ?? null,
              stream: streamOf?.(n) ?? null,
            },
          ]),
        ),
        sinks: Object.fromEntries(
          [...sk].map(([n, s]) => [n, { lastSuccess: iso(s.lastSuccessMs), consecutiveFailures: s.consecutiveFailures, errors: s.errors, lastError: s.lastError ?? null }]),
        ),
      };
    },
  };
}
