import type { SimService } from "./reply.ts";

/**
 * Coinbase spot, as ccxt's `coinbase` class calls it (served for the ccxt path; there is no native adapter).
 * Skeleton: answers nothing yet (404 for every path).
 */
export function createCoinbaseService(_seed: number): SimService {
  return {
    handle: () => undefined,
    reset: () => {},
  };
}
