/**
 * `fit`: Keras's `model.fit` for BatchSources, training only the tail of a model whose leading
 * layers are frozen. Port of the loop in `keras/src/backend/tensorflow/trainer.py` (`fit`) and
 * `keras/src/trainers/trainer.py` (logs, `val_` prefix, `stop_training`), with the frozen prefix
 * run outside the gradient tape (see prefix.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { Callback, callHook, type TrainingContext, type TrainingParams } from './callbacks/callback';
import { History } from './callbacks/history';
import { ProgbarLogger } from './callbacks/progbar-logger';
import { TrainingError } from './errors';
import { resolveLoss, resolveMetrics, type ResolvedFn, type SampleFn } from './losses';
import { forEachTailBatch, tailOutput, type TailBatch } from './batch-stage';
import { applyGradients, minimize } from './optimizer-step';
import { createSplitModelRunner, type SplitModelRunner } from './split-model-runner';
import { splitFrozenPrefix } from './prefix';
import { accelerationEnabled, autoPrefixEngine } from '../acceleration/auto-engine';
import { createTailTrainer, type TailInputData, type TailTrainer } from '../acceleration/tail-trainer';
import type { BatchSource, Logs, PrefixEngine } from './types';
import { deriveSeed } from '../util/random';
import { getGlobalSeed } from '../util/seed';
import { checkInteger, invalidParameterError } from '../util/validate';
import { checkSameClasses } from '../preprocessing/class-alignment';

/** Class names of the source each model was last trained on (by `fit`), for checking evaluation sources. */
const trainedClasses = new WeakMap<tf.LayersModel, string[]>();

/**
 * The class names (index = label) of the source `model` was last trained on with {@link fit}, or
 * undefined when it was not trained here or the source did not name its classes.
 */
export function trainedClassNames(model: tf.LayersModel): string[] | undefined {
  return trainedClasses.get(model);
}

/**
 * Checks a validation or evaluation source's classes against the training classes (see
 * `checkSameClasses`): prints the alignment when the names differ but pair with the same indices,
 * throws a `ClassMismatchError` when they do not line up. Sources without class names pass.
 */
export function checkSourceClasses(reference: readonly string[] | undefined, source: BatchSource, names: [string, string]): void {
  if (reference === undefined || source.classNames === undefined) return;
  const note = checkSameClasses(reference, source.classNames, names);
  if (note !== null) console.warn(note);
}

/** Optimizer given by name, with Keras's default settings. */
export type OptimizerName = 'adam' | 'sgd' | 'rmsprop' | 'adagrad' | 'adadelta' | 'adamax';

/** Options of {@link fit}; names and defaults as Keras's `model.fit`. */
export interface FitArgs {
  /** Index of the epoch to stop before. Default 1. */
  epochs?: number;
  /** Epoch to start from (0-based). Default 0. */
  initialEpoch?: number;
  /** Training batches per epoch. Default `x.length`. */
  stepsPerEpoch?: number;
  /** Source evaluated at the end of every epoch (logged as `val_loss`, `val_accuracy`, ...). Default none. */
  validationData?: BatchSource;
  /** Validation batches per evaluation. Default `validationData.length`. */
  validationSteps?: number;
  /** Callbacks; a History is always added, and a ProgbarLogger when `verbose > 0`. Default []. */
  callbacks?: Callback[];
  /** 0 silent, 1 progress bar, 2 one line per epoch, `'auto'` = 1. Default `'auto'`. */
  verbose?: 0 | 1 | 2 | 'auto';
  /** Optimizer; default the model's compiled one (`model.compile({ optimizer })`). */
  optimizer?: tf.Optimizer | OptimizerName;
  /** Loss name or per-sample function; default the model's compiled loss. */
  loss?: string | SampleFn;
  /** Metric names (`'accuracy'`, ...) or `{ name, fn }`; default the model's compiled metrics. */
  metrics?: Array<string | ResolvedFn>;
  /** Runs the frozen prefix instead of TF.js (e.g. ONNX Runtime). Default: `autoPrefixEngine` (ONNX Runtime with a feature cache when it helps; see `accelerate`). */
  prefixEngine?: PrefixEngine;
  /**
   * False runs the frozen prefix, and the tail of validation passes, on TF.js (so does the
   * environment variable `TRANSFERLAB_ACCELERATE=0`); true runs the prefix on ONNX Runtime when it
   * helps, the tail's training steps too (`TailTrainer`: forward and backward in one ONNX graph,
   * when the tail's layers and the loss have one; the optimizer stays TF.js's) and validation's
   * tail (`TailEngine`, when it converts). Default true.
   */
  accelerate?: boolean;
  /**
   * Run frozen leading layers outside the gradient tape (see splitFrozenPrefix). `false` cuts
   * nothing: the whole model runs under the tape with `training: true`, as in TF.js's own
   * `model.fit` (slower, more memory; a baseline). Frozen layers are not updated either way (only
   * `trainableWeights` get gradients) and frozen BatchNormalization stays in inference mode. With
   * `false` there is no prefix for an engine, so `prefixEngine` is refused and `accelerate` ignored.
   * Default true.
   */
  split?: boolean;
  /** Seeds Dropout masks per step (`deriveSeed(seed, step)`), so runs and resumed runs repeat exactly. Default: the global seed (`setGlobalSeed`), else unseeded. */
  seed?: number;
}

/** Creates a named optimizer with Keras's defaults. */
export function createOptimizer(name: OptimizerName): tf.Optimizer {
  switch (name) {
    case 'adam': return tf.train.adam(0.001, 0.9, 0.999, 1e-7);
    case 'sgd': return tf.train.sgd(0.01);
    case 'rmsprop': return tf.train.rmsprop(0.001, 0.9, 0, 1e-7);
    case 'adagrad': return tf.train.adagrad(0.001);
    case 'adadelta': return tf.train.adadelta(0.001, 0.95, 1e-7);
    case 'adamax': return tf.train.adamax(0.001, 0.9, 0.999, 1e-7);
    default: throw invalidParameterError('optimizer', "tf.Optimizer or one of 'adam', 'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adamax'", name);
  }
}

/** Loss, metrics and optimizer of a run: from `args`, else from `model.compile(...)`. */
export function resolveCompileArgs(model: tf.LayersModel, args: Pick<FitArgs, 'optimizer' | 'loss' | 'metrics'>, needOptimizer: boolean): { optimizer: tf.Optimizer | null; loss: ReturnType<typeof resolveLoss>; metrics: ResolvedFn[] } {
  const compiled = model as unknown as { optimizer?: tf.Optimizer; loss?: unknown; metrics?: unknown };
  const opt = args.optimizer ?? compiled.optimizer;
  const optimizer = typeof opt === 'string' ? createOptimizer(opt as OptimizerName) : (opt ?? null);
  if (needOptimizer && optimizer === null) {
    throw new TrainingError(`Expected an optimizer, but model '${model.name}' is not compiled and none was passed. Call model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] }) or pass { optimizer, loss } to fit.`);
  }
  const lossArg = args.loss ?? (Array.isArray(compiled.loss) ? compiled.loss[0] : compiled.loss);
  if (lossArg === undefined || lossArg === null) {
    throw new TrainingError(`Expected a loss, but model '${model.name}' is not compiled and none was passed. Pass { loss: 'categoricalCrossentropy' } or compile the model.`);
  }
  const loss = resolveLoss(lossArg as string | SampleFn);
  const rawMetrics = args.metrics ?? (compiled.metrics === undefined || compiled.metrics === null ? [] : Array.isArray(compiled.metrics) ? compiled.metrics : [compiled.metrics]);
  const metrics = resolveMetrics(rawMetrics as Array<string | ResolvedFn>, loss.kind);
  return { optimizer, loss, metrics };
}

/** Running batch-size-weighted means of loss and metrics (Keras's `Mean` trackers). */
export class RunningMeans {
  private sums = new Map<string, number>();
  private count = 0;
  add(values: Record<string, number>, batchSize: number): void {
    for (const [k, v] of Object.entries(values)) this.sums.set(k, (this.sums.get(k) ?? 0) + v * batchSize);
    this.count += batchSize;
  }
  /** Adds one batch's scalars: the loss, then each metric, in that order. */
  async addScalars(values: tf.Tensor[], loss: ResolvedFn, metrics: ResolvedFn[], batchSize: number): Promise<void> {
    const numbers = await Promise.all(values.map((v) => v.data()));
    const record: Record<string, number> = { [loss.name]: numbers[0][0] };
    metrics.forEach((m, i) => (record[m.name] = numbers[i + 1][0]));
    this.add(record, batchSize);
  }
  result(): Logs {
    const out: Logs = {};
    for (const [k, s] of this.sums) out[k] = this.count > 0 ? s / this.count : NaN;
    return out;
  }
}

/** Mean of a per-sample (or already reduced) loss tensor, as a scalar. */
function meanOf(t: tf.Tensor): tf.Scalar {
  return (t.rank === 0 ? t : tf.mean(t)) as tf.Scalar;
}

/**
 * Evaluates a runner over `steps` batches of `source` (inference mode, no tape). Internal to
 * fit/evaluate; calls the test hooks of `callbacks`.
 */
export async function runEvaluation(runner: SplitModelRunner, source: BatchSource, steps: number, loss: ResolvedFn, metrics: ResolvedFn[], callbacks: readonly Callback[]): Promise<Logs> {
  source.reset?.();
  const means = new RunningMeans();
  await callHook(callbacks, 'onTestBegin');
  await forEachTailBatch(runner, source, steps, {
    before: (step) => callHook(callbacks, 'onTestBatchBegin', step),
    async each(batch) {
      const ys = batch.ys;
      if (!ys) throw new TrainingError('Expected batches with targets (ys) for evaluation, but the source yielded none. Use classMode "categorical"/"sparse"/"binary".');
      // The tail in inference mode (ONNX Runtime when it converts); loss and metrics on its output in TF.js.
      const out = await tailOutput(runner, batch);
      let values: tf.Tensor[];
      try {
        values = tf.tidy(() => [meanOf(loss.fn(ys, out)), ...metrics.map((m) => meanOf(m.fn(ys, out)))]);
      } finally {
        out.dispose();
      }
      try {
        await means.addScalars(values, loss, metrics, batch.size);
      } finally {
        tf.dispose(values);
      }
    },
    after: (step) => callHook(callbacks, 'onTestBatchEnd', step, means.result()),
    predictOnly: true,
  });
  const logs = means.result();
  await callHook(callbacks, 'onTestEnd', logs);
  return logs;
}

/**
 * The trainer of the tail's steps on ONNX Runtime, or null when the tail trains on TF.js: when
 * acceleration is off, nothing is frozen, the loss is a custom function, or the tail does not
 * convert (then with a one-line note when `verbose`).
 */
async function tailTrainerFor(runner: SplitModelRunner, loss: ReturnType<typeof resolveLoss>, accelerate: boolean | undefined, verbose: boolean): Promise<TailTrainer | null> {
  if (!accelerationEnabled(accelerate) || runner.split.prefix === null) return null;
  const say = (line: string): void => {
    if (verbose) console.log(line);
  };
  if (loss.kind === null) {
    say(`Trainable tail trains on TF.js ${tf.getBackend()} (a custom loss function; ONNX Runtime trains the tail with the built-in crossentropies)`);
    return null;
  }
  try {
    const trainer = await createTailTrainer(runner.split.tail, loss.kind);
    say(`Trainable tail trains on ${trainer.describe()}: forward and backward in one graph, ${runner.split.tail.trainableWeights.length} trainable weights updated by the TF.js optimizer`);
    return trainer;
  } catch (error) {
    say(`Trainable tail trains on TF.js ${tf.getBackend()} (ONNX Runtime not used: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]})`);
    return null;
  }
}

/** A tail batch's inputs as arrays: its `data`, or its tensors read out. */
async function inputData(batch: TailBatch): Promise<TailInputData[]> {
  if (batch.data !== undefined) return batch.data;
  return Promise.all(batch.features.map(async (t) => ({ data: (await t.data()) as Float32Array, dims: t.shape })));
}

/** Dropout-like layers of the tail, whose `seed` fit sets per step. */
function dropoutLayers(model: tf.LayersModel): Array<tf.layers.Layer & { seed?: number }> {
  return model.layers.filter((l) => 'seed' in l && /Dropout|GaussianNoise/.test(l.getClassName())) as Array<tf.layers.Layer & { seed?: number }>;
}

/**
 * Trains `model` on batches from `x` for `epochs - initialEpoch` epochs, Keras-style. When the
 * model's leading layers are frozen, they run once per batch in inference mode outside the
 * gradient tape (TF.js, or `prefixEngine`), and only the tail is differentiated with
 * `training: true` (Dropout active, trainable BatchNormalization in batch mode; frozen
 * BatchNormalization stays in inference mode as in Keras).
 *
 * Logs per epoch use Keras's keys: `loss`, the metrics (`accuracy`), `val_loss`, `val_accuracy`,
 * and `learning_rate` when a callback adjusts it (ReduceLROnPlateau). Epoch values are means over
 * batches weighted by batch size. Tensors from the source are disposed here.
 *
 * Before the first batch of every epoch, `x.setEpoch(epoch, stepsPerEpoch)` is called when the
 * source has it (see {@link BatchSource.setEpoch}), so a shuffling, augmenting source yields the
 * batches of an uninterrupted run even in a run resumed by `BackupAndRestore`.
 *
 * @param model - a functional or sequential model with one output
 * @param x - training batches (see {@link BatchSource}); must yield `ys`
 * @param args - see {@link FitArgs}
 * @returns the History callback (`history.history`, `history.epoch`, `history.params`)
 * @throws TrainingError for a missing optimizer/loss, a source without targets, a model with no
 *   trainable weights, or `split: false` together with a `prefixEngine`
 * @throws ClassMismatchError when `validationData` names other classes than `x` (when both name
 *   theirs); names that differ but pair by prefix with the same indices are printed, not refused
 * @throws TypeError for a bad `epochs`, `initialEpoch`, `stepsPerEpoch` or `validationSteps`, and
 *   a callback's bad configuration (e.g. a `ModelCheckpoint` file template), before any work
 * @example
 * model.compile({ optimizer: tf.train.adam(1e-4), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
 * const history = await fit(model, trainGen, { epochs: 8, validationData: valGen, callbacks: [new ReduceLROnPlateau({ patience: 2 })] });
 */
export async function fit(model: tf.LayersModel, x: BatchSource, args: FitArgs = {}): Promise<History> {
  const epochs = checkInteger('epochs', args.epochs ?? 1, 0);
  let initialEpoch = checkInteger('initialEpoch', args.initialEpoch ?? 0, 0);
  const steps = checkInteger('stepsPerEpoch', args.stepsPerEpoch ?? x.length, 1);
  const validationData = args.validationData;
  const validationSteps = validationData ? checkInteger('validationSteps', args.validationSteps ?? validationData.length, 1) : undefined;
  const verbose = args.verbose === 'auto' || args.verbose === undefined ? 1 : checkInteger('verbose', args.verbose, 0, 2);
  const { optimizer: opt, loss, metrics } = resolveCompileArgs(model, args, true);
  const optimizer = opt as tf.Optimizer;
  // Validation labels must mean what training labels mean (checked before any work starts).
  if (validationData) checkSourceClasses(x.classNames, validationData, ['the training data', 'validationData']);

  const history = new History();
  const user = args.callbacks ?? [];
  const ordered = [...user.filter((c) => !c.restoresState)];
  if (!user.some((c) => c instanceof History)) ordered.push(history);
  if (verbose > 0 && !user.some((c) => c instanceof ProgbarLogger)) ordered.push(new ProgbarLogger());
  ordered.push(...user.filter((c) => c.restoresState));
  const historyCb = (ordered.find((c) => c instanceof History) as History | undefined) ?? history;

  const ctx: TrainingContext = {
    layersModel: model,
    optimizer,
    stopTraining: false,
    initialEpoch,
    callbacks: ordered,
    getWeights: () => model.weights.map((w) => w.read().clone()),
    setWeights: (ws) => model.setWeights(ws),
  };
  const trainKeys = [loss.name, ...metrics.map((m) => m.name)];
  const logKeys = [...trainKeys, ...(validationData ? trainKeys.map((k) => `val_${k}`) : []), 'learning_rate'];
  const params: TrainingParams = { verbose, epochs, steps, validationSteps, initialEpoch, logKeys };
  // Before the (slow) engine set-up: a callback's bad configuration (a ModelCheckpoint file
  // template naming an unknown field) fails when fit starts, not at the end of epoch 1.
  for (const cb of ordered) {
    cb.setModel(ctx);
    cb.setParams(params);
  }

  const split = args.split ?? true;
  if (!split && args.prefixEngine !== undefined) {
    throw new TrainingError(`Expected either split: false or a prefixEngine, but received both: split: false differentiates the whole graph, so there is no frozen prefix for ${args.prefixEngine.describe()} to run. Drop prefixEngine, or drop split: false.`);
  }
  const engine = !split ? null : (args.prefixEngine ?? (await autoPrefixEngine(model, splitFrozenPrefix(model).prefix, x, { accelerate: args.accelerate, verbose: verbose > 0 })));
  // Validation predicts the tail on ONNX Runtime too (rebuilt each epoch, after the tail trained).
  const runner = createSplitModelRunner(model, engine, { split, accelerateTail: split && accelerationEnabled(args.accelerate) });
  params.split = runner.describe();
  const tail = runner.split.tail;
  const varList = tail.trainableWeights.map((w) => w.read() as tf.Variable);
  if (varList.length === 0) {
    throw new TrainingError(`Model '${model.name}' has no trainable weights after freezing; unfreeze some layers (layer.trainable = true) before fit.`);
  }
  const seed = args.seed ?? getGlobalSeed() ?? undefined;
  const dropouts = seed === undefined ? [] : dropoutLayers(tail);
  const originalSeeds = dropouts.map((l) => l.seed);
  if (x.classNames !== undefined) trainedClasses.set(model, [...x.classNames]);
  const trainer = await tailTrainerFor(runner, loss, args.accelerate, verbose > 0);

  x.reset?.();
  await callHook(ordered, 'onTrainBegin');
  initialEpoch = ctx.initialEpoch;
  params.initialEpoch = initialEpoch;
  let trainingLogs: Logs | undefined;
  try {
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      const means = new RunningMeans();
      await callHook(ordered, 'onEpochBegin', epoch);
      // Where an uninterrupted run is at this epoch, whatever happened before (a resumed run, a preview batch).
      x.setEpoch?.(epoch, steps);
      // The next batch's decoding and frozen prefix run while this one's tail trains (never past
      // the epoch's end, so the source's epochs stay where setEpoch puts them).
      await forEachTailBatch(runner, x, steps, {
        before: (step) => callHook(ordered, 'onTrainBatchBegin', step),
        async each(batch, step) {
          const ys = batch.ys;
          if (!ys) throw new TrainingError('Expected training batches with targets (ys), but the source yielded none. Use classMode "categorical"/"sparse"/"binary".');
          dropouts.forEach((l, i) => (l.seed = deriveSeed(deriveSeed(seed as number, epoch * steps + step), i)));
          const kept: tf.Tensor[] = [];
          try {
            if (trainer !== null) {
              // Forward and backward on ONNX Runtime; loss, metrics and the update in TF.js.
              const { output, gradients } = await trainer.step(await inputData(batch), ys);
              try {
                kept.push(...tf.tidy(() => [meanOf(loss.fn(ys, output)), ...metrics.map((m) => meanOf(m.fn(ys, output)))]));
                applyGradients(optimizer, gradients);
              } finally {
                tf.dispose([output, ...gradients.map((g) => g.tensor)]);
              }
            } else {
              const lossValue = minimize(optimizer, () => {
                const out = runner.tail(batch.features, true);
                for (const m of metrics) kept.push(tf.keep(meanOf(m.fn(ys, out))));
                return meanOf(loss.fn(ys, out)) as tf.Scalar;
              }, varList);
              kept.unshift(lossValue);
            }
            await means.addScalars(kept, loss, metrics, batch.size);
          } finally {
            tf.dispose(kept);
          }
        },
        async after(step) {
          await callHook(ordered, 'onTrainBatchEnd', step, means.result());
          return ctx.stopTraining;
        },
        asData: trainer !== null,
      });
      const epochLogs: Logs = means.result();
      if (validationData && validationSteps !== undefined) {
        const valLogs = await runEvaluation(runner, validationData, validationSteps, loss, metrics, ordered);
        for (const [k, v] of Object.entries(valLogs)) epochLogs[`val_${k}`] = v;
      }
      await callHook(ordered, 'onEpochEnd', epoch, epochLogs);
      trainingLogs = epochLogs;
      if (ctx.stopTraining) break;
    }
  } finally {
    dropouts.forEach((l, i) => (l.seed = originalSeeds[i]));
    trainer?.dispose();
  }
  await callHook(ordered, 'onTrainEnd', trainingLogs);
  return historyCb;
}
