/**
 * Deterministic randomness for the simulator: stateless integer hashes (so any minute can be
 * computed without iterating from an origin), smooth value noise built on them, and a seeded PRNG.
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

/**
 * Smooth noise in [-1, 1]: random values at integer points of `x`, joined by a smoothstep.
 * Continuous in `x`, so a price path built from it has no jumps between minutes.
 */
export function valueNoise(key: number, x: number, salt: number): number {
  const i = Math.floor(x);
  const f = x - i;
  const a = unitAt(key, i, salt) * 2 - 1;
  const b = unitAt(key, i + 1, salt) * 2 - 1;
  return a + (b - a) * (f * f * (3 - 2 * f));
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
