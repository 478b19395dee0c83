/**
 * One optimizer step for `fit`: `optimizer.minimize(f, true, varList)`, with TF.js's Adam update
 * done in less memory. TF.js's `AdamOptimizer.applyGradients` runs all variables in one `tidy`, so
 * the dozen temporaries of every variable stay alive until the last one is updated: for the
 * walkthrough's tail (7.4 M trainable parameters) ≈ 90 MB at once, the largest allocation of the
 * whole step, and the wasm heap keeps its high-water mark for the life of the process. Here each
 * temporary is freed as soon as the next operation has used it: the same operations in the same
 * order on the same values, so the results are bit for bit those of `applyGradients`, and the
 * optimizer's state (moments, `accBeta1`/`accBeta2`, iterations) is the one it keeps itself, so
 * `getWeights`/`setWeights` and checkpoints see no difference. Other optimizers, and Adam
 * subclasses that override `applyGradients`, go through their own `applyGradients`.
 *
 * Port of the update in tfjs-core's `optimizers/adam_optimizer.ts` (from Kingma & Ba, as Keras).
 */
import * as tf from '@tensorflow/tfjs';

/** The fields of tfjs's AdamOptimizer that its `applyGradients` uses (not public API, stable across tfjs 4). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

/** Whether `optimizer` is a TF.js Adam whose update is tfjs's own (not overridden by a subclass). */
function isStockAdam(optimizer: tf.Optimizer): boolean {
  return optimizer instanceof tf.AdamOptimizer && (optimizer as unknown as { applyGradients: unknown }).applyGradients === tf.AdamOptimizer.prototype.applyGradients;
}

/** Runs `f`, disposes `inputs`, returns `f`'s result. */
function then<T extends tf.Tensor>(f: () => T, ...inputs: tf.Tensor[]): T {
  const out = f();
  tf.dispose(inputs);
  return out;
}

/** TF.js's Adam update, one variable at a time, each temporary freed after its last use. */
function leanAdam(adam: AdamInternals, grads: Array<{ name: string; tensor: tf.Tensor | undefined }>): void {
  const oneMinusAccBeta1 = tf.tidy(() => tf.sub(1, adam.accBeta1));
  const oneMinusAccBeta2 = tf.tidy(() => tf.sub(1, adam.accBeta2));
  try {
    grads.forEach(({ name, tensor: gradient }, i) => {
      // The tidy frees the scalars the operations make from numbers; the big temporaries go earlier.
      tf.tidy(() => {
        const value = tf.engine().registeredVariables[name] as tf.Variable;
        adam.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        adam.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        if (gradient == null) return;
        const firstMoment = (adam.accumulatedFirstMoment[i] as { variable: tf.Variable }).variable;
        const secondMoment = (adam.accumulatedSecondMoment[i] as { variable: tf.Variable }).variable;
        const a = tf.mul(firstMoment, adam.beta1);
        const newFirstMoment = then(() => tf.add(a, tf.mul(gradient, 1 - adam.beta1)), a);
        const b = tf.mul(secondMoment, adam.beta2);
        const squared = tf.square(gradient);
        const newSecondMoment = then(() => tf.add(b, then(() => tf.mul(squared, 1 - adam.beta2), squared)), b);
        const biasCorrectedFirstMoment = tf.div(newFirstMoment, oneMinusAccBeta1);
        const biasCorrectedSecondMoment = tf.div(newSecondMoment, oneMinusAccBeta2);
        firstMoment.assign(newFirstMoment);
        secondMoment.assign(newSecondMoment);
        tf.dispose([newFirstMoment, newSecondMoment]); // the variables keep the storage
        const root = then(() => tf.sqrt(biasCorrectedSecondMoment), biasCorrectedSecondMoment);
        const denominator = then(() => tf.add(root, adam.epsilon), root);
        const ratio = then(() => tf.div(biasCorrectedFirstMoment, denominator), biasCorrectedFirstMoment, denominator);
        const stepValue = then(() => tf.mul(ratio, -adam.learningRate), ratio);
        const newValue = then(() => tf.add(stepValue, value), stepValue);
        value.assign(newValue);
        newValue.dispose();
      });
    });
    tf.tidy(() => {
      adam.accBeta1.assign(tf.mul(adam.accBeta1, adam.beta1));
      adam.accBeta2.assign(tf.mul(adam.accBeta2, adam.beta2));
    });
  } finally {
    tf.dispose([oneMinusAccBeta1, oneMinusAccBeta2]);
  }
  adam.incrementIterations();
}

/**
 * `optimizer.minimize(f, true, varList)`: computes the gradients of `f`'s scalar with respect to
 * `varList` and applies them (TF.js's Adam in less memory, see the module's comment).
 *
 * @param optimizer - any TF.js optimizer
 * @param f - returns the loss; runs under the gradient tape
 * @param varList - the variables to update
 * @returns the loss (the caller disposes it)
 * @example
 * const loss = minimize(optimizer, () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor), vars);
 */
export function minimize(optimizer: tf.Optimizer, f: () => tf.Scalar, varList: tf.Variable[]): tf.Scalar {
  const { value, grads } = optimizer.computeGradients(f, varList);
  try {
    applyGradients(optimizer, varList.map((v) => ({ name: v.name, tensor: grads[v.name] })));
  } finally {
    tf.dispose(grads);
  }
  return value;
}

/**
 * `optimizer.applyGradients(grads)`, with TF.js's Adam in less memory (see the module's comment):
 * the update of gradients computed elsewhere (the tail's training step on ONNX Runtime).
 *
 * @param optimizer - any TF.js optimizer
 * @param grads - one entry per variable, named by the variable (`variable.name`), in the order of
 *   the optimizer's variables; a missing tensor leaves its variable unchanged. Not disposed.
 * @example
 * applyGradients(optimizer, [{ name: kernel.name, tensor: dKernel }]);
 */
export function applyGradients(optimizer: tf.Optimizer, grads: Array<{ name: string; tensor: tf.Tensor | undefined }>): void {
  if (isStockAdam(optimizer)) leanAdam(optimizer as unknown as AdamInternals, grads);
  else optimizer.applyGradients(grads as Array<{ name: string; tensor: tf.Tensor }>); // tfjs skips missing tensors by index
}
