import { z } from "zod";
import { ExchangeSchemaError } from "../errors.ts";

/** A decimal number sent as a JSON string (`"67510.01000000"`), as all four exchanges send prices. */
export const decimalString = z
  .string()
  .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, "expected a decimal number in a string")
  .transform(Number);

/** A whole number of seconds or milliseconds sent as a string (KuCoin's timestamps). */
export const integerString = z.string().regex(/^\d{1,16}$/, "expected an integer in a string").transform(Number);

/** Parses `body` with `schema` or throws ExchangeSchemaError naming the first problem's path. */
export function parseWire<T extends z.ZodType>(schema: T, body: unknown, where: string): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.join(".") : "(body)";
  throw new ExchangeSchemaError(where, `${path}: ${issue?.message ?? "invalid"}`);
}

/** Picks, per base coin, the market with the most preferred quote. Candidates are already tradable. */
export function pickPreferredQuote<M extends { coin: string; quote: string }>(candidates: readonly M[], quotePreference: readonly string[]): M[] {
  const rank = (quote: string) => {
    const i = quotePreference.indexOf(quote);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  const best = new Map<string, M>();
  for (const m of candidates) {
    if (m.coin === m.quote || rank(m.quote) === Number.POSITIVE_INFINITY) continue;
    const current = best.get(m.coin);
    if (!current || rank(m.quote) < rank(current.quote)) best.set(m.coin, m);
  }
  return [...best.values()].sort((a, b) => a.coin.localeCompare(b.coin));
}
