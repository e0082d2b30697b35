/**
 * The paging cursor of /api/candles: opaque to clients, it says which series it belongs to and the
 * TimeStamp of the last row served, so the next page starts exactly after it (one row per bucket of
 * a series: keyset paging on the TimeStamp never repeats or skips a row).
 */

export interface CursorPosition {
  /** `exchange|coin|intervalMinutes` of the series it pages through. */
  series: string;
  /** TimeStamp (bucket end, epoch ms) of the last row already served. */
  afterEndMs: number;
}

const MAX_CURSOR_CHARS = 256;

export function seriesKeyText(exchange: string, coin: string, intervalMinutes: number): string {
  return `${exchange}|${coin}|${intervalMinutes}`;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, s: position.series, a: position.afterEndMs })).toString("base64url");
}

/** The position a cursor holds, or undefined for anything that is not a cursor of ours. */
export function decodeCursor(text: string): CursorPosition | undefined {
  if (text.length === 0 || text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { v, s, a } = value as Record<string, unknown>;
  if (v !== 1 || typeof s !== "string" || typeof a !== "number" || !Number.isSafeInteger(a)) return undefined;
  return { series: s, afterEndMs: a };
}
