import { readFileSync } from "node:fs";

/** A hand-written wire body from `tests/fixtures/<exchange>/<name>`, parsed as the engine would. */
export function fixture(exchange: string, name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/${exchange}/${name}`, import.meta.url), "utf8"));
}
