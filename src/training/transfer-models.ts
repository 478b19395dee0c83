/**
 * The three ways to train on few labels that the transfer study compares, for one number of labels
 * per class and one seed: (a) the network trained from scratch, (b) feature extraction — the
 * pretrained base frozen (BatchNormalization in inference mode) under a new head, (c) fine-tuning
 * in two phases — the head first (that is (b)), then the top block unfrozen and trained on at a
 * ten times lower learning rate. Same labelled subset, same architecture and the same number of
 * gradient steps in all (the scratch network gets both phases' epochs together).
 *
 * No Keras original: the Keras transfer-learning guide's recipe (`keras-io/guides/transfer_learning.py`).
 */
import * as tf from '@tensorflow/tfjs';
import { PhantomNet, PHANTOM_SOURCE_WEIGHTS, addPhantomNetTop } from '../applications/phantom-net';
import { createRandom, deriveSeed } from '../util/random';
import { checkInteger, invalidParameterError } from '../util/validate';
import { arraySource } from './array-source';
import { predictIterator } from './evaluate';
import { fit } from './fit';
import type { History } from './callbacks/history';

/** The three methods compared. */
export type TransferMethod = 'scratch' | 'feature-extraction' | 'fine-tuning';

/** All three, in the order they are reported. */
export const TRANSFER_METHODS: readonly TransferMethod[] = Object.freeze(['scratch', 'feature-extraction', 'fine-tuning']);

/** Images and labels held in memory (NHWC), e.g. from {@link collectImages}. */
export interface LabelledImages {
  /** Pixels, `[n, h, w, c]` row-major. */
  xs: Float32Array;
  /** `[n, h, w, c]`. */
  shape: [number, number, number, number];
  /** Class index of each image. */
  labels: Int32Array;
  /** Class names, index = label. */
  classNames: string[];
  /** Source file of each image, when known. */
  filepaths?: string[];
}

/** One row of the study's results. */
export interface TransferResult {
  method: TransferMethod;
  /** Labelled training images per class (`'all'`: the whole training split). */
  labelsPerClass: number | 'all';
  /** Training images actually used. */
  trainImages: number;
  seed: number;
  /** Accuracy on the whole test split after training. */
  testAccuracy: number;
  /** Wall time of this method's training, in seconds (fine-tuning: its second phase only). */
  seconds: number;
}

/** Learning curves of one (K, seed): scratch, and the two-phase run with the epoch where fine-tuning starts. */
export interface TransferCurves {
  labelsPerClass: number | 'all';
  seed: number;
  scratch?: Record<string, number[]>;
  /** Head phase then fine-tuning phase, concatenated. */
  transfer?: Record<string, number[]>;
  /** Epochs of the head phase (fine-tuning starts after this many; 0 when it did not run). */
  fineTuneStartsAfter: number;
}

/** Options shared by {@link trainTransferModels} and the study that repeats it. */
export interface TransferTrainingArgs {
  /** Training split (the labelled subset is drawn from it). */
  train: LabelledImages;
  /** Validation split, evaluated after every epoch when validating (learning curves; it picks nothing). */
  valid: LabelledImages;
  /** Test split: every row's `testAccuracy`. */
  test: LabelledImages;
  /** Methods to run. Default all three. Fine-tuning implies the feature-extraction phase. */
  methods?: TransferMethod[];
  /** Pretrained weights for the base: `'phantom-source'` or a path. Default `'phantom-source'`. */
  weights?: string;
  /** Gradient steps of the head phase (epochs are rounded to reach it, 2–60). Default 60. */
  headSteps?: number;
  /** Gradient steps of the fine-tuning phase. Default 60. */
  fineTuneSteps?: number;
  /** Batch size. Default 16. */
  batchSize?: number;
  /** Adam's learning rate (scratch and head phase); fine-tuning uses a tenth of it. Default 1e-3. */
  learningRate?: number;
  /** Layers unfrozen for fine-tuning: names starting with one of these. Default `['block4_conv']` (the top block's convolutions; its BatchNormalization stays in inference mode, as the guide advises). */
  unfreeze?: string[];
  /**
   * BatchNormalization momentum of the scratch network. Default 0.9: with Keras's 0.99 the moving
   * statistics of a network trained for only ~100–200 steps are still near their initial values,
   * so its inference-mode accuracy falls below what it learned (measured: 18% test accuracy at
   * 76% training accuracy). The transfer runs keep their pretrained statistics (frozen).
   */
  scratchBatchNormMomentum?: number;
  /** Called after each row, e.g. to print progress. */
  onResult?: (row: TransferResult) => void;
}

/** Options of {@link trainTransferModels}. */
export interface TrainTransferModelsArgs extends TransferTrainingArgs {
  /** Labelled training images per class, or `'all'`. Default `'all'`. */
  labelsPerClass?: number | 'all';
  /** Seed of the subset, initialisation, shuffle and dropout. Default 0. */
  seed?: number;
  /** Evaluate the validation split after every epoch (learning curves). Default true. */
  validate?: boolean;
  /** Return the trained models (the caller disposes them) instead of disposing them. Default true. */
  keepModels?: boolean;
}

/** What {@link trainTransferModels} returns. */
export interface TrainedTransferModels {
  /** The trained model of each method run (empty with `keepModels: false`); the caller disposes them. */
  models: Partial<Record<TransferMethod, tf.LayersModel>>;
  /** One test-accuracy row per method. */
  results: TransferResult[];
  /** The learning curves. */
  curves: TransferCurves;
}

/**
 * Draws K labelled images per class (stratified, seeded): the few-label training sets of the study.
 *
 * @param labels - class of every image
 * @param k - images per class, or `'all'` (every image, in order)
 * @param seed - which K are drawn
 * @returns sorted image indices
 * @throws TypeError when a class has fewer than K images
 * @example
 * sampleLabelsPerClass(train.labels, 5, 0); // 5 per class
 */
export function sampleLabelsPerClass(labels: ArrayLike<number>, k: number | 'all', seed: number): Int32Array {
  const all = Int32Array.from({ length: labels.length }, (_, i) => i);
  if (k === 'all') return all;
  checkInteger('k', k, 1);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const rng = createRandom(deriveSeed(seed, 0x6b5));
  const out: number[] = [];
  for (const [cls, list] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    if (list.length < k) throw invalidParameterError('k', `at most ${list.length} (the images of class ${cls})`, k);
    out.push(...rng.shuffle(list).slice(0, k));
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

function epochsFor(steps: number, images: number, batchSize: number): number {
  return Math.max(2, Math.min(60, Math.round(steps / Math.ceil(images / batchSize))));
}

async function testAccuracy(model: tf.LayersModel, test: LabelledImages, batchSize: number): Promise<number> {
  const source = arraySource({ xs: test.xs, shape: test.shape, labels: test.labels, numClasses: test.classNames.length, batchSize: Math.max(batchSize, 64), shuffle: false, classNames: test.classNames });
  const result = await predictIterator(model, source);
  let right = 0;
  result.predictions.forEach((p, i) => (right += p === test.labels[i] ? 1 : 0));
  return right / test.labels.length;
}

function historyOf(h: History): Record<string, number[]> {
  return Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, [...v]]));
}

/**
 * Trains the methods asked for on one labelled subset, scores each on the test split and (by
 * default) hands back the trained models — e.g. to explain their predictions with Grad-CAM or to
 * save one. The feature-extraction model is a copy taken before fine-tuning goes on from it.
 *
 * @param args - see {@link TrainTransferModelsArgs}
 * @returns the models, one row per method and the learning curves
 * @throws TypeError for invalid options; WeightsFormatError when the pretrained weights cannot be loaded
 * @example
 * const { models, results } = await tl.trainTransferModels({ train, valid, test });
 * // ... use models['fine-tuning'], then:
 * Object.values(models).forEach((m) => m.dispose());
 */
export async function trainTransferModels(args: TrainTransferModelsArgs): Promise<TrainedTransferModels> {
  const k = args.labelsPerClass ?? 'all';
  const seed = checkInteger('seed', args.seed ?? 0, 0);
  const keep = args.keepModels ?? true;
  const methods = new Set(args.methods ?? TRANSFER_METHODS);
  const weights = args.weights ?? PHANTOM_SOURCE_WEIGHTS;
  const headSteps = checkInteger('headSteps', args.headSteps ?? 60, 1);
  const fineTuneSteps = checkInteger('fineTuneSteps', args.fineTuneSteps ?? 60, 1);
  const batchSize = checkInteger('batchSize', args.batchSize ?? 16, 1);
  const lr = args.learningRate ?? 1e-3;
  const unfreeze = args.unfreeze ?? ['block4_conv'];
  const { train, valid, test } = args;
  const classes = train.classNames.length;
  const inputShape: [number, number, number] = [train.shape[1], train.shape[2], train.shape[3]];
  const source = (data: LabelledImages, indices: Int32Array | undefined, shuffle: boolean) =>
    arraySource({ xs: data.xs, shape: data.shape, labels: data.labels, numClasses: classes, batchSize, shuffle, seed, indices, classNames: data.classNames });
  const out: TrainedTransferModels = { models: {}, results: [], curves: { labelsPerClass: k, seed, fineTuneStartsAfter: 0 } };
  const report = (row: TransferResult) => {
    out.results.push(row);
    args.onResult?.(row);
  };
  const subset = sampleLabelsPerClass(train.labels, k, seed);
  const headEpochs = epochsFor(headSteps, subset.length, batchSize);
  const fineEpochs = epochsFor(fineTuneSteps, subset.length, batchSize);
  const curve = out.curves;
  const common = { ...(args.validate ?? true ? { validationData: source(valid, undefined, false) } : {}), verbose: 0 as const, seed };
  const row = (method: TransferMethod, acc: number, started: number): TransferResult =>
    ({ method, labelsPerClass: k, trainImages: subset.length, seed, testAccuracy: acc, seconds: (performance.now() - started) / 1000 });
  const transferModel = async () => {
    const base = await PhantomNet({ includeTop: false, weights, inputShape, seed: deriveSeed(seed, 2) });
    return { base, model: addPhantomNetTop(base, { classes, seed: deriveSeed(seed, 3) }) };
  };

  if (methods.has('scratch')) {
    const started = performance.now();
    const model = await PhantomNet({ includeTop: true, weights: null, classes, inputShape, seed: deriveSeed(seed, 1), batchNormMomentum: args.scratchBatchNormMomentum ?? 0.9 });
    const optimizer = tf.train.adam(lr);
    try {
      model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const h = await fit(model, source(train, subset, true), { ...common, epochs: headEpochs + fineEpochs });
      curve.scratch = historyOf(h);
      report(row('scratch', await testAccuracy(model, test, batchSize), started));
      if (keep) out.models.scratch = model;
    } finally {
      if (!keep) model.dispose();
      optimizer.dispose(); // a model does not own an optimizer it was given
    }
  }

  if (methods.has('feature-extraction') || methods.has('fine-tuning')) {
    let started = performance.now();
    const { base, model } = await transferModel();
    const optimizers = [tf.train.adam(lr), tf.train.adam(lr / 10)];
    let kept = false;
    try {
      for (const layer of base.layers) layer.trainable = false;
      model.compile({ optimizer: optimizers[0], loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const head = await fit(model, source(train, subset, true), { ...common, epochs: headEpochs });
      curve.transfer = historyOf(head);
      curve.fineTuneStartsAfter = headEpochs;
      if (methods.has('feature-extraction')) {
        report(row('feature-extraction', await testAccuracy(model, test, batchSize), started));
        if (keep && methods.has('fine-tuning')) {
          const copy = await transferModel();
          // Freeze first: getWeights lists trainable weights before the others, so both models must agree.
          for (const layer of copy.base.layers) layer.trainable = false;
          copy.model.setWeights(model.getWeights());
          out.models['feature-extraction'] = copy.model;
        } else if (keep) {
          out.models['feature-extraction'] = model;
          kept = true;
        }
      }
      if (methods.has('fine-tuning')) {
        started = performance.now();
        for (const layer of base.layers) layer.trainable = unfreeze.some((p) => layer.name.startsWith(p));
        model.compile({ optimizer: optimizers[1], loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
        const fine = await fit(model, source(train, subset, true), { ...common, epochs: headEpochs + fineEpochs, initialEpoch: headEpochs });
        for (const [key, values] of Object.entries(fine.history)) curve.transfer[key] = [...(curve.transfer[key] ?? []), ...values];
        report(row('fine-tuning', await testAccuracy(model, test, batchSize), started));
        if (keep) {
          out.models['fine-tuning'] = model;
          kept = true;
        }
      }
    } finally {
      if (!kept) model.dispose();
      for (const o of optimizers) o.dispose();
    }
  }
  return out;
}
