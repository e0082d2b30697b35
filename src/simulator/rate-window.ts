/** Rate-limit counters on the simulator's clock (so tests with a manual clock control them). */

/** Weight used in epoch-aligned fixed windows (Binance per minute, KuCoin per 30 s, Poloniex per second). */
export interface FixedWindow {
  used(nowMs: number): number;
  add(nowMs: number, weight: number): number;
  /** Milliseconds until the window holding `nowMs` ends. */
  resetInMs(nowMs: number): number;
  clear(): void;
}

export function createFixedWindow(windowMs: number): FixedWindow {
  let start = Number.NEGATIVE_INFINITY;
  let used = 0;
  const roll = (nowMs: number) => {
    const current = Math.floor(nowMs / windowMs) * windowMs;
    if (current !== start) {
      start = current;
      used = 0;
    }
  };
  return {
    used(nowMs) {
      roll(nowMs);
      return used;
    },
    add(nowMs, weight) {
      roll(nowMs);
      used += weight;
      return used;
    },
    resetInMs(nowMs) {
      roll(nowMs);
      return start + windowMs - nowMs;
    },
    clear() {
      start = Number.NEGATIVE_INFINITY;
      used = 0;
    },
  };
}

/** Counters per key that rise by each call and decay continuously (Kraken's public throttle). */
export interface DecayingCounters {
  level(key: string, nowMs: number): number;
  /** Adds `amount` (capped at `cap`) and returns the new level. */
  add(key: string, nowMs: number, amount: number, cap: number): number;
  clear(): void;
}

export function createDecayingCounters(decayPerSecond: number): DecayingCounters {
  const counters = new Map<string, { level: number; atMs: number }>();
  const level = (key: string, nowMs: number) => {
    const c = counters.get(key);
    if (!c) return 0;
    return Math.max(0, c.level - (Math.max(0, nowMs - c.atMs) / 1000) * decayPerSecond);
  };
  return {
    level,
    add(key, nowMs, amount, cap) {
      const next = Math.min(cap, level(key, nowMs) + amount);
      counters.set(key, { level: next, atMs: nowMs });
      return next;
    },
    clear: () => counters.clear(),
  };
}
