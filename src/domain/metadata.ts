/**
 * Bitemporal metadata about the collection (SPEC section 6): pure values in, values out. `effective`
 * is when a statistic was true in the world; `assertive` is when we believed it. Open ends are null.
 */

/** What the metadata table versions. */
export interface MetadataStats {
  /** (exchange, coin) series collected divided by the bucket interval in minutes. */
  rowsPerMinute: number;
  coinsTracked: number;
  exchangesTracked: number;
  bucketIntervalMinutes: number;
}

/** One row of the `metadata` table. */
export interface MetadataRow extends MetadataStats {
  id?: number;
  effectiveFromMs: number;
  effectiveToMs: number | null;
  assertiveFromMs: number;
  assertiveToMs: number | null;
}

/** The writes that take the table from `current` to the new belief; empty when nothing changed. */
export interface MetadataVersioning {
  /** The current row, whose `assertive_to` closes at the change time. */
  close?: { id: number; assertiveToMs: number };
  insert: MetadataRow[];
}

/**
 * Statistics of one collection: `seriesCount` (exchange, coin) series over `intervalMinutes` gives
 * rows_per_minute, so it moves when the collection changes, not with every outage.
 */
export function computeMetadataStats(seriesCount: number, coins: number, exchanges: number, intervalMinutes: number): MetadataStats {
  return {
    rowsPerMinute: seriesCount / intervalMinutes,
    coinsTracked: coins,
    exchangesTracked: exchanges,
    bucketIntervalMinutes: intervalMinutes,
  };
}

export function sameMetadataStats(a: MetadataStats, b: MetadataStats): boolean {
  return (
    a.rowsPerMinute === b.rowsPerMinute && a.coinsTracked === b.coinsTracked && a.exchangesTracked === b.exchangesTracked && a.bucketIntervalMinutes === b.bucketIntervalMinutes
  );
}

function statsOf(row: MetadataStats): MetadataStats {
  return {
    rowsPerMinute: row.rowsPerMinute,
    coinsTracked: row.coinsTracked,
    exchangesTracked: row.exchangesTracked,
    bucketIntervalMinutes: row.bucketIntervalMinutes,
  };
}

/**
 * The bitemporal update for a change at `atMs`. First ever: one row open at both ends. Unchanged:
 * nothing. Changed: the current row's `assertive_to` becomes T; a row with the old statistics, the old
 * `effective_from`, `effective_to = T`, `assertive_from = T` is added; and a row with the new
 * statistics from T, open at both ends. `current` is the row open at both ends.
 */
export function versionMetadata(current: MetadataRow | undefined, stats: MetadataStats, atMs: number): MetadataVersioning {
  const fresh = (from: number): MetadataRow => ({ ...statsOf(stats), effectiveFromMs: from, effectiveToMs: null, assertiveFromMs: from, assertiveToMs: null });
  if (current === undefined) return { insert: [fresh(atMs)] };
  if (sameMetadataStats(current, stats)) return { insert: [] };
  if (current.id === undefined) throw new Error("the current metadata row has no id, so it cannot be closed");
  // A clock that stepped back must not make a row end before it starts.
  const t = Math.max(atMs, current.assertiveFromMs, current.effectiveFromMs);
  return {
    close: { id: current.id, assertiveToMs: t },
    insert: [{ ...statsOf(current), effectiveFromMs: current.effectiveFromMs, effectiveToMs: t, assertiveFromMs: t, assertiveToMs: null }, fresh(t)],
  };
}

const within = (from: number, to: number | null, at: number) => from <= at && (to === null || at < to);

/**
 * What was believed at `knownAtMs` about `effectiveAtMs`: the row whose assertive and effective
 * periods (half-open, [from, to)) both contain those instants, or undefined.
 */
export function selectMetadata(rows: readonly MetadataRow[], effectiveAtMs: number, knownAtMs: number): MetadataRow | undefined {
  let best: MetadataRow | undefined;
  for (const row of rows) {
    if (!within(row.assertiveFromMs, row.assertiveToMs, knownAtMs) || !within(row.effectiveFromMs, row.effectiveToMs, effectiveAtMs)) continue;
    // Periods of one belief do not overlap; should they, the newest assertion wins.
    if (best === undefined || row.assertiveFromMs > best.assertiveFromMs || (row.assertiveFromMs === best.assertiveFromMs && (row.id ?? 0) > (best.id ?? 0))) best = row;
  }
  return best;
}
