/**
 * How the prefix engines notice changed weights: TF.js gives a variable new storage on every
 * `assign` (hence on `setWeights`/`loadWeights`), so a model's weights changed exactly when the
 * storage identities of its variables differ from those remembered.
 *
 * No Keras original.
 */
import type * as tf from '@tensorflow/tfjs';

type Variable = { dataId: object };

/**
 * The storage identities of `model`'s weights, in `model.weights` order.
 *
 * @returns one opaque object per weight; compare with {@link sameStorage}
 */
export function weightStorage(model: tf.LayersModel): object[] {
  return model.weights.map((w) => (w.read() as unknown as Variable).dataId);
}

/**
 * Whether two snapshots from {@link weightStorage} name the same storage (no weight was assigned).
 *
 * @returns true when they have the same length and identities
 */
export function sameStorage(a: readonly object[], b: readonly object[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
