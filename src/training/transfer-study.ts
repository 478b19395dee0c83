/**
 * A measured comparison of three ways to train on few labels, as the Keras transfer-learning guide
 * teaches them: (a) the network trained from scratch, (b) feature extraction — the pretrained base
 * frozen (BatchNormalization in inference mode) under a new head, (c) fine-tuning in two phases —
 * the head first (that is (b)), then the top block unfrozen and trained on at a ten times lower
 * learning rate. Each runs for every number of labels per class K and every seed, on the same
 * labelled subset, with the same architecture and the same number of gradient steps in all (the
 * scratch network gets the head phase's and the fine-tuning phase's epochs together).
 *
 * No Keras original: the guide's recipe (`keras-io/guides/transfer_learning.py`), made a loop.
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

/** Options of {@link transferStudy}. */
export interface TransferStudyArgs {
  /** Training split (subsets of it are drawn per K and seed). */
  train: LabelledImages;
  /** Validation split, evaluated after every epoch of the first seed's runs (their learning curves; it picks nothing). */
  valid: LabelledImages;
  /** Test split: every row's `testAccuracy`. */
  test: LabelledImages;
  /** Values of K. Default `[5, 10, 25, 'all']`. */
  labelsPerClass?: Array<number | 'all'>;
  /** Seeds (each draws its own subset, initialisation, shuffle and dropout). Default `[0, 1, 2]`. */
  seeds?: number[];
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

/** What {@link transferStudy} returns. */
export interface TransferStudy {
  results: TransferResult[];
  curves: TransferCurves[];
}

/**
 * Reads a whole finite source (e.g. a `flowFromDirectory` iterator with `shuffle: false`) into memory.
 *
 * @param source - yields `{ xs, ys }` batches; `length` batches make one pass
 * @param args - `labelMap`: maps the source's labels to another class order (e.g.
 *   `alignClassIndices(trainFlow, testFlow).otherToReference`), `classNames` then names the result's classes
 * @returns images, labels (arg-max of one-hot targets, mapped), class names and files
 * @throws TypeError when the source yields no targets
 * @example
 * const test = await collectImages(testGen.flowFromDirectory(testDir, { colorMode: 'grayscale', targetSize: [64, 64], shuffle: false }));
 */
export async function collectImages(
  source: { length: number; next(): Promise<{ xs: tf.Tensor; ys?: tf.Tensor; filepaths?: string[] }>; reset?(): void; classNames?: string[] },
  args: { labelMap?: ArrayLike<number>; classNames?: string[] } = {},
): Promise<LabelledImages> {
  source.reset?.();
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  const filepaths: string[] = [];
  let shape: number[] = [];
  for (let b = 0; b < source.length; b++) {
    const batch = await source.next();
    try {
      if (batch.ys === undefined) throw invalidParameterError('source', 'a source that yields targets (classMode categorical or sparse)', 'no ys');
      shape = batch.xs.shape;
      parts.push((await batch.xs.data()) as Float32Array);
      const ys = batch.ys;
      const idx = ys.rank === 2 ? tf.tidy(() => tf.argMax(ys, 1)) : tf.tidy(() => ys.toInt());
      for (const l of await idx.data()) labels.push(args.labelMap ? args.labelMap[l] : l);
      idx.dispose();
      filepaths.push(...(batch.filepaths ?? []));
    } finally {
      batch.xs.dispose();
      batch.ys?.dispose();
    }
  }
  source.reset?.();
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const xs = new Float32Array(labels.length * per);
  let offset = 0;
  for (const p of parts) {
    xs.set(p, offset);
    offset += p.length;
  }
  const classNames = args.classNames ?? source.classNames ?? Array.from(new Set(labels)).sort((a, b) => a - b).map(String);
  return { xs, shape: [labels.length, shape[1], shape[2], shape[3]], labels: Int32Array.from(labels), classNames, ...(filepaths.length === labels.length ? { filepaths } : {}) };
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
 * Runs the study: for every K and seed, the methods asked for, each scored on the test split.
 *
 * @param args - see {@link TransferStudyArgs}
 * @returns one row per method, K and seed, and the learning curves of every (K, seed)
 * @throws TypeError for invalid options; WeightsFormatError when the pretrained weights cannot be loaded
 * @example
 * const study = await transferStudy({ train, valid, test, labelsPerClass: [5, 'all'], seeds: [0] });
 */
export async function transferStudy(args: TransferStudyArgs): Promise<TransferStudy> {
  const ks = args.labelsPerClass ?? [5, 10, 25, 'all'];
  const seeds = args.seeds ?? [0, 1, 2];
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
  const source = (data: LabelledImages, indices: Int32Array | undefined, shuffle: boolean, seed: number) =>
    arraySource({ xs: data.xs, shape: data.shape, labels: data.labels, numClasses: classes, batchSize, shuffle, seed, indices, classNames: data.classNames });
  const results: TransferResult[] = [];
  const curves: TransferCurves[] = [];
  const report = (row: TransferResult) => {
    results.push(row);
    args.onResult?.(row);
  };

  for (const k of ks) {
    for (const seed of seeds) {
      const subset = sampleLabelsPerClass(train.labels, k, seed);
      const headEpochs = epochsFor(headSteps, subset.length, batchSize);
      const fineEpochs = epochsFor(fineTuneSteps, subset.length, batchSize);
      const curve: TransferCurves = { labelsPerClass: k, seed, fineTuneStartsAfter: 0 };
      // Validation draws the learning curves; scoring it every epoch of every seed would cost more
      // than the training itself at small K, so only the first seed's runs are validated.
      const validated = seed === seeds[0];
      const common = { ...(validated ? { validationData: source(valid, undefined, false, seed) } : {}), verbose: 0 as const, seed };
      const row = (method: TransferMethod, acc: number, started: number): TransferResult =>
        ({ method, labelsPerClass: k, trainImages: subset.length, seed, testAccuracy: acc, seconds: (performance.now() - started) / 1000 });

      if (methods.has('scratch')) {
        const started = performance.now();
        const model = await PhantomNet({ includeTop: true, weights: null, classes, inputShape, seed: deriveSeed(seed, 1), batchNormMomentum: args.scratchBatchNormMomentum ?? 0.9 });
        const optimizer = tf.train.adam(lr);
        try {
          model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
          const h = await fit(model, source(train, subset, true, seed), { ...common, epochs: headEpochs + fineEpochs });
          curve.scratch = historyOf(h);
          report(row('scratch', await testAccuracy(model, test, batchSize), started));
        } finally {
          model.dispose();
          optimizer.dispose(); // a model does not own an optimizer it was given
        }
      }

      if (methods.has('feature-extraction') || methods.has('fine-tuning')) {
        let started = performance.now();
        const base = await PhantomNet({ includeTop: false, weights, inputShape, seed: deriveSeed(seed, 2) });
        const model = addPhantomNetTop(base, { classes, seed: deriveSeed(seed, 3) });
        const optimizers = [tf.train.adam(lr), tf.train.adam(lr / 10)];
        try {
          for (const layer of base.layers) layer.trainable = false;
          model.compile({ optimizer: optimizers[0], loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
          const head = await fit(model, source(train, subset, true, seed), { ...common, epochs: headEpochs });
          curve.transfer = historyOf(head);
          curve.fineTuneStartsAfter = headEpochs;
          if (methods.has('feature-extraction')) report(row('feature-extraction', await testAccuracy(model, test, batchSize), started));
          if (methods.has('fine-tuning')) {
            started = performance.now();
            for (const layer of base.layers) layer.trainable = unfreeze.some((p) => layer.name.startsWith(p));
            model.compile({ optimizer: optimizers[1], loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
            const fine = await fit(model, source(train, subset, true, seed), { ...common, epochs: headEpochs + fineEpochs, initialEpoch: headEpochs });
            for (const [key, values] of Object.entries(fine.history)) curve.transfer[key] = [...(curve.transfer[key] ?? []), ...values];
            report(row('fine-tuning', await testAccuracy(model, test, batchSize), started));
          }
        } finally {
          model.dispose();
          for (const o of optimizers) o.dispose();
        }
      }
      curves.push(curve);
    }
  }
  return { results, curves };
}

/** Mean, minimum and maximum of the rows of one method and K. */
export interface TransferSummary {
  method: TransferMethod;
  labelsPerClass: number | 'all';
  mean: number;
  min: number;
  max: number;
  seeds: number;
}

/**
 * Summarises study rows per method and K (mean and spread over seeds), in the order of the rows.
 *
 * @param rows - {@link TransferResult} rows
 * @returns one summary per (method, K)
 */
export function summarizeTransfer(rows: readonly TransferResult[]): TransferSummary[] {
  const groups = new Map<string, TransferResult[]>();
  for (const r of rows) {
    const key = `${r.method}|${r.labelsPerClass}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const accs = g.map((r) => r.testAccuracy);
    return { method: g[0].method, labelsPerClass: g[0].labelsPerClass, mean: accs.reduce((a, b) => a + b, 0) / accs.length, min: Math.min(...accs), max: Math.max(...accs), seeds: accs.length };
  });
}

/** One K's comparison in {@link describeTransfer}. */
export interface TransferGap {
  labelsPerClass: number | 'all';
  scratch: number;
  featureExtraction?: number;
  fineTuning?: number;
  /** Fine-tuning's mean minus scratch's, in accuracy (not points). */
  fineTuningGain?: number;
  /** Feature extraction's mean minus scratch's. */
  featureExtractionGain?: number;
}

/**
 * Says, for every K, how the methods' mean test accuracies compare with training from scratch
 * and with the majority baseline — in plain sentences for a notebook reader.
 *
 * @param rows - the study's results
 * @param majorityShare - the test split's majority-class share
 * @returns the gaps per K and the text
 * @example
 * console.log(describeTransfer(study.results, testBaseline.majorityShare).text);
 */
export function describeTransfer(rows: readonly TransferResult[], majorityShare: number): { gaps: TransferGap[]; text: string } {
  const summary = summarizeTransfer(rows);
  const ks = [...new Set(summary.map((s) => s.labelsPerClass))];
  const mean = (method: TransferMethod, k: number | 'all') => summary.find((s) => s.method === method && s.labelsPerClass === k)?.mean;
  const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} points`;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const gaps: TransferGap[] = [];
  const lines: string[] = [`Mean test accuracy over seeds (majority baseline ${pct(majorityShare)}):`];
  for (const k of ks) {
    const scratch = mean('scratch', k);
    if (scratch === undefined) continue;
    const fe = mean('feature-extraction', k);
    const ft = mean('fine-tuning', k);
    const gap: TransferGap = { labelsPerClass: k, scratch };
    const parts = [`K = ${k}: scratch ${pct(scratch)}`];
    if (fe !== undefined) {
      gap.featureExtraction = fe;
      gap.featureExtractionGain = fe - scratch;
      parts.push(`feature extraction ${pct(fe)} (${pts(fe - scratch)})`);
    }
    if (ft !== undefined) {
      gap.fineTuning = ft;
      gap.fineTuningGain = ft - scratch;
      parts.push(`fine-tuning ${pct(ft)} (${pts(ft - scratch)})`);
    }
    gaps.push(gap);
    lines.push(`  ${parts.join(', ')}`);
  }
  const ftGaps = gaps.filter((g) => g.fineTuningGain !== undefined);
  if (ftGaps.length > 0) {
    const wins = ftGaps.filter((g) => (g.fineTuningGain as number) > 0).length;
    lines.push(wins === ftGaps.length
      ? `Fine-tuning the pretrained network beat training from scratch at every K (${wins} of ${ftGaps.length}).`
      : `Fine-tuning beat training from scratch at ${wins} of ${ftGaps.length} values of K; where it did not, the source task's features did not help (or the scratch network had enough labels).`);
    const below = ftGaps.filter((g) => (g.fineTuning as number) <= majorityShare);
    if (below.length > 0) lines.push(`At K = ${below.map((g) => g.labelsPerClass).join(', ')} fine-tuning did not beat the majority baseline: nothing was learned there.`);
  }
  const scratchBelow = gaps.filter((g) => g.scratch <= majorityShare);
  if (scratchBelow.length > 0) lines.push(`From scratch, the network did not beat the majority baseline at K = ${scratchBelow.map((g) => g.labelsPerClass).join(', ')}.`);
  return { gaps, text: lines.join('\n') };
}
