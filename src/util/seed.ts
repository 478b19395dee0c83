/**
 * One seed for a whole run, like Keras's `keras.utils.set_random_seed`. TensorFlow.js draws its
 * weight initialisers and dropout masks from `Math.random` when no seed is given, so a seeded
 * `Math.random` makes those reproducible too; the library's own randomness (shuffling,
 * augmentation, the phantom) takes explicit seeds derived from the same number.
 */
import { createRandom } from './random';
import { checkInteger } from './validate';

const originalRandom = Math.random;
let globalSeed: number | null = null;

/**
 * Seeds every source of randomness a run uses: `Math.random` (hence TF.js initialisers and
 * dropout) and the library's default seed ({@link getGlobalSeed}).
 *
 * @param seed - a non-negative integer
 * @throws TypeError when `seed` is not a non-negative integer
 * @example
 * setGlobalSeed(42); // the same model weights and batches on every run
 */
export function setGlobalSeed(seed: number): void {
  checkInteger('seed', seed, 0);
  globalSeed = seed;
  const rng = createRandom(seed);
  Math.random = rng.next;
}

/** The seed set by {@link setGlobalSeed}, or null when none was set. */
export function getGlobalSeed(): number | null {
  return globalSeed;
}

/** Restores the platform's unseeded `Math.random` and forgets the global seed. */
export function clearGlobalSeed(): void {
  globalSeed = null;
  Math.random = originalRandom;
}
