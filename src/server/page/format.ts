/** Text for times, ages and counts, in UTC and English. Pure. */

/** `42 s`, `5 min`, `2 h 05 min`, `3 d 4 h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${String(min % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `2024-03-08 12:45` (UTC). */
export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** `12:45:03` (UTC). */
export function formatUtcClock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** `1m`, `90m`, `2h`, `1d`: the config's notation. */
export function formatInterval(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** `12,345`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** The value of a datetime-local input for a UTC instant (the inputs are read as UTC). */
export function toInputValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/** A datetime-local input's value read as UTC; undefined when empty or invalid. */
export function fromInputValue(value: string): number | undefined {
  if (value.trim() === "") return undefined;
  const ms = Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Decimals enough to tell every price apart (at most 8): 2 for BTC, 5 for DOGE. */
export function pricePrecision(prices: readonly number[]): number {
  let precision = 2;
  for (const p of prices) {
    if (!Number.isFinite(p) || p === 0) continue;
    const digits = Math.min(8, Math.max(0, 4 - Math.floor(Math.log10(Math.abs(p)))));
    if (digits > precision) precision = digits;
  }
  return precision;
}
