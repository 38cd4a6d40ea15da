/**
 * A seeded pseudo-random source for the trace generator: the same seed gives
 * the same trace on every machine (Math.random cannot be seeded).
 *
 * @module
 */

/** Draws from common distributions; every draw advances one stream. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  /** Standard normal. */
  normal(): number;
  /** Poisson with the given mean. */
  poisson(mean: number): number;
  /** One of `items`, with probability proportional to `weights` (all items equal when omitted). */
  pick<T>(items: readonly T[], weights?: readonly number[]): T;
  /** `bytes` random bytes as lowercase hex. */
  hex(bytes: number): string;
}

/** A {@linkcode Random} on the 32-bit mulberry generator, seeded with `seed`. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const normal = (): number => {
    // Box–Muller; 1 - u keeps the logarithm finite.
    const u = 1 - next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const poisson = (mean: number): number => {
    if (mean <= 0) return 0;
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
    // Knuth: multiply uniforms until the product falls below e^-mean.
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = next(); p > limit; p *= next()) k++;
    return k;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    normal,
    poisson,
    pick<T>(items: readonly T[], weights?: readonly number[]): T {
      if (items.length === 0) throw new RangeError("Cannot pick from nothing");
      if (!weights) return items[Math.floor(next() * items.length)]!;
      const total = weights.reduce((a, b) => a + b, 0);
      let r = next() * total;
      for (let i = 0; i < items.length; i++) {
        r -= weights[i] ?? 0;
        if (r < 0) return items[i]!;
      }
      return items[items.length - 1]!;
    },
    hex(bytes) {
      let out = "";
      for (let i = 0; i < bytes; i++) out += Math.floor(next() * 256).toString(16).padStart(2, "0");
      return out;
    },
  };
}
