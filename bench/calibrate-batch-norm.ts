/**
 * Data-dependent calibration of BatchNormalization statistics, for experiments with a network
 * whose pretrained weights cannot be loaded. It is not a substitute for them: measured on the
 * walkthrough (224×224, augmentation, 8 epochs) it does not lift a random InceptionV3 above the
 * majority class, so the walkthrough does not call it (see {@link adaptRandomFeatures}). It lives
 * in bench/ (not in the library's API) for bench/calibrate-inception.ts, which measures it.
 *
 * No Keras original. The idea is the "BN statistics recalibration" used after pruning or
 * quantisation (and AdaBN for domain adaptation): with random kernels and moving statistics at
 * their initial values (mean 0, variance 1), a frozen BatchNormalization layer is an identity, so
 * activations vanish or explode through a deep stack (InceptionV3: 94 conv layers) and the final
 * features are nearly constant. Re-estimating every layer's moving mean and variance on a few
 * batches of training images makes each frozen layer normalise its input again.
 */
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkInteger, checkOneOf, describeValue, invalidParameterError } from '../src/util/validate';
import { createProgress, formatDuration } from '../src/runtime/progress';
import type { BatchSource } from '../src/training/types';

/** Options of {@link calibrateBatchNormalization}. */
export interface CalibrateBatchNormalizationArgs {
  /**
   * Batches to draw from the source. Default `8`, a positive integer; capped at `source.length`
   * for a {@link BatchSource} (one pass, no image counted twice).
   */
  batches?: number;
  /**
   * Which BatchNormalization layers to calibrate: `'all'` (default), `'frozen'` (only layers with
   * `trainable === false`) or `'trainable'` (the others). Layers left out run in inference mode
   * during the sweep and keep their statistics.
   */
  layers?: 'all' | 'frozen' | 'trainable';
  /** Prints one progress line per batch and a summary. Default `false`. */
  verbose?: boolean;
  /**
   * `'normalize'` sets each channel's moving mean and variance to its input's (full, per-channel
   * normalisation, as AdaBN). `'rescale'` sets the moving mean to 0 and every channel's variance to
   * the layer input's mean square over all channels: one scalar gain per layer, so activations get
   * unit scale but keep their offsets and the relative sizes of channels. With random weights
   * `'rescale'` is the one that helps (measured on the phantom with InceptionV3 at 75×75: a linear
   * probe on `mixed10` scored 47.9% after `'rescale'`, 24.0% after `'normalize'`, 44.8% untouched
   * but at a feature scale of 2e-4 that a freshly initialised head cannot learn from).
   * Default `'normalize'`.
   */
  mode?: 'normalize' | 'rescale';
}

/** What {@link calibrateBatchNormalization} did. */
export interface CalibrateBatchNormalizationResult {
  /** BatchNormalization layers whose moving statistics were set. */
  layers: number;
  /** Batches drawn from the source. */
  batches: number;
}

/** Class names of the layers handled: ours (src/layers) and TF.js's own. */
const BN_CLASS_NAMES = new Set(['TransferlabBatchNormalization', 'BatchNormalization']);

type Kwargs = Parameters<tf.layers.Layer['call']>[1];
type CallFn = tf.layers.Layer['call'];

/** Per-channel running statistics of one layer's input (Chan et al.'s parallel update, float64). */
interface Accumulator {
  count: number;
  mean: Float64Array;
  m2: Float64Array;
}

interface Target {
  layer: tf.layers.Layer;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  axis: number;
  /** Per-call `[mean, variance, count]` recorded during the current batch; kept tensors. */
  pending: Array<{ mean: tf.Tensor; variance: tf.Tensor; count: number }>;
  acc: Accumulator | null;
}

/** Every layer of `model`, descending into nested models, each once, in order. */
function allLayers(model: tf.LayersModel, seen = new Set<tf.layers.Layer>()): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  for (const layer of model.layers) {
    if (seen.has(layer)) continue;
    seen.add(layer);
    const nested = (layer as unknown as { layers?: unknown }).layers;
    if (Array.isArray(nested)) out.push(...allLayers(layer as unknown as tf.LayersModel, seen));
    else out.push(layer);
  }
  return out;
}

function findWeight(layer: tf.layers.Layer, suffix: string): tf.LayerVariable {
  const w = layer.weights.find((v) => v.originalName.endsWith(suffix) || v.name.endsWith(suffix));
  if (w === undefined) {
    throw new TypeError(`Expected layer '${layer.name}' (${layer.getClassName()}) to have a '${suffix}' weight but it has ${JSON.stringify(layer.weights.map((v) => v.name))}; build the model before calibrating.`);
  }
  return w;
}

function toTarget(layer: tf.layers.Layer): Target {
  const axisValue = (layer as unknown as { axis?: unknown }).axis;
  const axis = typeof axisValue === 'number' ? axisValue : Array.isArray(axisValue) && axisValue.length === 1 ? (axisValue[0] as number) : NaN;
  if (!Number.isInteger(axis)) throw new TypeError(`Expected a single integer axis on layer '${layer.name}' but received ${JSON.stringify(axisValue)}`);
  return { layer, movingMean: findWeight(layer, 'moving_mean'), movingVariance: findWeight(layer, 'moving_variance'), axis, pending: [], acc: null };
}

/**
 * Replaces `target.layer.call` for the sweep: records the batch mean and (biased) variance of the
 * input per channel, writes them into the moving variables and runs the layer's own call in
 * inference mode — which then normalises with exactly the batch statistics.
 */
function batchStatisticsCall(target: Target, original: CallFn, center: boolean): CallFn {
  return (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const axis = target.axis >= 0 ? target.axis : target.axis + x.rank;
    const reductionAxes = [...Array(x.rank).keys()].filter((a) => a !== axis);
    const count = reductionAxes.reduce((n, a) => n * x.shape[a], 1);
    const { mean, variance } = tf.tidy(() => tf.moments(x, reductionAxes));
    if (center) {
      target.movingMean.write(mean);
      target.movingVariance.write(variance);
    } else {
      tf.tidy(() => {
        target.movingMean.write(tf.zerosLike(mean));
        target.movingVariance.write(tf.mul(tf.onesLike(variance), tf.mean(tf.add(variance, tf.square(mean)))));
      });
    }
    target.pending.push({ mean: tf.keep(mean), variance: tf.keep(variance), count });
    return original(inputs, { ...kwargs, training: false });
  };
}

/** Folds the recorded per-call statistics into the layer's accumulator and disposes them. */
async function drain(target: Target): Promise<void> {
  const pending = target.pending;
  target.pending = [];
  try {
    for (const p of pending) {
      const mean = await p.mean.data();
      const variance = await p.variance.data();
      const nB = p.count;
      if (target.acc === null) {
        target.acc = { count: nB, mean: Float64Array.from(mean), m2: Float64Array.from(variance, (v) => v * nB) };
        continue;
      }
      const acc = target.acc;
      const nA = acc.count;
      const n = nA + nB;
      for (let c = 0; c < mean.length; c++) {
        const delta = mean[c] - acc.mean[c];
        acc.mean[c] += (delta * nB) / n;
        acc.m2[c] += variance[c] * nB + (delta * delta * nA * nB) / n;
      }
      acc.count = n;
    }
  } finally {
    for (const p of pending) tf.dispose([p.mean, p.variance]);
  }
}

function isBatchSource(source: unknown): source is BatchSource {
  // A BatchSource may be async-iterable too (DirectoryIterator is); an async generator has next() but no length.
  return typeof source === 'object' && source !== null && typeof (source as BatchSource).next === 'function' && typeof (source as BatchSource).length === 'number';
}

/**
 * Sets the moving mean and moving variance of every BatchNormalization layer of `model` to the
 * per-channel statistics of that layer's input over a few batches of images, in one sweep, as if
 * every layer normalised with batch statistics (the state it would reach after training with
 * batch statistics on these images).
 *
 * Use it when a network runs with random weights (no ImageNet file offline: `InceptionV3({
 * weightsFallback: 'random' })`): a frozen BatchNormalization layer with its initial statistics
 * (mean 0, variance 1) is an identity, so activations collapse or explode through the stack.
 * After calibration each frozen layer normalises again and the frozen features have unit scale
 * (InceptionV3 at 75×75: `mixed10` std 2e-4 → 0.9). It fixes scale, not quality: on the chest CT
 * phantom a linear probe on standardised features did not do better after calibration (see
 * bench/calibrate-inception.ts). Calibrate on training images (preprocessed as in training),
 * before `fit`.
 *
 * During the sweep each calibrated layer computes the mean and (biased) variance of its input per
 * channel, normalises with them, and the statistics are pooled over all batches exactly (the
 * variance of the union of all positions, not the mean of per-batch variances). Trainable flags,
 * the compiled optimizer and `gamma`/`beta` are untouched; afterwards the model predicts in
 * inference mode as before, with the new statistics. If anything throws, the previous statistics
 * are restored.
 *
 * Works with this project's `BatchNormalization` (`TransferlabBatchNormalization`, used by
 * `InceptionV3`) and with TF.js's `tf.layers.batchNormalization`, inside nested models too.
 *
 * @param model - a built `tf.LayersModel` with one image input
 * @param source - a {@link BatchSource} (`next()` and a numeric `length`, e.g. `flowFromDirectory`'s
 *   iterator: only `xs` is used;
 *   `xs` and `ys` of each batch are disposed here, and `reset()` is called afterwards when present)
 *   or an async iterable of `[batch, height, width, channels]` tensors (each disposed here after
 *   use; iteration stops after `batches`)
 * @param args - see {@link CalibrateBatchNormalizationArgs}; `batches` default 8, `layers` default
 *   `'all'`, `verbose` default false
 * @returns the number of layers calibrated and batches drawn; no tensors are left allocated
 * @throws TypeError for invalid `args`, a source that is neither kind, or a source that yields no
 *   batch; whatever `model.predict` throws for a batch of the wrong shape
 * @example
 * const base = await InceptionV3({ includeTop: false, weights: 'imagenet', weightsFallback: 'random', inputShape: [224, 224, 3] });
 * const train = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory('data/train', { targetSize: [224, 224] });
 * const { layers, batches } = await calibrateBatchNormalization(base, train, { batches: 8 });
 * console.log(`calibrated ${layers} BatchNormalization layers on ${batches} batches`);
 */
export async function calibrateBatchNormalization(
  model: tf.LayersModel,
  source: BatchSource | AsyncIterable<tf.Tensor4D>,
  args: CalibrateBatchNormalizationArgs = {},
): Promise<CalibrateBatchNormalizationResult> {
  let batches = checkInteger('batches', args.batches ?? 8, 1);
  const which = checkOneOf('layers', args.layers ?? 'all', ['all', 'frozen', 'trainable'] as const);
  const verbose = checkBoolean('verbose', args.verbose ?? false);
  const center = checkOneOf('mode', args.mode ?? 'normalize', ['normalize', 'rescale'] as const) === 'normalize';
  const fromBatchSource = isBatchSource(source);
  if (!fromBatchSource && !(typeof source === 'object' && source !== null && Symbol.asyncIterator in source)) {
    throw invalidParameterError('source', 'a BatchSource (with next()) or an async iterable of image tensors', source);
  }
  if (fromBatchSource && Number.isInteger(source.length) && source.length > 0) batches = Math.min(batches, source.length);

  const targets = allLayers(model)
    .filter((l) => BN_CLASS_NAMES.has(l.getClassName()) && (which === 'all' || (which === 'frozen') === !l.trainable))
    .map(toTarget);
  if (targets.length === 0) return { layers: 0, batches: 0 };

  const saved = targets.map((t) => ({ own: Object.getOwnPropertyDescriptor(t.layer, 'call'), call: t.layer.call }));
  const backup = targets.map((t) => [tf.clone(t.movingMean.read()), tf.clone(t.movingVariance.read())]);
  const progress = verbose ? createProgress({ label: 'calibrateBatchNormalization', total: batches }) : undefined;
  const started = Date.now();
  let done = 0;
  let images = 0;
  let ok = false;
  try {
    targets.forEach((t, i) => {
      t.layer.call = batchStatisticsCall(t, saved[i].call.bind(t.layer), center);
    });
    const step = async (xs: tf.Tensor): Promise<void> => {
      const out = model.predict(xs, { batchSize: xs.shape[0] });
      tf.dispose(out);
      for (const t of targets) await drain(t);
      done++;
      images += xs.shape[0];
      progress?.update(done);
    };
    if (fromBatchSource) {
      while (done < batches) {
        const batch = await source.next();
        try {
          if (!(batch?.xs instanceof tf.Tensor)) {
            throw new TypeError(`Expected source.next() to resolve to a batch { xs, ys? } with an image tensor xs but received ${describeValue(batch)}`);
          }
          await step(batch.xs);
        } finally {
          tf.dispose([batch?.xs, batch?.ys].filter((t): t is tf.Tensor => t instanceof tf.Tensor));
        }
      }
    } else {
      for await (const xs of source) {
        try {
          await step(xs);
        } finally {
          xs.dispose();
        }
        if (done >= batches) break;
      }
    }
    if (done === 0) throw new TypeError('Expected at least one batch from source but it yielded none; pass training images.');
    for (const t of targets) {
      const acc = t.acc;
      if (acc === null) {
        throw new TypeError(`Expected BatchNormalization layer '${t.layer.name}' to be called during the sweep but it was not; is it connected to the model's output?`);
      }
      const mean = tf.tensor1d(center ? Float32Array.from(acc.mean) : new Float32Array(acc.mean.length));
      const second = Float64Array.from(acc.m2, (m, c) => m / acc.count + acc.mean[c] * acc.mean[c]);
      const scalar = second.reduce((a, b) => a + b, 0) / Math.max(1, second.length);
      const variance = tf.tensor1d(center ? Float32Array.from(acc.m2, (m) => m / acc.count) : new Float32Array(second.length).fill(scalar));
      t.movingMean.write(mean);
      t.movingVariance.write(variance);
      tf.dispose([mean, variance]); // the variables keep their own reference
    }
    ok = true;
  } finally {
    targets.forEach((t, i) => {
      const { own } = saved[i];
      if (own) Object.defineProperty(t.layer, 'call', own);
      else delete (t.layer as { call?: CallFn }).call;
      for (const p of t.pending) tf.dispose([p.mean, p.variance]);
      t.pending = [];
      if (!ok) {
        t.movingMean.write(backup[i][0]);
        t.movingVariance.write(backup[i][1]);
      }
    });
    tf.dispose(backup.flat());
    if (fromBatchSource && done > 0) source.reset?.();
  }
  progress?.finish(`${targets.length} layers, ${images} images in ${formatDuration((Date.now() - started) / 1000)}`);
  return { layers: targets.length, batches: done };
}

/** Options of {@link adaptRandomFeatures}. */
export interface AdaptRandomFeaturesArgs {
  /** Batches drawn from the source for each of the two sweeps. Default 4. */
  batches?: number;
}

/**
 * Makes a randomly initialised, partly frozen network trainable in practice — the walkthrough's
 * offline fallback when ImageNet weights cannot be had. Two sweeps of
 * {@link calibrateBatchNormalization}:
 *
 * 1. frozen BatchNormalization layers get `mode: 'rescale'` (one gain per layer), so features reach
 *    the trainable part at unit scale instead of ~1e-4;
 * 2. trainable BatchNormalization layers get `mode: 'normalize'`, so their moving statistics start
 *    where their batch statistics are: training (batch statistics) and evaluation (moving
 *    statistics) then see the same scale from the first epoch.
 *
 * Measured on the phantom (InceptionV3 at 112×112, last 15 layers trainable, no augmentation,
 * 5 epochs): validation accuracy 48.6% against 31.9% (the majority class) without it. At 224×224
 * with the walkthrough's augmentation and ReduceLROnPlateau it did not lift 8 epochs above the
 * majority class, so the walkthrough does not call it; random features stay a weak substitute for
 * ImageNet's.
 *
 * @param model - the model (or its base) whose BatchNormalization layers to set
 * @param source - training batches (augmented or not); reset afterwards when it has `reset()`
 * @param args - see {@link AdaptRandomFeaturesArgs}
 * @returns how many layers each sweep set
 * @example
 * if (usedRandomWeightsFallback(base)) await adaptRandomFeatures(base, trainFlow);
 */
export async function adaptRandomFeatures(
  model: tf.LayersModel,
  source: BatchSource | AsyncIterable<tf.Tensor4D>,
  args: AdaptRandomFeaturesArgs = {},
): Promise<{ frozen: number; trainable: number; batches: number }> {
  const batches = checkInteger('batches', args.batches ?? 4, 1);
  const frozen = await calibrateBatchNormalization(model, source, { batches, layers: 'frozen', mode: 'rescale' });
  const hasTrainable = model.layers.some((l) => BN_CLASS_NAMES.has(l.getClassName()) && l.trainable);
  const trainable = hasTrainable ? await calibrateBatchNormalization(model, source, { batches, layers: 'trainable', mode: 'normalize' }) : { layers: 0, batches: 0 };
  return { frozen: frozen.layers, trainable: trainable.layers, batches: frozen.batches };
}
