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
import { invalidParameterError } from '../util/validate';
import { trainTransferModels, type LabelledImages, type TransferCurves, type TransferMethod, type TransferResult, type TransferTrainingArgs } from './transfer-models';

export { TRANSFER_METHODS, sampleLabelsPerClass, type LabelledImages, type TransferCurves, type TransferMethod, type TransferResult } from './transfer-models';

/** Options of {@link transferStudy}. */
export interface TransferStudyArgs extends TransferTrainingArgs {
  /** Values of K. Default `[5, 10, 25, 'all']`. */
  labelsPerClass?: Array<number | 'all'>;
  /** Seeds (each draws its own subset, initialisation, shuffle and dropout). Default `[0, 1, 2]`. */
  seeds?: number[];
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
 * Runs the study: for every K and seed, the methods asked for ({@link trainTransferModels}), each
 * scored on the test split. Only the first seed's runs are validated every epoch: scoring the
 * validation split for every seed would cost more than the training itself at small K.
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
  const study: TransferStudy = { results: [], curves: [] };
  for (const k of ks) {
    for (const seed of seeds) {
      const run = await trainTransferModels({ ...args, labelsPerClass: k, seed, validate: seed === seeds[0], keepModels: false });
      study.results.push(...run.results);
      study.curves.push(run.curves);
    }
  }
  return study;
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
