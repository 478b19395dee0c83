/**
 * Classification summaries: confusion matrix, a per-class report in the shape of scikit-learn's
 * `classification_report`, and the worst predictions (most confident mistakes first).
 */
import { TrainingError } from './errors';
import type { PredictionResult } from './evaluate';
import { checkInteger } from '../util/validate';

/**
 * Counts (true, predicted) pairs: `matrix[t][p]`.
 *
 * @param labels - true class indices
 * @param predictions - predicted class indices, same length
 * @param numClasses - number of classes (rows and columns)
 * @throws TrainingError for mismatched lengths or an index outside `[0, numClasses)`
 * @example
 * confusionMatrix([0, 1, 1], [0, 1, 0], 2); // [[1, 0], [1, 1]]
 */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): number[][] {
  checkInteger('numClasses', numClasses, 1);
  if (labels.length !== predictions.length) throw new TrainingError(`Expected as many predictions as labels, but received ${predictions.length} predictions for ${labels.length} labels.`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predictions[i];
    if (!(t >= 0 && t < numClasses && Number.isInteger(t)) || !(p >= 0 && p < numClasses && Number.isInteger(p))) {
      throw new TrainingError(`Expected class indices in [0, ${numClasses}), but sample ${i} has label ${t} and prediction ${p}.`);
    }
    m[t][p]++;
  }
  return m;
}

/** Precision, recall, F1 and support of one class or average. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Result of {@link classificationReport}. */
export interface ClassificationReport {
  /** Class name → scores. */
  classes: Record<string, ClassScores>;
  /** Fraction of correct predictions. */
  accuracy: number;
  /** Unweighted mean over classes. */
  macroAvg: ClassScores;
  /** Mean over classes weighted by support. */
  weightedAvg: ClassScores;
  /** Total samples. */
  support: number;
  /** Text rendering like scikit-learn's (two decimals). */
  text: string;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Per-class precision, recall, F1 and support, with accuracy and macro/weighted averages, as
 * scikit-learn's `classification_report` (`zero_division=0`).
 *
 * @param labels - true class indices
 * @param predictions - predicted class indices
 * @param classNames - one name per class index
 * @example
 * console.log(classificationReport(result.labels!, result.predictions, classNames).text);
 */
export function classificationReport(labels: ArrayLike<number>, predictions: ArrayLike<number>, classNames: readonly string[]): ClassificationReport {
  const m = confusionMatrix(labels, predictions, classNames.length);
  const total = labels.length;
  const classes: Record<string, ClassScores> = {};
  const rows: ClassScores[] = classNames.map((name, c) => {
    const tp = m[c][c];
    const predicted = m.reduce((s, row) => s + row[c], 0);
    const support = m[c].reduce((s, v) => s + v, 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    const f1 = ratio(2 * precision * recall, precision + recall);
    const scores = { precision, recall, f1, support };
    classes[name] = scores;
    return scores;
  });
  const correct = m.reduce((s, row, i) => s + row[i], 0);
  const avg = (weight: (s: ClassScores) => number): ClassScores => {
    const wsum = rows.reduce((s, r) => s + weight(r), 0);
    const mean = (k: 'precision' | 'recall' | 'f1'): number => ratio(rows.reduce((s, r) => s + r[k] * weight(r), 0), wsum);
    return { precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), support: total };
  };
  const macroAvg = avg(() => 1);
  const weightedAvg = avg((r) => r.support);
  const accuracy = ratio(correct, total);

  // Same layout as scikit-learn: name right-aligned to the widest label, then ' ' + 9-wide columns.
  const width = Math.max('weighted avg'.length, ...classNames.map((n) => n.length));
  const col = (x: string): string => ` ${x.padStart(9)}`;
  const num = (x: number): string => col(x.toFixed(2));
  const line = (name: string, r: ClassScores): string => `${name.padStart(width)} ${num(r.precision)}${num(r.recall)}${num(r.f1)}${col(String(r.support))}`;
  const text = [
    `${''.padStart(width)} ${col('precision')}${col('recall')}${col('f1-score')}${col('support')}`,
    '',
    ...classNames.map((n, i) => line(n, rows[i])),
    '',
    `${'accuracy'.padStart(width)} ${col('')}${col('')}${num(accuracy)}${col(String(total))}`,
    line('macro avg', macroAvg),
    line('weighted avg', weightedAvg),
    '',
  ].join('\n');
  return { classes, accuracy, macroAvg, weightedAvg, support: total, text };
}

/** One entry of {@link worstPredictions}. */
export interface WorstPrediction {
  filepath: string;
  /** True class name. */
  trueClass: string;
  /** Predicted class name. */
  predictedClass: string;
  /** Probability the model gave the true class. */
  trueClassProbability: number;
  /** Probability of the predicted class (the model's confidence). */
  confidence: number;
}

/**
 * The `k` samples with the lowest probability on their true class (ties: file order).
 *
 * @param result - from `predictIterator` (must include labels)
 * @param k - how many, ≥ 0
 * @param classNames - one name per class index
 * @throws TrainingError when the result has no labels
 * @example
 * worstPredictions(result, 8, classNames).forEach((w) => console.log(w.filepath, w.trueClass, '→', w.predictedClass));
 */
export function worstPredictions(result: PredictionResult, k: number, classNames: readonly string[]): WorstPrediction[] {
  checkInteger('k', k, 0);
  const labels = result.labels;
  if (!labels) throw new TrainingError('Expected a prediction result with labels (a source with targets); this one has none.');
  return labels
    .map((t, i) => ({ i, p: result.probabilities[i][t] ?? 0 }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .slice(0, k)
    .map(({ i, p }) => {
      const pred = result.predictions[i];
      return {
        filepath: result.filepaths[i],
        trueClass: classNames[labels[i]] ?? String(labels[i]),
        predictedClass: classNames[pred] ?? String(pred),
        trueClassProbability: p,
        confidence: result.probabilities[i][pred] ?? 0,
      };
    });
}
