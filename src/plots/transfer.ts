/**
 * Figures of a transfer study (`transferStudy` in src/training): test accuracy against the number
 * of labels per class for each method (mean over seeds, each seed as a dot), and the learning
 * curves of one run with a marker where fine-tuning starts. Both draw the baselines and use a
 * fixed 0–1 accuracy axis, so a flat line at the majority share cannot pass for learning.
 */
import type { TransferCurves, TransferMethod, TransferResult } from '../training/transfer-models';
import { invalidParameterError } from '../util/validate';
import { lineChart, PLOT_COLORS, type Figure, type LineSeries, type ReferenceLine } from './figure';
import { showFigure, type ShowFigureArgs } from './show';

/** Options of {@link plotTransferComparison} and {@link plotTransferCurves}. */
export interface TransferPlotArgs extends ShowFigureArgs {
  /** Horizontal lines, e.g. the test split's majority share and chance. Default none. */
  references?: ReferenceLine[];
  /** Display the figure now. Default true. */
  show?: boolean;
  /** Title. Default per figure. */
  title?: string;
}

const METHOD_COLORS: Record<TransferMethod, string> = { scratch: PLOT_COLORS[3] as string, 'feature-extraction': PLOT_COLORS[0] as string, 'fine-tuning': PLOT_COLORS[2] as string };

/** The x position of a K: its value, and `'all'` at the mean number of training images per class. */
function kPosition(row: TransferResult, classes: number): number {
  return row.labelsPerClass === 'all' ? Math.round(row.trainImages / classes) : row.labelsPerClass;
}

/**
 * Test accuracy against labelled images per class, one line per method (mean over seeds) and one
 * dot per seed; `'all'` sits at the training split's mean images per class.
 *
 * @param rows - the study's results
 * @param classes - number of classes (to place `'all'`)
 * @param args - see {@link TransferPlotArgs}
 * @returns the figure
 * @throws TypeError when `rows` is empty
 * @example
 * plotTransferComparison(study.results, 4, { references: [{ name: 'majority 38.1%', y: 0.381 }] });
 */
export function plotTransferComparison(rows: readonly TransferResult[], classes: number, args: TransferPlotArgs = {}): Figure {
  if (!Array.isArray(rows) || rows.length === 0) throw invalidParameterError('rows', 'a non-empty array of transfer results', rows);
  const series: LineSeries[] = [];
  for (const method of ['scratch', 'feature-extraction', 'fine-tuning'] as TransferMethod[]) {
    const mine = rows.filter((r) => r.method === method);
    if (mine.length === 0) continue;
    const xs = [...new Set(mine.map((r) => kPosition(r, classes)))].sort((a, b) => a - b);
    const means = xs.map((x) => {
      const at = mine.filter((r) => kPosition(r, classes) === x);
      return at.reduce((s, r) => s + r.testAccuracy, 0) / at.length;
    });
    const color = METHOD_COLORS[method];
    series.push({ name: `${method} (mean)`, x: xs, y: means, color });
    series.push({ name: `${method} (each seed)`, x: mine.map((r) => kPosition(r, classes)), y: mine.map((r) => r.testAccuracy), color, mode: 'markers' });
  }
  const fig = lineChart(series, {
    title: args.title ?? 'Test accuracy vs labelled images per class',
    xLabel: "labelled training images per class ('all' at its mean)",
    yLabel: 'test accuracy',
    yRange: [0, 1],
    references: args.references ?? [],
  });
  if (args.show ?? true) showFigure(fig, args);
  return fig;
}

/**
 * The learning curves of one (K, seed): validation accuracy of the scratch run and of the
 * two-phase transfer run (head, then fine-tuning), training accuracy of the latter, and a dashed
 * vertical line where fine-tuning starts.
 *
 * @param curves - one entry of the study's `curves`
 * @param args - see {@link TransferPlotArgs}
 * @returns the figure
 * @throws TypeError when `curves` holds no history
 */
export function plotTransferCurves(curves: TransferCurves, args: TransferPlotArgs = {}): Figure {
  const series: LineSeries[] = [];
  if (curves.scratch?.val_accuracy) series.push({ name: 'scratch: val_accuracy', y: curves.scratch.val_accuracy, color: METHOD_COLORS.scratch });
  if (curves.transfer?.accuracy) series.push({ name: 'transfer: accuracy (train)', y: curves.transfer.accuracy, color: METHOD_COLORS['fine-tuning'], dash: 'dash' });
  if (curves.transfer?.val_accuracy) series.push({ name: 'transfer: val_accuracy', y: curves.transfer.val_accuracy, color: METHOD_COLORS['fine-tuning'] });
  if (series.length === 0) throw invalidParameterError('curves', 'curves with accuracy histories', curves);
  if (curves.fineTuneStartsAfter > 0 && (curves.transfer?.accuracy?.length ?? 0) > curves.fineTuneStartsAfter) {
    const x = curves.fineTuneStartsAfter + 0.5;
    series.push({ name: 'fine-tuning starts', x: [x, x], y: [0, 1], color: PLOT_COLORS[7] as string, mode: 'lines', dash: 'dash' });
  }
  const fig = lineChart(series, {
    title: args.title ?? `Learning curves, ${curves.labelsPerClass} labels per class, seed ${curves.seed}`,
    xLabel: 'Epoch',
    yLabel: 'accuracy',
    yRange: [0, 1],
    references: args.references ?? [],
  });
  if (args.show ?? true) showFigure(fig, args);
  return fig;
}
