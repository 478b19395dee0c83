/**
 * The forward path shared by fit, evaluate and predictIterator: the frozen prefix (TF.js in
 * inference mode, or a PrefixEngine) outside any gradient tape, then the trainable tail.
 */
import * as tf from '@tensorflow/tfjs';
import { splitFrozenPrefix, type FrozenSplit } from './prefix';
import { makeBatchNormRespectTrainable } from '../layers/batch-normalization';
import { TrainingError } from './errors';
import type { Batch, BatchSource, PrefixEngine } from './types';

/** A model prepared for split execution. */
export interface Pipeline {
  readonly split: FrozenSplit;
  readonly engine: PrefixEngine | null;
  /** Tail inputs for a batch (prefix outputs, or the images when nothing is frozen); the caller disposes them. */
  features(batch: Batch, source: BatchSource): Promise<tf.Tensor[]>;
  /** Runs the tail; returns its (single) output. Call inside a tidy or tape. */
  tail(inputs: tf.Tensor[], training: boolean): tf.Tensor;
  /** One line for logs: where the prefix runs. */
  describe(): string;
}

/**
 * Prepares `model` for split execution.
 *
 * @throws TrainingError when a PrefixEngine is given but nothing is frozen, or the model has several outputs
 */
export function createPipeline(model: tf.LayersModel, prefixEngine?: PrefixEngine | null, options: { split?: boolean } = {}): Pipeline {
  if (model.outputs.length !== 1) {
    throw new TrainingError(`Expected a model with one output, but '${model.name}' has ${model.outputs.length}. Multi-output training is not supported.`);
  }
  const split: FrozenSplit = options.split === false ? { prefix: null, tail: model, cutTensors: model.inputs.map((t) => t.name), prefixLayerCount: 0 } : splitFrozenPrefix(model);
  if (split.prefix === null) makeBatchNormRespectTrainable(model);
  const engine = prefixEngine ?? null;
  if (engine && split.prefix === null) {
    throw new TrainingError(`A prefixEngine (${engine.describe()}) was given but model '${model.name}' has no frozen leading layers to run on it. Freeze the base (layer.trainable = false) or drop prefixEngine.`);
  }
  const tailModel = split.tail;
  return {
    split,
    engine,
    async features(batch, source) {
      if (split.prefix === null) return [batch.xs.clone()];
      if (engine) {
        const out = await engine.predict(batch.xs as tf.Tensor4D, { filepaths: batch.filepaths, deterministic: source.deterministic, preprocessingKey: source.preprocessingKey });
        if (out.length !== tailModel.inputs.length) {
          tf.dispose(out);
          throw new TrainingError(`PrefixEngine ${engine.describe()} returned ${out.length} tensors but the cut has ${tailModel.inputs.length} (${split.cutTensors.join(', ')}).`);
        }
        return out;
      }
      const prefix = split.prefix;
      return tf.tidy(() => {
        const out = prefix.apply(batch.xs, { training: false }) as tf.Tensor | tf.Tensor[];
        return Array.isArray(out) ? out : [out];
      });
    },
    tail(inputs, training) {
      return tailModel.apply(inputs.length === 1 ? inputs[0] : inputs, { training }) as tf.Tensor;
    },
    describe() {
      if (split.prefix === null) return 'no frozen prefix: the whole model trains under the tape';
      const where = engine ? engine.describe() : 'TF.js (inference mode)';
      return `frozen prefix of ${split.prefixLayerCount} layers on ${where}; tail of ${model.layers.length - split.prefixLayerCount} layers trains; cut: ${split.cutTensors.join(', ')}`;
    },
  };
}
