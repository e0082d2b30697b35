import { NATIVE_EXCHANGES } from "./index.ts";

/**
 * Display names (the `Exchange` column) by id and back. The native ones come from the registry; a
 * ccxt exchange's brand is recorded when its adapter is made, before anything is read or written.
 */
const nameById = new Map<string, string>(Object.values(NATIVE_EXCHANGES).map((a) => [a.id, a.name]));
const idByName = new Map<string, string>([...nameById].map(([id, name]) => [name, id]));

export function recordExchangeName(id: string, name: string): void {
  // A native exchange forced onto ccxt keeps its native name, so its rows are the same rows.
  if (nameById.has(id)) return;
  nameById.set(id, name);
  idByName.set(name, id);
}

/** The name stored in CSV and the `exchange` columns (`Binance`, `OKX`). */
export function exchangeName(id: string): string {
  return nameById.get(id) ?? id;
}

/** The id of a stored exchange name, or undefined for a name this process does not know. */
export function exchangeIdOf(name: string): string | undefined {
  return idByName.get(name);
}
