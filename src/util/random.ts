/**
 * Seeded pseudo-random numbers: one small, fast generator (mulberry32) used for shuffling,
 * augmentation, synthetic data and weight initialisation, so one seed reproduces a whole run.
 */

/** A deterministic random source. */
export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform float in [low, high). */
  uniform(low: number, high: number): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (Box–Muller). */
  normal(mean?: number, std?: number): number;
  /** Returns a new array with `items` shuffled (Fisher–Yates); the input is not modified. */
  shuffle<T>(items: readonly T[]): T[];
}

/**
 * Creates a seeded generator. The same seed always gives the same sequence.
 *
 * @param seed - any integer (taken modulo 2^32); default 0
 * @returns a {@link Random}
 * @example
 * const rng = createRandom(42);
 * rng.uniform(-1, 1);
 */
export function createRandom(seed = 0): Random {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  let spare: number | null = null;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (low, high) => low + (high - low) * next(),
    int: (n) => Math.floor(next() * n),
    normal: (mean = 0, std = 1) => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return mean + std * s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return mean + std * r * Math.cos(2 * Math.PI * v);
    },
    shuffle: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/** Derives a new 32-bit seed from a base seed and a counter (e.g. `seed + batchesSeen`), well mixed. */
export function deriveSeed(seed: number, counter: number): number {
  let h = (Math.imul((seed >>> 0) ^ 0x85ebca6b, 0xc2b2ae35) + Math.imul(counter >>> 0, 0x27d4eb2f)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}
