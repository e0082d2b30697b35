import type { SimService } from "./reply.ts";

/**
 * OKX spot, as ccxt's `okx` class calls it (served for the ccxt path; there is no native adapter).
 * Skeleton: answers nothing yet (404 for every path).
 */
export function createOkxService(_seed: number): SimService {
  return {
    handle: () => undefined,
    reset: () => {},
  };
}
