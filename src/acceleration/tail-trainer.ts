/**
 * A TailTrainer computes one training step of a split model's trainable tail on ONNX Runtime:
 * forward in training mode, the loss's gradient and the backward pass, in one session run of the
 * graph from `train-graph.ts`. It returns the tail's output and the weights' gradients as TF.js
 * tensors; the optimizer update stays with the caller (TF.js's own optimizer, so its state,
 * learning-rate changes and checkpoints are untouched), and the trainer updates the moving
 * statistics of the BatchNormalization layers that train, as their call in training mode would.
 *
 * Why: on the walkthrough model the tail is ≈ 1.5 GFLOP per batch of 32 (forward, backward), which
 * TF.js wasm ran at ≈ 11 GFLOP/s on the main thread, taking CPU from the prefix's ONNX Runtime.
 *
 * Dropout masks are drawn by `tf.dropout` itself (on ones, with the layer's rate and `seed`), so a
 * seeded run draws the masks the TF.js tail would. The weights are read from TF.js at every step,
 * so nothing is stale after `setWeights`, a restored checkpoint or a callback.
 *
 * No Keras original.
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { OnnxRuntimeError } from './errors';
import { loadOnnxRuntime } from './onnx-prefix-engine';
import { sessionOptions } from './onnx-session';
import { buildTrainGraph, type TrainGraph } from './train-graph';
import { checkInteger } from '../util/validate';

/** The loss a tail trainer differentiates: Keras's crossentropies on probabilities. */
export type TailTrainerLoss = 'categorical' | 'sparse' | 'binary';

/** Options of {@link createTailTrainer}. */
export interface TailTrainerArgs {
  /** ONNX Runtime intra-op threads, 1–1024. Default 1 (the calling thread). */
  threads?: number;
}

/** One step's results. The caller disposes `output` and the gradients. */
export interface TailStepResult {
  /** The tail's output in training mode, `[batch, classes]`. */
  output: tf.Tensor;
  /** The mean loss's gradient for each trainable weight, in `tail.trainableWeights` order. */
  gradients: Array<{ name: string; tensor: tf.Tensor }>;
}

/** A tail input as a flat float32 array and its NHWC shape. */
export interface TailInputData {
  data: Float32Array;
  dims: readonly number[];
}

/** A BatchNormalization that updates its moving statistics from a batch's (transferlab's layer). */
interface MovingStatistics {
  updateMovingAverages(mean: tf.Tensor, variance: tf.Tensor): void;
}

/** `values` as a Float32Array (TF.js's cpu backend may hold other typed arrays). */
function float32(values: ArrayLike<number>): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

/**
 * Trains a split model's tail on ONNX Runtime, one step at a time. Create with
 * {@link createTailTrainer}.
 */
export class TailTrainer {
  private disposed = false;
  private steps = 0;

  /** Use {@link createTailTrainer}. */
  constructor(readonly tail: tf.LayersModel, private readonly loss: TailTrainerLoss, private readonly plan: TrainGraph, private readonly session: Ort.InferenceSession, readonly threads: number) {}

  /** Steps run so far. */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * Runs one training step's forward and backward pass.
   *
   * @param inputs - the tail's inputs in `tail.inputs` order (the cut tensors of the batch, NHWC); read, not changed
   * @param ys - the batch's targets (one-hot for 'categorical', class indices for 'sparse', 0/1 for 'binary'); not disposed
   * @returns the output and the gradients (see {@link TailStepResult})
   * @throws TypeError when the number of inputs is not the tail's; OnnxRuntimeError when ONNX
   *   Runtime fails to run the step or after `dispose()` (pass `accelerate: false` or set
   *   `TRANSFERLAB_ACCELERATE=0` to train the tail on TF.js)
   * @example
   * const { output, gradients } = await trainer.step(features, ys);
   */
  async step(inputs: readonly TailInputData[], ys: tf.Tensor): Promise<TailStepResult> {
    if (this.disposed) throw new OnnxRuntimeError('This TailTrainer was disposed; create a new one with createTailTrainer.');
    if (inputs.length !== this.plan.features.length) {
      throw new TypeError(`Expected ${this.plan.features.length} tail inputs for '${this.tail.name}' but received ${inputs.length}.`);
    }
    const ort = loadOnnxRuntime();
    const n = inputs[0]?.dims[0] as number;
    const classes = Number(this.tail.outputs[0]?.shape[this.tail.outputs[0].shape.length - 1]);
    const feeds: Record<string, Ort.Tensor> = {};
    inputs.forEach((o, i) => (feeds[this.plan.features[i] as string] = new ort.Tensor('float32', float32(o.data), [...o.dims])));
    const target = tf.tidy(() => {
      if (this.loss === 'sparse') return tf.oneHot(tf.cast(tf.reshape(ys, [-1]), 'int32'), classes).toFloat();
      return tf.cast(tf.reshape(ys, [n, classes]), 'float32');
    });
    try {
      feeds[this.plan.target] = new ort.Tensor('float32', float32(target.dataSync()), [n, classes]);
    } finally {
      target.dispose();
    }
    feeds[this.plan.batchScale] = new ort.Tensor('float32', Float32Array.of(1 / (this.loss === 'binary' ? n * classes : n)), [1]);
    for (const mask of this.plan.masks) {
      // The layer's own multiplier: tf.dropout of ones with its rate and seed.
      const seed = (mask.layer as tf.layers.Layer & { seed?: number }).seed;
      const shape = [n, ...mask.shape];
      const multiplier = tf.tidy(() => tf.dropout(tf.ones(shape), mask.rate, undefined, seed));
      try {
        feeds[mask.input] = new ort.Tensor('float32', float32(multiplier.dataSync()), shape);
      } finally {
        multiplier.dispose();
      }
    }
    for (const w of this.plan.weights) feeds[w.input] = new ort.Tensor('float32', float32(w.variable.read().dataSync()), [...w.variable.shape] as number[]);
    let result: Ort.InferenceSession.ReturnType;
    try {
      result = await this.session.run(feeds);
    } catch (error) {
      throw new OnnxRuntimeError(`ONNX Runtime failed to run the training step of the tail of '${this.tail.name}': ${error instanceof Error ? error.message : String(error)}. Pass accelerate: false (or set TRANSFERLAB_ACCELERATE=0) to train it on TF.js.`, { cause: error });
    }
    const tensorOf = (name: string): tf.Tensor => {
      const t = result[name] as Ort.Tensor;
      return tf.tensor(t.data as Float32Array, t.dims.map(Number));
    };
    for (const s of this.plan.statistics) {
      const mean = tensorOf(s.mean);
      const variance = tensorOf(s.variance);
      try {
        (s.layer as unknown as MovingStatistics).updateMovingAverages(mean, variance);
      } finally {
        tf.dispose([mean, variance]);
      }
    }
    this.steps++;
    return {
      output: tensorOf(this.plan.output),
      gradients: this.plan.gradients.map((g) => ({ name: (g.variable.read() as tf.Variable).name, tensor: tensorOf(g.output) })),
    };
  }

  /** E.g. `ONNX Runtime CPU (1 thread)`. */
  describe(): string {
    return `ONNX Runtime CPU (${this.threads} thread${this.threads === 1 ? '' : 's'})`;
  }

  /** Releases the session; later steps throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.session.release().catch(() => undefined);
  }
}

/**
 * A trainer for `tail` with `loss`: builds the step's graph and opens its session.
 *
 * @param tail - `splitFrozenPrefix(model).tail`; its weights are read at each step, its
 *   BatchNormalization moving statistics updated; it stays owned by the caller
 * @param loss - see {@link TailTrainerLoss}
 * @param args - see {@link TailTrainerArgs}
 * @returns the trainer; call `dispose()` when done
 * @throws OnnxConversionError when a tail layer has no ONNX training form here (see
 *   `buildTrainGraph`); OnnxRuntimeError when onnxruntime-node cannot be loaded or refuses the
 *   graph; TypeError for an invalid `threads`
 * @example
 * const trainer = await createTailTrainer(splitFrozenPrefix(model).tail, 'categorical');
 */
export async function createTailTrainer(tail: tf.LayersModel, loss: TailTrainerLoss, args: TailTrainerArgs = {}): Promise<TailTrainer> {
  const threads = checkInteger('threads', args.threads ?? 1, 1, 1024);
  const plan = buildTrainGraph(tail, loss === 'binary' ? 'binary' : 'categorical');
  const ort = loadOnnxRuntime();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(plan.graph.encode('0.1.0'), sessionOptions(threads));
  } catch (error) {
    throw new OnnxRuntimeError(`ONNX Runtime refused the training step of the tail of '${tail.name}': ${error instanceof Error ? error.message : String(error)}. Pass accelerate: false (or set TRANSFERLAB_ACCELERATE=0) to train it on TF.js.`, { cause: error });
  }
  return new TailTrainer(tail, loss, plan, session, threads);
}
