/** How fresh a series or an exchange is, judged against its bucket interval. Pure. */

export type FreshnessLevel = "fresh" | "stale" | "very-stale" | "empty";

export const FRESHNESS_LABELS: Record<FreshnessLevel, string> = { fresh: "fresh", stale: "stale", "very-stale": "very stale", empty: "no data" };

/** Cycles a series may miss and still be "stale" rather than "very stale" (health's window is 3). */
const STALE_INTERVALS = 5;

/**
 * A cycle runs `settleSeconds` after each bucket ends and saves that bucket, so just before the next
 * cycle the newest bucket is one interval and the settle delay old. Fresh allows one late cycle
 * (2 intervals + settle); stale, a few missed cycles; beyond that, very stale.
 */
export function freshness(lastEndMs: number | undefined, nowMs: number, intervalMinutes: number, settleSeconds: number): { level: FreshnessLevel; ageMs: number } {
  if (lastEndMs === undefined || !Number.isFinite(lastEndMs)) return { level: "empty", ageMs: 0 };
  const ageMs = Math.max(0, nowMs - lastEndMs);
  const intervalMs = intervalMinutes * 60_000;
  const settleMs = settleSeconds * 1000;
  if (ageMs <= 2 * intervalMs + settleMs) return { level: "fresh", ageMs };
  if (ageMs <= STALE_INTERVALS * intervalMs + settleMs) return { level: "stale", ageMs };
  return { level: "very-stale", ageMs };
}

export type ExchangeLevel = "healthy" | "partial" | "starting" | "failing" | "banned";

export const EXCHANGE_LABELS: Record<ExchangeLevel, string> = { healthy: "healthy", partial: "some failing", starting: "starting", failing: "failing", banned: "rate-limit ban" };

/** What the service says of one exchange: its health entry and its last cycle. */
export interface ExchangeFacts {
  lastSuccess: string | null;
  bannedUntil: string | null;
  lastCycle: { seriesOk: number; seriesFailed: number; banned: boolean; error: string | null } | undefined;
  /** The service's health names it among those with no success in their last 3 cycles. */
  stale: boolean;
}

/**
 * Healthy: its last cycle fetched every series, and it succeeded recently (within 3 intervals and
 * the settle delay, plus a cycle's own run time: a service that stopped cycling is not healthy).
 * Some failing: the last cycle fetched some series, not all. Failing: nothing fetched lately.
 */
export function exchangeLevel(e: ExchangeFacts, nowMs: number, intervalMinutes: number, settleSeconds: number, serviceStarting: boolean): ExchangeLevel {
  const bannedUntil = e.bannedUntil === null ? NaN : Date.parse(e.bannedUntil);
  if (bannedUntil > nowMs || e.lastCycle?.banned) return "banned";
  const last = e.lastSuccess === null ? NaN : Date.parse(e.lastSuccess);
  if (!Number.isFinite(last)) return serviceStarting ? "starting" : "failing";
  if (e.stale || nowMs - last > 3 * intervalMinutes * 60_000 + settleSeconds * 1000 + 60_000) return "failing";
  const c = e.lastCycle;
  if (c && (c.error !== null || c.seriesFailed > 0)) return c.seriesOk > 0 ? "partial" : "failing";
  return "healthy";
}
