/**
 * Deterministic randomness for the simulator: stateless integer hashes (so any minute can be
 * computed without iterating from an origin; the price model builds its smooth value noise on
 * them) and a seeded PRNG for faults.
 */

/** A 32-bit integer mixer (Chris Wellons' lowbias32): good avalanche, a handful of operations. */
export function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of a key, an integer position and a salt, as an unsigned 32-bit integer. */
export function hashAt(key: number, position: number, salt: number): number {
  return mix32(key ^ mix32((position | 0) ^ Math.imul(salt + 1, 0x9e3779b9)));
}

/** Uniform in [0, 1) for a key, position and salt. */
export function unitAt(key: number, position: number, salt: number): number {
  return hashAt(key, position, salt) / 4294967296;
}

/** FNV-1a of a string, mixed: turns names (`binance:BTC`) into hash keys. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** A seeded PRNG (mulberry32) returning floats in [0, 1): used for faults, not for market data. */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
