/**
 * Evaluation over a BatchSource: Keras's `model.evaluate` and `model.predict` for iterators,
 * through the same frozen-prefix split as `fit` (prefix in inference mode, no tape).
 */
import * as tf from '@tensorflow/tfjs';
import type { Callback } from './callbacks/callback';
import { TrainingError } from './errors';
import { checkSourceClasses, resolveCompileArgs, runEvaluation, trainedClassNames, type FitArgs } from './fit';
import { createSplitModelRunner } from './split-model-runner';
import { splitFrozenPrefix } from './prefix';
import { accelerationEnabled, autoPrefixEngine } from '../acceleration/auto-engine';
import { forEachTailBatch, tailOutput } from './batch-stage';
import type { BatchSource, Logs, PrefixEngine } from './types';
import { checkInteger } from '../util/validate';

/** Options of {@link evaluate}. */
export interface EvaluateArgs extends Pick<FitArgs, 'loss' | 'metrics'> {
  /** Batches to evaluate. Default `source.length` (one pass). */
  steps?: number;
  /** Runs the frozen prefix instead of TF.js. Default: `autoPrefixEngine` (ONNX Runtime with a feature cache when it helps; see `accelerate`). */
  prefixEngine?: PrefixEngine;
  /** False runs the frozen prefix and the tail on TF.js (so does `TRANSFERLAB_ACCELERATE=0`); true predicts the tail on ONNX Runtime too (`TailEngine`) when it converts. Default true. */
  accelerate?: boolean;
  /** Callbacks whose test hooks are called. Default []. */
  callbacks?: Callback[];
  /**
   * Class names the model was trained with (index = label), checked against `source.classNames`.
   * Default: those of the source `fit` last trained this model on, when known.
   */
  trainingClasses?: string[];
}

/**
 * Computes the loss and metrics of `model` over one pass of `source` (Keras `model.evaluate`),
 * with the compiled loss/metrics unless given. Values are means weighted by batch size.
 *
 * @returns logs such as `{ loss: 0.41, accuracy: 0.87 }`
 * @throws TrainingError when no loss is known or the source yields no targets
 * @throws ClassMismatchError when the source's classes do not line up with the training classes
 *   (`trainingClasses`, or those `fit` saw); differently named classes that pair by prefix with the
 *   same indices are printed, not refused
 * @example
 * const { loss, accuracy } = await evaluate(model, testGen);
 */
export async function evaluate(model: tf.LayersModel, source: BatchSource, args: EvaluateArgs = {}): Promise<Logs> {
  const steps = checkInteger('steps', args.steps ?? source.length, 1);
  const { loss, metrics } = resolveCompileArgs(model, args, false);
  checkSourceClasses(args.trainingClasses ?? trainedClassNames(model), source, ['the training data', 'the evaluated source']);
  const engine = args.prefixEngine ?? (await autoPrefixEngine(model, splitFrozenPrefix(model).prefix, source, { accelerate: args.accelerate }));
  const runner = createSplitModelRunner(model, engine, { accelerateTail: accelerationEnabled(args.accelerate) });
  return runEvaluation(runner, source, steps, loss, metrics, args.callbacks ?? []);
}

/** Options of {@link predictIterator}. */
export interface PredictIteratorArgs {
  /** Batches to predict. Default `source.length` (one pass: every file once). */
  steps?: number;
  /** Runs the frozen prefix instead of TF.js. Default: `autoPrefixEngine` (ONNX Runtime with a feature cache when it helps; see `accelerate`). */
  prefixEngine?: PrefixEngine;
  /** False runs the frozen prefix and the tail on TF.js (so does `TRANSFERLAB_ACCELERATE=0`); true predicts the tail on ONNX Runtime too (`TailEngine`) when it converts. Default true. */
  accelerate?: boolean;
  /**
   * Maps the source's label indices to the model's (test index → train index) when the test
   * folders' class names differ from training's. Default identity.
   */
  labelMap?: number[];
  /**
   * Class names the model was trained with, checked against `source.classNames` unless a
   * `labelMap` says how they pair. Default: those of the source `fit` last trained this model on.
   */
  trainingClasses?: string[];
}

/** Result of {@link predictIterator}, in file order. */
export interface PredictionResult {
  /** Class probabilities, one row per sample. */
  probabilities: number[][];
  /** Arg-max class of each row. */
  predictions: number[];
  /** True labels (after `labelMap`) when the source yields targets. */
  labels?: number[];
  /** File of each sample ('' when the source does not report files). */
  filepaths: string[];
}

function labelsOf(ys: tf.Tensor): number[] {
  return tf.tidy(() => {
    if (ys.rank >= 2 && (ys.shape[ys.rank - 1] as number) > 1) return Array.from(tf.argMax(ys, -1).dataSync());
    const flat = tf.reshape(ys, [-1]);
    return Array.from(flat.dataSync()).map((v) => Math.round(v));
  });
}

/**
 * Predicts every sample of one pass of `source`, in file order (Keras `model.predict(generator)`
 * followed by `argmax`), keeping file paths and true labels alongside.
 *
 * @returns see {@link PredictionResult}; no tensors are returned
 * @throws TrainingError when the source shuffles (order would not match its files) or a label is outside `labelMap`
 * @throws ClassMismatchError when, without a `labelMap`, the source's classes do not line up with the training classes
 * @example
 * const result = await predictIterator(model, testGen); // testGen made with shuffle: false
 * confusionMatrix(result.labels!, result.predictions, 4);
 */
export async function predictIterator(model: tf.LayersModel, source: BatchSource, args: PredictIteratorArgs = {}): Promise<PredictionResult> {
  if (source.shuffle !== undefined && source.shuffle !== false) {
    throw new TrainingError(`Expected a source with shuffle: false so predictions line up with files, but it has shuffle: ${String(source.shuffle)}. Create the iterator with { shuffle: false } for evaluation.`);
  }
  const steps = checkInteger('steps', args.steps ?? source.length, 1);
  // A labelMap is an explicit alignment; without one the classes must line up.
  if (args.labelMap === undefined) checkSourceClasses(args.trainingClasses ?? trainedClassNames(model), source, ['the training data', 'the predicted source']);
  const engine = args.prefixEngine ?? (await autoPrefixEngine(model, splitFrozenPrefix(model).prefix, source, { accelerate: args.accelerate }));
  const runner = createSplitModelRunner(model, engine, { accelerateTail: accelerationEnabled(args.accelerate) });
  const probabilities: number[][] = [];
  const filepaths: string[] = [];
  let labels: number[] | undefined;
  source.reset?.();
  // Batches ahead: the next ones' decoding and frozen prefix (ONNX Runtime runs in a worker
  // thread) proceed while this one's tail runs and its probabilities are read back.
  await forEachTailBatch(runner, source, steps, {
    async each(batch) {
      const probs = await tailOutput(runner, batch);
      const rows = (await probs.array()) as number[][] | number[];
      probs.dispose();
      for (const row of rows) probabilities.push(Array.isArray(row) ? row : [row]);
      for (let i = 0; i < batch.size; i++) filepaths.push(batch.filepaths?.[i] ?? '');
      if (batch.ys) {
        let l = labelsOf(batch.ys);
        if (args.labelMap) {
          const map = args.labelMap;
          l = l.map((v) => {
            if (!(v in map)) throw new TrainingError(`Label ${v} has no entry in labelMap (length ${map.length}); give one training index per source class.`);
            return map[v];
          });
        }
        labels = (labels ?? []).concat(l);
      }
    },
    predictOnly: true,
  });
  const predictions = probabilities.map((row) => (row.length === 1 ? (row[0] > 0.5 ? 1 : 0) : row.indexOf(Math.max(...row))));
  return { probabilities, predictions, labels, filepaths };
}
