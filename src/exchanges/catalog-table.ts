/** What `cryptointellect exchanges` prints: every exchange we can collect from, native or through ccxt. */
import { formatInterval } from "../domain/interval.ts";
import { createCcxtAdapter } from "./ccxt.ts";
import { brandName, ccxtCatalog, type ExchangeCatalog, newCcxtExchange } from "./ccxt-catalog.ts";
import { NATIVE_EXCHANGES } from "./index.ts";
import type { ExchangeAdapter } from "./types.ts";

export interface ExchangeRow {
  id: string;
  name: string;
  kind: "native" | "ccxt";
  intervals: string;
  pageLimit: number;
  history: string;
}

export function describeAdapter(adapter: ExchangeAdapter): ExchangeRow {
  const depth = adapter.recentCandlesOnly;
  const history =
    depth === undefined ? (adapter.kind === "native" ? "full" : "as the exchange serves") : adapter.trades ? `${depth} candles, older from trades` : `${depth} most recent candles`;
  return {
    id: adapter.id,
    name: adapter.name,
    kind: adapter.kind,
    intervals: [...adapter.nativeIntervals]
      .sort((a, b) => a - b)
      .map(formatInterval)
      .join(" "),
    pageLimit: adapter.maxCandlesPerRequest,
    history,
  };
}

/** The native exchanges, then (unless `nativeOnly`) every ccxt exchange with candles that is not native. */
export function exchangeRows(options: { nativeOnly?: boolean; catalog?: ExchangeCatalog } = {}): ExchangeRow[] {
  const rows = Object.values(NATIVE_EXCHANGES).map(describeAdapter);
  if (options.nativeOnly) return rows;
  const catalog = options.catalog ?? ccxtCatalog;
  for (const id of catalog.ids()) {
    if (Object.hasOwn(NATIVE_EXCHANGES, id)) continue;
    const exchange = newCcxtExchange(id);
    if (exchange?.has.fetchOHLCV !== true) continue;
    rows.push(describeAdapter(createCcxtAdapter({ id, name: brandName(exchange.name ?? id), exchange })));
  }
  return rows;
}

export function renderExchangeTable(rows: readonly ExchangeRow[]): string {
  const header: ExchangeRow = { id: "id", name: "name", kind: "ccxt", intervals: "native intervals", pageLimit: 0, history: "history" };
  const cells = (r: ExchangeRow, head = false) => [r.id, r.name, head ? "adapter" : r.kind, r.intervals, head ? "page" : String(r.pageLimit), r.history];
  const table = [cells(header, true), ...rows.map((r) => cells(r))];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) =>
    row
      .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
  const natives = rows.filter((r) => r.kind === "native").length;
  return `${lines.join("\n")}\n\n${natives} native, ${rows.length - natives} through ccxt. Name them in the config's exchanges: by id (case-insensitive).\n`;
}
