/**
 * Saving and restoring an optimizer's state (slots, iteration count, bias-correction
 * accumulators) so a resumed run continues exactly where it stopped.
 *
 * TF.js's `optimizer.getWeights()` / `setWeights()` carry the iteration count and the slot
 * variables (Adam's first and second moments); Adam's `accBeta1`/`accBeta2` are recomputed by
 * `setWeights` as `beta^(iterations+1)`, which can differ from the running product by an ulp, so
 * every other scalar `tf.Variable` field of the optimizer is stored and assigned back verbatim.
 */
import * as tf from '@tensorflow/tfjs';
import { storeTensors, toTensor, type StoredTensor } from './checkpoint-file';

/** Variable-valued own fields not covered by getWeights (Adam: accBeta1, accBeta2; Adamax: iteration, accBeta1). */
function extraVariables(optimizer: tf.Optimizer, exclude: Set<tf.Tensor>): Array<[string, tf.Variable]> {
  return Object.entries(optimizer as unknown as Record<string, unknown>)
    .filter((e): e is [string, tf.Variable] => e[1] instanceof tf.Variable && !exclude.has(e[1]))
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * Reads the optimizer's state as stored tensors (groups `'optimizer'` and `'optimizer_extra'`).
 *
 * @returns stored copies; no live tensors are kept
 */
export async function storeOptimizerState(optimizer: tf.Optimizer): Promise<StoredTensor[]> {
  const weights = await optimizer.getWeights();
  try {
    const slots = storeTensors('optimizer', weights);
    const extras = storeTensors('optimizer_extra', extraVariables(optimizer, new Set(weights.map((w) => w.tensor))).map(([name, tensor]) => ({ name, tensor })));
    return [...slots, ...extras];
  } finally {
    // The iteration scalar is created by getWeights; the slot variables are live and stay.
    weights[0]?.tensor.dispose();
  }
}

/**
 * Restores state produced by {@link storeOptimizerState} into an optimizer of the same class
 * used on the same variables (same order).
 */
export async function restoreOptimizerState(optimizer: tf.Optimizer, stored: StoredTensor[]): Promise<void> {
  const slots = stored.filter((s) => s.group === 'optimizer');
  if (slots.length > 0) {
    const old = await optimizer.getWeights();
    const incoming = slots.map((s) => ({ name: s.name, tensor: toTensor(s) }));
    try {
      await optimizer.setWeights(incoming);
    } finally {
      tf.dispose(incoming.map((w) => w.tensor));
    }
    // setWeights replaced the slot variables: release the old ones (and getWeights' iteration scalar).
    tf.dispose(old.map((w) => w.tensor));
  }
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const s of stored.filter((t) => t.group === 'optimizer_extra')) {
    const v = fields[s.name];
    if (v instanceof tf.Variable && v.shape.length === s.shape.length) {
      const t = toTensor(s);
      v.assign(t);
      t.dispose();
    }
  }
}
