/**
 * Baselines a reader needs to judge a trained classifier: chance (a uniform guess), the majority
 * class's share of each split (what "always answer the commonest class" scores), the accuracy of
 * the model before training, and — after training — a plain verdict on whether the model beat the
 * majority baseline by more than the noise of a split of that size.
 *
 * No Keras original: scikit-learn's `DummyClassifier(strategy='most_frequent')` is the same idea.
 */
import type * as tf from '@tensorflow/tfjs';
import { isRandomWeights, type WeightsInfo } from '../applications/weights-info';
import { evaluate } from './evaluate';
import type { FeatureStatistics } from './feature-statistics';
import { formatMagnitude } from './feature-statistics';
import type { BatchSource } from './types';
import { checkInteger, checkNumber, describeValue, invalidParameterError, isPlainObject } from '../util/validate';

/** A split whose labels are known: what `flowFromDirectory`'s iterator exposes. */
export interface LabelledSplit {
  /** Class label of every sample (e.g. `DirectoryIterator.classes`). */
  classes: ArrayLike<number>;
  /** Class name → label (e.g. `DirectoryIterator.classIndices`). Default: from `classNames`. */
  classIndices?: Record<string, number>;
  /** Class names, index = label (a `BatchSource`'s). Default: names `'0'`, `'1'`, ... */
  classNames?: string[];
  /** Number of classes. Default: `classIndices`' size, else the largest label + 1. */
  numClasses?: number;
}

/** The majority-class baseline of one split. */
export interface SplitBaseline {
  /** Name of the split, e.g. `'validation'`. */
  split: string;
  /** Samples in the split. */
  samples: number;
  /** Number of classes. */
  classes: number;
  /** Label of the commonest class (the lowest label on a tie). */
  majorityIndex: number;
  /** Name of the commonest class. */
  majorityClass: string;
  /** Samples of the commonest class. */
  majorityCount: number;
  /** `majorityCount / samples`: the accuracy of always answering the commonest class. */
  majorityShare: number;
}

/** The verdict of {@link Baselines.verdict}. */
export interface Verdict {
  /** The split judged. */
  split: string;
  /** The model's accuracy on it. */
  accuracy: number;
  /** The split's majority-class share. */
  majorityShare: number;
  /** Two standard errors of an accuracy measured on this many samples ({@link noiseMargin}). */
  margin: number;
  /** Whether `accuracy > majorityShare + margin`. */
  beat: boolean;
  /** What a reader is told, several lines. */
  text: string;
}

/** Options of {@link Baselines.verdict}. */
export interface VerdictArgs {
  /** Which weights the base holds (`weightsInfo(baseModel)`): with random ones the verdict explains why they cannot transfer. Default unknown. */
  weights?: WeightsInfo;
  /** {@link featureStatistics} of the base, quoted in that explanation. Default none. */
  features?: FeatureStatistics;
  /** The predicted label of every sample: a model that answers one class for all of them is named as such. Default none. */
  predictions?: ArrayLike<number>;
  /** Names of the model's classes, by output index, for naming that one class. Default: labels as numbers. */
  classNames?: string[];
}

/** Options of {@link measureBaselines}. */
export interface MeasureBaselinesArgs {
  /** The split on which to evaluate the untrained model, or `null` for none. Default `'validation'` when given, else none. */
  evaluateOn?: string | null;
  /** Passed to `evaluate` (false runs the frozen prefix on TF.js). Default true. */
  accelerate?: boolean;
}

/**
 * The accuracy of a uniform random guess over `classes` classes.
 *
 * @param classes - number of classes, an integer ≥ 1
 * @returns `1 / classes`
 * @throws TypeError for anything but a positive integer
 * @example
 * chanceLevel(4); // 0.25
 */
export function chanceLevel(classes: number): number {
  return 1 / checkInteger('classes', classes, 1);
}

/**
 * How far an accuracy measured on `samples` images can stray from `share` by luck alone: two
 * standard errors of a binomial proportion, `2 · sqrt(share · (1 − share) / samples)`. An accuracy
 * less than this above the majority share is no evidence of learning.
 *
 * @param share - the proportion compared with, in [0, 1]
 * @param samples - the split's size, an integer ≥ 1
 * @returns the margin, in [0, 1]
 * @example
 * noiseMargin(0.319, 72); // 0.11
 */
export function noiseMargin(share: number, samples: number): number {
  checkNumber('share', share, 0, 1);
  checkInteger('samples', samples, 1);
  return 2 * Math.sqrt((share * (1 - share)) / samples);
}

/**
 * The majority-class baseline of a split: its commonest class and that class's share.
 *
 * @param source - a split with known labels, e.g. an iterator from `flowFromDirectory`
 * @param split - its name, for messages and text. Default `'data'`
 * @returns see {@link SplitBaseline}
 * @throws TypeError when `source` has no `classes`, or no samples, or a label is not an integer in range
 * @example
 * majorityBaseline(trainFlow, 'train').majorityShare; // 0.318 on the chest-CT training folder
 */
export function majorityBaseline(source: LabelledSplit, split = 'data'): SplitBaseline {
  const labels = (source as { classes?: unknown } | null)?.classes as ArrayLike<number> | undefined;
  if (labels === undefined || labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw invalidParameterError(`${split}.classes`, 'the label of every sample (as a flowFromDirectory iterator has)', labels);
  }
  if (labels.length === 0) throw new TypeError(`Expected at least one sample in the ${split} split but it has none; check its folder.`);
  const names = source.classIndices ?? Object.fromEntries((source.classNames ?? []).map((n, i) => [n, i]));
  let max = -1;
  for (let i = 0; i < labels.length; i++) max = Math.max(max, labels[i] as number);
  const classes = source.numClasses ?? (Object.keys(names).length || max + 1);
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    if (!Number.isInteger(l) || l < 0 || l >= classes) throw invalidParameterError(`${split}.classes[${i}]`, `a label in [0, ${classes})`, l);
    counts[l]++;
  }
  let majorityIndex = 0;
  counts.forEach((c, i) => { if (c > (counts[majorityIndex] as number)) majorityIndex = i; });
  const majorityCount = counts[majorityIndex] as number;
  const majorityClass = Object.keys(names).find((k) => names[k] === majorityIndex) ?? String(majorityIndex);
  return { split, samples: labels.length, classes, majorityIndex, majorityClass, majorityCount, majorityShare: majorityCount / labels.length };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const points = (x: number): string => `${(x * 100).toFixed(1)} points`;

/**
 * The baselines of one classification run: chance, each split's majority class, the accuracy
 * before training, and the verdicts given so far. Build it with {@link measureBaselines}; add the
 * test split later with {@link Baselines.addSplit}. `JSON.stringify` gives a compact record (for
 * `metrics.json`).
 */
export class Baselines {
  /** Number of classes. */
  readonly classes: number;
  /** Accuracy of a uniform guess: `1 / classes`. */
  readonly chance: number;
  /** Loss (categorical cross-entropy) of a uniform guess: `ln(classes)`. */
  readonly uniformLoss: number;
  /** Majority baseline per split name. */
  readonly splits: Record<string, SplitBaseline> = {};
  /** The untrained model's accuracy and loss, when measured. */
  beforeTraining?: { split: string; accuracy: number; loss: number };
  /** Verdicts given, per split. */
  readonly verdicts: Record<string, Verdict> = {};

  /**
   * @param classes - number of classes, an integer ≥ 1
   * @throws TypeError otherwise
   */
  constructor(classes: number) {
    this.classes = checkInteger('classes', classes, 1);
    this.chance = 1 / classes;
    this.uniformLoss = Math.log(classes);
  }

  /**
   * Adds a split's majority baseline (e.g. the test split once its iterator exists).
   *
   * @param split - its name
   * @param source - its labels (an iterator from `flowFromDirectory`)
   * @returns the split's baseline
   * @throws TypeError when the split has another number of classes than the others, or no labels
   */
  addSplit(split: string, source: LabelledSplit): SplitBaseline {
    const b = majorityBaseline(source, split);
    if (b.classes !== this.classes) throw new TypeError(`Expected ${this.classes} classes in the ${split} split (as in the others) but it has ${b.classes}.`);
    this.splits[split] = b;
    return b;
  }

  /** The split whose majority class is drawn on accuracy plots: validation when known, else the first. */
  private referenceSplit(): SplitBaseline | undefined {
    return this.splits['validation'] ?? Object.values(this.splits)[0];
  }

  /**
   * Reference lines for `plotHistory`: the majority class and chance on accuracy, the loss of a
   * uniform guess on loss.
   */
  get references(): { accuracy: Array<{ name: string; y: number }>; loss: Array<{ name: string; y: number }> } {
    const ref = this.referenceSplit();
    return {
      accuracy: [...(ref ? [{ name: `majority class ${pct(ref.majorityShare)}`, y: ref.majorityShare }] : []), { name: `chance ${pct(this.chance)}`, y: this.chance }],
      loss: [{ name: `uniform guess (ln ${this.classes})`, y: this.uniformLoss }],
    };
  }

  /**
   * Axis ranges for `plotHistory` that keep noise from looking like learning: accuracy from 0 to 1,
   * loss from 0 to at least the loss of a uniform guess.
   */
  get yRange(): { accuracy: [number, number]; loss: [number, number] } {
    return { accuracy: [0, 1], loss: [0, this.uniformLoss] };
  }

  /** The baselines as a reader sees them: one line each, then what "learning" has to beat. */
  get text(): string {
    const rows: Array<[string, string, string]> = [[`chance (a uniform guess)`, pct(this.chance), `its loss: ln ${this.classes} = ${this.uniformLoss.toFixed(3)}`]];
    for (const b of Object.values(this.splits)) rows.push([`majority class of ${b.split}`, pct(b.majorityShare), `always '${b.majorityClass}' (${b.majorityCount} of ${b.samples})`]);
    if (this.beforeTraining) rows.push([`before training, ${this.beforeTraining.split}`, pct(this.beforeTraining.accuracy), `loss ${this.beforeTraining.loss.toFixed(3)}`]);
    const w = Math.max(...rows.map((r) => r[0].length));
    const lines = [`Baselines for ${this.classes} classes (what a model that learned nothing scores):`, ...rows.map(([a, b, c]) => `  ${a.padEnd(w)}  ${b.padStart(6)}  ${c}`)];
    const ref = this.referenceSplit();
    if (ref) {
      lines.push(`Learning shows when ${ref.split} accuracy beats the majority class by more than noise: ` +
        `${points(noiseMargin(ref.majorityShare, ref.samples))} on ${ref.samples} images.`);
    }
    return lines.join('\n');
  }

  /**
   * Judges an accuracy against the split's majority baseline and says so plainly: beaten (by more
   * than {@link noiseMargin}), or not. When it was not beaten and the base is random, it says why
   * a frozen random base cannot do better (quoting `features` when given); with pretrained weights
   * it raises no such alarm.
   *
   * @param split - a split added before (e.g. `'validation'`, `'test'`)
   * @param accuracy - the accuracy, or `fit`'s History (the last `val_accuracy` for `'validation'`,
   *   the last `accuracy` for `'train'`)
   * @param args - see {@link VerdictArgs}
   * @returns the verdict (also kept in `verdicts[split]`)
   * @throws TypeError for an unknown split, an accuracy outside [0, 1] or a History without it
   * @example
   * console.log(baselines.verdict('validation', history, { weights: weightsInfo(baseModel) }).text);
   */
  verdict(split: string, accuracy: number | { history: Record<string, number[]>; epoch?: number[] }, args: VerdictArgs = {}): Verdict {
    const b = this.splits[split];
    if (b === undefined) throw invalidParameterError('split', `one of the splits measured (${Object.keys(this.splits).map((s) => `'${s}'`).join(', ')})`, split);
    let acc: number;
    let epochs: number | undefined;
    if (typeof accuracy === 'number') {
      acc = checkNumber('accuracy', accuracy, 0, 1);
    } else {
      if (!isPlainObject(accuracy) || !isPlainObject(accuracy.history)) throw invalidParameterError('accuracy', 'a number in [0, 1] or a History', accuracy);
      const keys = split === 'validation' ? ['val_accuracy', 'val_acc'] : split === 'train' ? ['accuracy', 'acc'] : [];
      const series = keys.map((k) => accuracy.history[k]).find((v) => Array.isArray(v) && v.length > 0);
      if (series === undefined) throw invalidParameterError('accuracy', `a History with ${keys.join(' or ') || 'an accuracy for this split'}`, Object.keys(accuracy.history));
      acc = checkNumber('accuracy', series[series.length - 1], 0, 1);
      epochs = series.length;
    }
    const margin = noiseMargin(b.majorityShare, b.samples);
    const beat = acc > b.majorityShare + margin;
    const above = acc - b.majorityShare;
    const lines = [
      `${epochs !== undefined ? `After ${epochs} epoch${epochs === 1 ? '' : 's'}: ${split}` : split.charAt(0).toUpperCase() + split.slice(1)} accuracy ${pct(acc)}; ` +
        `majority baseline ${pct(b.majorityShare)} (always '${b.majorityClass}'), chance ${pct(this.chance)}.`,
    ];
    if (beat) lines.push(`Verdict: the model beat the majority baseline, by ${points(above)} (noise on ${b.samples} images: ±${points(margin)}).`);
    else if (above > 0) lines.push(`Verdict: the model did NOT beat the majority baseline: ${points(above)} above it is within the noise of ${b.samples} images (±${points(margin)}).`);
    else lines.push(`Verdict: the model did NOT beat the majority baseline (it would have needed more than ${pct(b.majorityShare + margin)} on ${b.samples} images).`);
    const predicted = args.predictions ? new Set(Array.from(args.predictions)) : undefined;
    if (predicted?.size === 1 && args.predictions!.length > 1) {
      const only = [...predicted][0] as number;
      const name = args.classNames?.[only] !== undefined ? `'${args.classNames[only]}'` : `class ${only}`;
      lines.push(`It answers ${name} for every one of the ${args.predictions!.length} images: its answer does not depend on the image.`);
    }
    if (isRandomWeights(args.weights)) lines.push(...randomBaseExplanation(args.weights!, beat, args.features));
    else if (!beat && args.weights !== undefined) lines.push('With pretrained weights this usually means too few epochs or images, or a learning rate that does not suit them; the learning curves below show which.');
    const verdict: Verdict = { split, accuracy: acc, majorityShare: b.majorityShare, margin, beat, text: lines.join('\n') };
    this.verdicts[split] = verdict;
    return verdict;
  }

  /** A compact record for `metrics.json`: chance, majority shares, accuracy before training, verdicts. */
  toJSON(): Record<string, unknown> {
    return {
      classes: this.classes,
      chance: this.chance,
      uniformLoss: this.uniformLoss,
      majority: Object.fromEntries(Object.values(this.splits).map((b) => [b.split, { class: b.majorityClass, share: b.majorityShare, count: b.majorityCount, samples: b.samples }])),
      ...(this.beforeTraining ? { beforeTraining: this.beforeTraining } : {}),
      verdicts: Object.fromEntries(Object.values(this.verdicts).map((v) => [v.split, { accuracy: v.accuracy, majorityShare: v.majorityShare, margin: v.margin, beatMajority: v.beat }])),
    };
  }
}

function randomBaseExplanation(weights: WeightsInfo, beat: boolean, features: FeatureStatistics | undefined): string[] {
  const why = weights.kind === 'random-fallback' ? 'the pretrained weights could not be loaded' : 'as asked';
  if (beat) return [`The base is random (${why}), so this is not transfer learning: whatever the head learned came through random filters.`];
  const lines = [`Why: the base is random (${why}) and frozen, so it has learned nothing that could transfer.`];
  if (features) {
    const share = features.rms > 0 ? ` (${Math.round((features.betweenImages / features.rms) * 100)}% of their size)` : '';
    lines.push(`Measured above: the features it hands the head are ${formatMagnitude(features.rms)} in size and differ between images by only ${formatMagnitude(features.betweenImages)}${share}: nearly the same vector for every slice.`);
    if (features.grid && features.withinGrid !== undefined) {
      lines.push(`Average pooling also threw away where things are: across the ${features.grid[0]}×${features.grid[1]} grid the features varied by ${formatMagnitude(features.withinGrid)}, and the head sees none of that.`);
    }
  } else {
    lines.push('Its features are tiny (about 1e-4, with BatchNormalization statistics at their initial values) and nearly the same for every image; average pooling then discards where things are.');
  }
  lines.push('From inputs like these the head learns little more than how common each class is, which is the majority baseline. Transfer learning needs a base that already learned useful features: pretrained weights.');
  return lines;
}

/**
 * Measures the baselines of a classification run before training: chance, the majority class of
 * every split, and the accuracy (and loss) of the untrained, compiled `model` on one split.
 *
 * @param model - the compiled model (its loss and metrics are used; `accuracy` must be among them for the accuracy before training)
 * @param splits - split name → iterator with labels, e.g. `{ train: trainFlow, validation: validFlow }`
 * @param args - see {@link MeasureBaselinesArgs}
 * @returns a {@link Baselines}; `text` is what to print
 * @throws TypeError when a split has no labels, the splits disagree on the number of classes, or
 *   `evaluateOn` names no split; whatever `evaluate` throws (e.g. an uncompiled model)
 * @example
 * const baselines = await measureBaselines(model, { train: trainFlow, validation: validFlow });
 * console.log(baselines.text);
 */
export async function measureBaselines(
  model: tf.LayersModel,
  splits: Record<string, BatchSource & LabelledSplit>,
  args: MeasureBaselinesArgs = {},
): Promise<Baselines> {
  if (!isPlainObject(splits) || Object.keys(splits).length === 0) throw invalidParameterError('splits', 'a record of split name → iterator, e.g. { train: trainFlow, validation: validFlow }', splits);
  const entries = Object.entries(splits);
  const first = majorityBaseline(entries[0]![1], entries[0]![0]);
  const baselines = new Baselines(first.classes);
  for (const [name, source] of entries) baselines.addSplit(name, source);
  const on = args.evaluateOn === undefined ? ('validation' in splits ? 'validation' : null) : args.evaluateOn;
  if (on !== null) {
    const source = splits[on];
    if (source === undefined) throw invalidParameterError('evaluateOn', `one of ${entries.map(([n]) => `'${n}'`).join(', ')} or null`, on);
    const logs = await evaluate(model, source, { accelerate: args.accelerate });
    const accuracy = logs['accuracy'] ?? logs['acc'];
    if (accuracy === undefined) throw new TypeError(`Expected the model to be compiled with metrics: ['accuracy'] but evaluate returned ${describeValue(Object.keys(logs))}.`);
    baselines.beforeTraining = { split: on, accuracy, loss: logs['loss'] as number };
  }
  return baselines;
}
