/**
 * Losses and metrics of the training loop, as Keras computes them.
 *
 * Ports of `keras/src/losses/losses.py` (categorical/sparse categorical/binary crossentropy with
 * `from_logits=False`: probabilities renormalised over the last axis, clipped to
 * `[epsilon, 1 - epsilon]` with `epsilon = 1e-7`, mean over the batch) and
 * `keras/src/metrics/accuracy_metrics.py`; `'accuracy'` is resolved from the loss as in
 * `keras/src/trainers/compile_utils.py` (`get_metric`).
 */
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from './errors';

/** Keras's `backend.epsilon()`. */
export const KERAS_EPSILON = 1e-7;

/** Loss names understood by `fit` (Keras snake_case or TF.js camelCase). */
export type LossName =
  | 'categorical_crossentropy' | 'categoricalCrossentropy'
  | 'sparse_categorical_crossentropy' | 'sparseCategoricalCrossentropy'
  | 'binary_crossentropy' | 'binaryCrossentropy';

/** Metric names understood by `fit`. */
export type MetricName =
  | 'accuracy' | 'acc'
  | 'categorical_accuracy' | 'categoricalAccuracy'
  | 'sparse_categorical_accuracy' | 'sparseCategoricalAccuracy'
  | 'binary_accuracy' | 'binaryAccuracy';

/** `(yTrue, yPred) → per-sample values [batch]`. */
export type SampleFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor1D;

/** A resolved loss or metric: its log key and per-sample function. */
export interface ResolvedFn {
  /** Key in the logs, e.g. `'loss'`, `'accuracy'`. */
  name: string;
  /** Per-sample values; `fit` averages them (mean over the batch, weighted by batch size over an epoch). */
  fn: SampleFn;
}

type Kind = 'categorical' | 'sparse' | 'binary';

function lossKind(name: string): Kind {
  switch (name) {
    case 'categorical_crossentropy':
    case 'categoricalCrossentropy':
      return 'categorical';
    case 'sparse_categorical_crossentropy':
    case 'sparseCategoricalCrossentropy':
      return 'sparse';
    case 'binary_crossentropy':
    case 'binaryCrossentropy':
      return 'binary';
    default:
      throw new TrainingError(`Expected loss to be one of 'categorical_crossentropy', 'sparse_categorical_crossentropy', 'binary_crossentropy' (or their camelCase TF.js names), but received '${name}'. Pass a function (yTrue, yPred) => per-sample tensor for other losses.`);
  }
}

const clipProbs = (p: tf.Tensor): tf.Tensor => tf.clipByValue(p, KERAS_EPSILON, 1 - KERAS_EPSILON);

/** Per-sample categorical crossentropy of probabilities (Keras, `from_logits=False`). */
export function categoricalCrossentropyPerSample(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const p = clipProbs(tf.div(yPred, tf.sum(yPred, -1, true)));
    return tf.neg(tf.sum(tf.mul(tf.cast(yTrue, 'float32'), tf.log(p)), -1)).reshape([-1]) as tf.Tensor1D;
  });
}

/** Per-sample sparse categorical crossentropy; `yTrue` holds class indices (`[batch]` or `[batch, 1]`). */
export function sparseCategoricalCrossentropyPerSample(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const depth = yPred.shape[yPred.shape.length - 1] as number;
    const oneHot = tf.oneHot(tf.cast(tf.reshape(yTrue, [-1]), 'int32'), depth);
    return categoricalCrossentropyPerSample(oneHot, yPred);
  });
}

/** Per-sample binary crossentropy (mean over the last axis), Keras `from_logits=False`. */
export function binaryCrossentropyPerSample(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const p = clipProbs(yPred);
    const y = tf.cast(tf.reshape(yTrue, p.shape), 'float32');
    const ce = tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p)))));
    return (ce.rank > 1 ? tf.mean(ce, -1) : ce).reshape([-1]) as tf.Tensor1D;
  });
}

/** Per-sample categorical accuracy: 1 where argmax(yPred) equals argmax(yTrue). */
export function categoricalAccuracyPerSample(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.cast(tf.equal(tf.argMax(yTrue, -1), tf.argMax(yPred, -1)), 'float32').reshape([-1]) as tf.Tensor1D);
}

/** Per-sample sparse categorical accuracy: 1 where argmax(yPred) equals the index in yTrue. */
export function sparseCategoricalAccuracyPerSample(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.cast(tf.equal(tf.cast(tf.reshape(yTrue, [-1]), 'int32'), tf.argMax(yPred, -1)), 'float32') as tf.Tensor1D);
}

/** Per-sample binary accuracy with Keras's threshold 0.5 (mean over the last axis). */
export function binaryAccuracyPerSample(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const hit = tf.cast(tf.equal(tf.cast(tf.greater(yPred, 0.5), 'float32'), tf.cast(tf.reshape(yTrue, yPred.shape), 'float32')), 'float32');
    return (hit.rank > 1 ? tf.mean(hit, -1) : hit).reshape([-1]) as tf.Tensor1D;
  });
}

const LOSS_FNS: Record<Kind, SampleFn> = {
  categorical: categoricalCrossentropyPerSample,
  sparse: sparseCategoricalCrossentropyPerSample,
  binary: binaryCrossentropyPerSample,
};
const ACC_FNS: Record<Kind, SampleFn> = {
  categorical: categoricalAccuracyPerSample,
  sparse: sparseCategoricalAccuracyPerSample,
  binary: binaryAccuracyPerSample,
};

/** Resolves a loss name or per-sample function to `{ name: 'loss', fn }`. */
export function resolveLoss(loss: string | SampleFn): ResolvedFn & { kind: Kind | null } {
  if (typeof loss === 'function') return { name: 'loss', fn: loss, kind: null };
  const kind = lossKind(loss);
  return { name: 'loss', fn: LOSS_FNS[kind], kind };
}

/**
 * Resolves metric names. `'accuracy'`/`'acc'` follow the loss like Keras (categorical loss →
 * categorical accuracy, sparse → sparse, binary → binary; a custom loss → categorical) and keep
 * the name given as the log key; other names log under their Keras snake_case name.
 */
export function resolveMetrics(metrics: ReadonlyArray<string | ResolvedFn>, lossKindOf: Kind | null): ResolvedFn[] {
  return metrics.map((m) => {
    if (typeof m !== 'string') return m;
    switch (m) {
      case 'accuracy':
      case 'acc':
        return { name: m, fn: ACC_FNS[lossKindOf ?? 'categorical'] };
      case 'categorical_accuracy':
      case 'categoricalAccuracy':
        return { name: 'categorical_accuracy', fn: categoricalAccuracyPerSample };
      case 'sparse_categorical_accuracy':
      case 'sparseCategoricalAccuracy':
        return { name: 'sparse_categorical_accuracy', fn: sparseCategoricalAccuracyPerSample };
      case 'binary_accuracy':
      case 'binaryAccuracy':
        return { name: 'binary_accuracy', fn: binaryAccuracyPerSample };
      default:
        throw new TrainingError(`Expected metrics entries among 'accuracy', 'categorical_accuracy', 'sparse_categorical_accuracy', 'binary_accuracy', but received '${m}'. Pass { name, fn } for a custom per-sample metric.`);
    }
  });
}
