/**
 * What ccxt knows of exchanges, loaded only when a configured exchange needs it: the default four
 * native exchanges never load ccxt (start-up time and idle memory stay as they were).
 */
import { readFileSync } from "node:fs";
import type * as CcxtModule from "ccxt";

export type Ccxt = typeof CcxtModule;

let loaded: Ccxt | undefined;

/**
 * The package's name, kept from the bundler: the executable must not carry ccxt in its own bundle
 * (every start would map it), so from a checkout ccxt is required at run time from node_modules.
 */
const CCXT_PACKAGE = "ccxt";
/** The embedded file scripts/build.ts puts in the executable: ccxt's CommonJS bundle. */
const EMBEDDED_BUNDLE = /^ccxt-bundle(-[a-z0-9]+)?\.txt$/;

/** ccxt itself, loaded on first use (synchronously: config validation stays free of awaits). */
export function loadCcxt(): Ccxt {
  loaded ??= loadEmbeddedCcxt() ?? (require(CCXT_PACKAGE) as Ccxt);
  return loaded;
}

/** In the executable: evaluates the embedded bundle, as CommonJS, once. Undefined from a checkout. */
function loadEmbeddedCcxt(): Ccxt | undefined {
  const file = Bun.embeddedFiles.find((f) => EMBEDDED_BUNDLE.test((f as File).name ?? ""));
  if (!file) return undefined;
  const text = readFileSync(`/$bunfs/root/${(file as File).name}`, "utf8");
  const module: { exports: unknown } = { exports: {} };
  new Function("module", "exports", "require", text)(module, module.exports, require);
  return module.exports as Ccxt;
}

export interface CcxtExchangeInfo {
  id: string;
  /** ccxt's own name (`Coinbase Advanced`). */
  ccxtName: string;
  /** The brand users say, our `Exchange` column (`Coinbase`). */
  brand: string;
  hasOhlcv: boolean;
}

/** The ccxt exchanges, as config validation and `cryptointellect exchanges` see them (injectable in tests). */
export interface ExchangeCatalog {
  ids(): readonly string[];
  describe(id: string): CcxtExchangeInfo | undefined;
}

/** Every exchange id ccxt has a class for (its typings call the list an object; it is an array). */
function ccxtIds(): readonly string[] {
  return loadCcxt().exchanges as unknown as readonly string[];
}

/** A new instance of ccxt's class for the exchange (no network), or undefined when ccxt has none. */
export function newCcxtExchange(id: string, options: Record<string, unknown> = {}): CcxtModule.Exchange | undefined {
  const ccxt = loadCcxt();
  if (!ccxtIds().includes(id)) return undefined;
  return new (ccxt as unknown as Record<string, new (options: Record<string, unknown>) => CcxtModule.Exchange>)[id]!(options);
}

export const ccxtCatalog: ExchangeCatalog = {
  ids: ccxtIds,
  describe(id) {
    const exchange = newCcxtExchange(id);
    if (!exchange) return undefined;
    return { id, ccxtName: exchange.name ?? id, brand: brandName(exchange.name ?? id), hasOhlcv: exchange.has.fetchOHLCV === true };
  },
};

/** ccxt names API products (`Coinbase Advanced`, `MEXC Global`); the column says the brand. */
const PRODUCT_SUFFIX = /\s+(Advanced|Advanced Trade|Global)$/;

export function brandName(ccxtName: string): string {
  return ccxtName.replace(PRODUCT_SUFFIX, "").trim() || ccxtName;
}

/** The closest ids to a mistyped one (edit distance, then shared prefix), at most `count`. */
export function closestIds(input: string, ids: readonly string[], count = 3): string[] {
  const scored = ids.map((id) => ({ id, d: editDistance(input, id) - (id.startsWith(input.slice(0, 3)) ? 0.5 : 0) }));
  scored.sort((a, b) => a.d - b.d || a.id.localeCompare(b.id));
  const limit = Math.max(2, Math.ceil(input.length / 2));
  return scored
    .filter((s) => s.d <= limit)
    .slice(0, count)
    .map((s) => s.id);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
