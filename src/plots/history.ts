/**
 * Training curves: one figure per metric with its validation twin (loss vs val_loss, accuracy vs
 * val_accuracy), as the walkthrough draws them after `model.fit`.
 * Port of the notebook's `plt.plot(history.history['loss']); plt.plot(history.history['val_loss'])`.
 */
import { invalidParameterError, isPlainObject } from '../util/validate';
import { lineChart, type Figure, type ReferenceLine } from './figure';
import { showFigure, type ShowFigureArgs } from './show';

/** What {@link plotHistory} accepts: a tfjs/Keras `History` or its plain `history` record. */
export type HistoryLike = { history: Record<string, number[]>; epoch?: number[] } | Record<string, number[]>;

/** Options of {@link plotHistory}. */
export interface PlotHistoryArgs extends ShowFigureArgs {
  /** Metrics to plot, one figure each, with `val_<metric>` beside. Default `['loss', 'accuracy']`. */
  metrics?: string[];
  /** Title prefix; figures are titled `<title> — <metric>`. Default: no prefix (`'Loss'`, `'Accuracy'`). */
  title?: string;
  /** Whether to display the figures (false only builds them). Default true. */
  show?: boolean;
  /**
   * Horizontal reference lines per metric, drawn dashed across the epochs and named in the legend:
   * e.g. `{ accuracy: [{ name: 'majority class 31.9%', y: 0.319 }, { name: 'chance 25.0%', y: 0.25 }],
   * loss: [{ name: 'uniform guess (ln 4)', y: Math.log(4) }] }` (`Baselines.references` builds
   * this). Keys are names as in `metrics`. Default none.
   */
  references?: Record<string, ReferenceLine[]>;
  /**
   * The range each metric's y axis covers at least, `[min, max]` (data outside widen it), or
   * `null` to fit the axis to the data. Default: `[0, 1]` for accuracy metrics (names ending in
   * `acc` or `accuracy`), so a flat curve near a baseline looks flat; fitted to the data otherwise.
   */
  yRange?: Record<string, [number, number] | null>;
}

/** tfjs names `accuracy` as `acc` in its History; Keras 2 used `acc` too. */
const ALIASES: Record<string, string[]> = { accuracy: ['acc'], acc: ['accuracy'] };

function record(history: HistoryLike): { values: Record<string, number[]>; epoch?: number[] } {
  if (!isPlainObject(history)) throw invalidParameterError('history', 'History or record of metric arrays', history);
  const inner = (history as { history?: unknown }).history;
  if (isPlainObject(inner)) {
    const epoch = (history as { epoch?: unknown }).epoch;
    return { values: inner as Record<string, number[]>, epoch: Array.isArray(epoch) ? (epoch as number[]) : undefined };
  }
  return { values: history as Record<string, number[]> };
}

function lookup(values: Record<string, number[]>, metric: string): [string, number[]] | null {
  for (const key of [metric, ...(ALIASES[metric] ?? [])]) {
    const v = values[key];
    if (v !== undefined) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) {
        throw invalidParameterError(`history.${key}`, 'array of numbers (call dataSync() on tensors first)', v);
      }
      return [key, v];
    }
  }
  return null;
}

/** Accuracy-like metrics get a fixed [0, 1] axis by default. */
function isAccuracy(metric: string): boolean {
  return /(^|_)acc(uracy)?$/i.test(metric) || /Accuracy$/.test(metric);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Plots training curves: for each metric a figure with `<metric>` and `val_<metric>` per epoch.
 * Epochs are numbered from 1 (`history.epoch[i] + 1` when the History carries epochs, so a fit
 * resumed with `initialEpoch` continues the axis). A metric that is missing is skipped with a
 * warning that lists the available keys; `accuracy` also matches tfjs's `acc`. Accuracy axes run
 * from 0 to 1 unless `yRange` says otherwise; `references` adds baselines (majority class, chance,
 * the loss of a uniform guess) as dashed lines, in the interactive figure and the static SVG alike.
 *
 * @param history - `model.fit`'s History (`{ history, epoch }`) or a record like `{ loss: [...], val_loss: [...] }`
 * @param args - see {@link PlotHistoryArgs}
 * @returns the figures, in metric order (each with `data`, `layout`, `svg`)
 * @throws TypeError when `history` is not an object, a value is not a number array, no
 *   requested metric is present, or a `references`/`yRange` entry is malformed
 * @example
 * const h = await model.fit(xs, ys, { epochs: 8, validationData: [vx, vy] });
 * plotHistory(h); // two figures: Loss and Accuracy
 * plotHistory(h, { references: { accuracy: [{ name: 'majority class 31.9%', y: 0.319 }] } });
 */
export function plotHistory(history: HistoryLike, args: PlotHistoryArgs = {}): Figure[] {
  const { values, epoch } = record(history);
  const metrics = args.metrics ?? ['loss', 'accuracy'];
  if (!Array.isArray(metrics) || metrics.some((m) => typeof m !== 'string')) {
    throw invalidParameterError('metrics', 'array of metric names', metrics);
  }
  const available = Object.keys(values).sort();
  const references = args.references ?? {};
  const ranges = args.yRange ?? {};
  if (!isPlainObject(references)) throw invalidParameterError('references', 'record of metric name → reference lines', references);
  if (!isPlainObject(ranges)) throw invalidParameterError('yRange', 'record of metric name → [min, max] or null', ranges);
  const figures: Figure[] = [];
  for (const metric of metrics) {
    const train = lookup(values, metric);
    const val = lookup(values, `val_${metric}`) ?? (train ? lookup(values, `val_${train[0]}`) : null);
    if (!train && !val) {
      process.emitWarning(`plotHistory: no '${metric}' in history; available: ${available.join(', ') || '(none)'}`);
      continue;
    }
    const n = Math.max(train?.[1].length ?? 0, val?.[1].length ?? 0);
    const x = Array.from({ length: n }, (_, i) => (epoch && typeof epoch[i] === 'number' ? (epoch[i] as number) + 1 : i + 1));
    const series = [];
    if (train) series.push({ name: metric, y: train[1], x: x.slice(0, train[1].length) });
    if (val) series.push({ name: `val_${metric}`, y: val[1], x: x.slice(0, val[1].length) });
    const name = capitalize(metric);
    const range = metric in ranges ? ranges[metric] : isAccuracy(metric) ? ([0, 1] as [number, number]) : null;
    const fig = lineChart(series, {
      title: args.title !== undefined ? `${args.title} — ${metric}` : name,
      xLabel: 'Epoch',
      yLabel: name,
      references: references[metric] ?? [],
      ...(range !== null && range !== undefined ? { yRange: range } : {}),
    });
    figures.push(fig);
  }
  if (figures.length === 0) {
    throw invalidParameterError('metrics', `metrics present in history (available: ${available.join(', ') || 'none'})`, metrics);
  }
  if (args.show ?? true) for (const fig of figures) showFigure(fig, args);
  return figures;
}
