/**
 * The runner of a split model, shared by fit, evaluate and predictIterator: the frozen prefix
 * (TF.js in inference mode, or a PrefixEngine) outside any gradient tape, then the trainable tail.
 */
import * as tf from '@tensorflow/tfjs';
import { splitFrozenPrefix, type FrozenSplit } from './prefix';
import { TrainingError } from './errors';
import { makeBatchNormRespectTrainable } from '../layers/batch-normalization';
import { makeConvGradientsLazy } from '../layers/conv-gradients';
import type { PrefixRunOutput } from '../acceleration/cached-outputs';
import { sharedTailEngine, type TailEngine } from '../acceleration/tail-engine';
import type { PrefixEngine, PrefixEngineMeta } from './types';

/** A model prepared for split execution: its split, the engine of its prefix, and how to run each part. */
export interface SplitModelRunner {
  readonly split: FrozenSplit;
  readonly engine: PrefixEngine | null;
  /**
   * Tail inputs for a batch of images (prefix outputs, or the images when nothing is frozen);
   * `xs` is not disposed; the caller disposes the result.
   */
  prefixOutputs(xs: tf.Tensor, meta?: PrefixEngineMeta): Promise<tf.Tensor[]>;
  /** Checks that an engine returned one tensor per cut tensor (disposing them when not). */
  checkOutputs(outputs: tf.Tensor[]): tf.Tensor[];
  /** Runs the tail; returns its (single) output. Call inside a tidy or tape. */
  tail(inputs: tf.Tensor[], training: boolean): tf.Tensor;
  /**
   * Runs the tail in inference mode for prediction and evaluation: on ONNX Runtime when the runner
   * has a tail engine (see `accelerateTail`), else on TF.js. `data`, when given, holds the inputs
   * instead (a `TailBatch` drawn with `predictOnly`; `inputs` is then empty). Neither is disposed;
   * the caller disposes the result.
   */
  predictTail(inputs: tf.Tensor[], data?: PrefixRunOutput[]): Promise<tf.Tensor>;
  /** The engine of `predictTail`, or null when the tail predicts on TF.js. */
  readonly tailEngine: TailEngine | null;
  /** One line for logs: where the prefix runs. */
  describe(): string;
}

/**
 * Prepares `model` for split execution.
 *
 * @param model - a model with one output
 * @param prefixEngine - runs the frozen prefix instead of TF.js; default none
 * @param options - `split: false` cuts nothing (the whole model runs under the tape);
 *   `accelerateTail: true` runs `predictTail` on ONNX Runtime (a shared `TailEngine`, falling back
 *   to TF.js when the tail does not convert) when there is a frozen prefix. Default false.
 * @returns the runner
 * @throws TrainingError when a PrefixEngine is given but nothing is frozen, or the model has several outputs
 * @example
 * const runner = createSplitModelRunner(model, engine);
 * const features = await runner.prefixOutputs(xs);
 */
export function createSplitModelRunner(model: tf.LayersModel, prefixEngine?: PrefixEngine | null, options: { split?: boolean; accelerateTail?: boolean } = {}): SplitModelRunner {
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
  // Only the gradients the tape needs (no input gradient for convolutions fed by the cut).
  makeConvGradientsLazy(tailModel);
  const checkOutputs = (out: tf.Tensor[]): tf.Tensor[] => {
    if (out.length !== tailModel.inputs.length) {
      tf.dispose(out);
      throw new TrainingError(`PrefixEngine ${engine?.describe()} returned ${out.length} tensors but the cut has ${tailModel.inputs.length} (${split.cutTensors.join(', ')}).`);
    }
    return out;
  };
  const tailEngine = options.accelerateTail === true && split.prefix !== null ? sharedTailEngine(tailModel) : null;
  const tail = (inputs: tf.Tensor[], training: boolean): tf.Tensor => tailModel.apply(inputs.length === 1 ? inputs[0] : inputs, { training }) as tf.Tensor;
  return {
    split,
    engine,
    tailEngine,
    checkOutputs,
    async prefixOutputs(xs, meta) {
      if (split.prefix === null) return [xs.clone()];
      if (engine) return checkOutputs(await engine.predict(xs as tf.Tensor4D, meta));
      const prefix = split.prefix;
      return tf.tidy(() => {
        const out = prefix.apply(xs, { training: false }) as tf.Tensor | tf.Tensor[];
        return Array.isArray(out) ? out : [out];
      });
    },
    tail,
    async predictTail(inputs, data) {
      if (tailEngine !== null) return data === undefined ? tailEngine.predict(inputs) : tailEngine.predictData(data);
      if (data === undefined) return tf.tidy(() => tail(inputs, false));
      const tensors = data.map((o) => tf.tensor(o.data, o.dims));
      try {
        return tf.tidy(() => tail(tensors, false));
      } finally {
        tf.dispose(tensors);
      }
    },
    describe() {
      if (split.prefix === null) return 'no frozen prefix: the whole model trains under the tape';
      const where = engine ? engine.describe() : 'TF.js (inference mode)';
      return `frozen prefix of ${split.prefixLayerCount} layers on ${where}; tail of ${model.layers.length - split.prefixLayerCount} layers trains; cut: ${split.cutTensors.join(', ')}`;
    },
  };
}
