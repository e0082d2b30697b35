import type { SimService } from "./reply.ts";

/**
 * Bybit spot, as ccxt's `bybit` class calls it (served for the ccxt path; there is no native adapter).
 * Skeleton: answers nothing yet (404 for every path).
 */
export function createBybitService(_seed: number): SimService {
  return {
    handle: () => undefined,
    reset: () => {},
  };
}
