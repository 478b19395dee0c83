/**
 * Builds figures of the model every plot shares (`figure-model.ts`: a small subset of plotly.js's
 * `{ data, layout }` JSON, scatter traces only) and attaches their static SVG rendering
 * (`svg.ts`). The same object feeds the interactive plot (plotly.js in the page), the static image
 * (`renderSvg`) and the tests.
 *
 * Port of the walkthrough's matplotlib figures (`plt.plot(history.history['loss'])` ...), not of
 * any Keras file.
 */
import { checkInteger, invalidParameterError, isNumber, isPlainObject } from '../util/validate';
import type { Figure, FigureLayout, ScatterTrace } from './figure-model';
import { renderSvg } from './svg';
import { niceTicks } from './ticks';

/** Plotly's default colour cycle ("D3 category 10"); traces without a colour take the next one. */
export const PLOT_COLORS: readonly string[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];

export type { Figure, FigureLayout, ScatterTrace } from './figure-model';

/** One series for {@link lineChart}. */
export interface LineSeries {
  /** Legend label. */
  name: string;
  /** Y values. */
  y: number[];
  /** X values; default `1..y.length` (epochs counted from 1, like Keras's progress bar). */
  x?: number[];
  /** CSS colour; default the next colour of {@link PLOT_COLORS}. */
  color?: string;
  /** Line dash. Default `'solid'`. */
  dash?: 'solid' | 'dash';
  /** Drawing mode. Default `'lines+markers'`. */
  mode?: 'lines' | 'markers' | 'lines+markers';
}

/** Options of {@link lineChart} and {@link figure}. */
export interface LineChartArgs {
  /** Figure title. Default `''`. */
  title?: string;
  /** X axis title. Default `''`. */
  xLabel?: string;
  /** Y axis title. Default `''`. */
  yLabel?: string;
  /** Width in px, 200–4000. Default 640. */
  width?: number;
  /** Height in px, 150–4000. Default 400. */
  height?: number;
  /**
   * The range the y axis covers at least, `[min, max]` with `min < max` (e.g. `[0, 1]` for
   * accuracy, so that noise around 0.32 does not fill the plot). Data or reference lines outside it
   * widen it; the result is fixed in the layout (`yaxis.range`). Default: fitted to the data.
   */
  yRange?: [number, number];
  /**
   * Horizontal reference lines (a baseline, a chance level), drawn dashed across the x range of
   * the series and named in the legend. Default none.
   */
  references?: ReferenceLine[];
}

/** A horizontal line at `y` across a chart, e.g. the majority class's share on an accuracy plot. */
export interface ReferenceLine {
  /** Legend label, e.g. `'majority class 31.9%'`. */
  name: string;
  /** Height of the line, a finite number. */
  y: number;
  /** CSS colour; default a neutral colour of {@link PLOT_COLORS} (grey, olive, cyan in turn). */
  color?: string;
}

/** Colours of reference lines, chosen away from the first series' colours. */
const REFERENCE_COLORS = [PLOT_COLORS[7], PLOT_COLORS[8], PLOT_COLORS[9]] as string[];

function checkSeries(series: unknown, index: number): LineSeries {
  if (!isPlainObject(series)) throw invalidParameterError(`series[${index}]`, 'object with name and y', series);
  const s = series as unknown as LineSeries;
  if (typeof s.name !== 'string') throw invalidParameterError(`series[${index}].name`, 'string', s.name);
  if (!Array.isArray(s.y) || s.y.some((v) => typeof v !== 'number')) {
    throw invalidParameterError(`series[${index}].y`, 'array of numbers', s.y);
  }
  if (s.x !== undefined) {
    if (!Array.isArray(s.x) || s.x.some((v) => !isNumber(v))) throw invalidParameterError(`series[${index}].x`, 'array of finite numbers', s.x);
    if (s.x.length !== s.y.length) {
      throw invalidParameterError(`series[${index}].x`, `array of ${s.y.length} numbers (the length of y)`, s.x);
    }
  }
  return s;
}

function checkRange(name: string, range: unknown): [number, number] {
  if (!Array.isArray(range) || range.length !== 2 || !range.every(isNumber) || !(range[0] < range[1])) {
    throw invalidParameterError(name, '[min, max] with finite min < max', range);
  }
  return [range[0], range[1]];
}

/**
 * Builds a figure from ready plotly.js traces and layout fields, and renders its SVG.
 *
 * @param data - scatter traces (copied)
 * @param layout - layout fields; missing ones take the defaults of {@link LineChartArgs}
 * @returns a new {@link Figure}
 * @throws TypeError when width/height are out of range
 * @example
 * const fig = figure([{ type: 'scatter', mode: 'lines', name: 'a', x: [1, 2], y: [3, 4],
 *   line: { color: '#1f77b4' }, marker: { color: '#1f77b4', size: 6 } }], { title: { text: 'A' } });
 */
export function figure(data: ScatterTrace[], layout: Partial<FigureLayout> = {}): Figure {
  const width = checkInteger('width', layout.width ?? 640, 200, 4000);
  const height = checkInteger('height', layout.height ?? 400, 150, 4000);
  const xs = data.flatMap((t) => t.x);
  const integerX = xs.length > 0 && xs.every((v) => Number.isInteger(v));
  const dtick = layout.xaxis?.dtick ?? (integerX ? niceTicks(Math.min(...xs), Math.max(...xs), Math.min(8, Math.max(1, xs.length - 1)), true).step : undefined);
  const full: FigureLayout = {
    title: { text: layout.title?.text ?? '' },
    xaxis: { title: { text: layout.xaxis?.title?.text ?? '' }, ...(dtick !== undefined ? { dtick } : {}) },
    yaxis: { title: { text: layout.yaxis?.title?.text ?? '' }, ...(layout.yaxis?.range ? { range: checkRange('yaxis.range', layout.yaxis.range) } : {}) },
    width,
    height,
    showlegend: layout.showlegend ?? true,
  };
  const traces = data.map((t) => ({ ...t, x: [...t.x], y: [...t.y], line: { ...t.line }, marker: { ...t.marker } }));
  const partial = { data: traces, layout: full };
  return { ...partial, svg: renderSvg(partial) };
}

/**
 * Builds a line chart (one trace per series) with markers, e.g. loss and val_loss per epoch.
 *
 * @param series - one or more {@link LineSeries}
 * @param args - titles, size, y range and reference lines, see {@link LineChartArgs}
 * @returns a {@link Figure}; show it with `showFigure`. Reference lines are traces too (mode
 *   `'lines'`, dashed), after the series.
 * @throws TypeError on an empty series list, a non-numeric `y`, an `x` whose length differs from `y`,
 *   a `yRange` that is not `[min, max]` with min < max, or a reference line without a name or a finite y
 * @example
 * const fig = lineChart([{ name: 'loss', y: [0.9, 0.5, 0.3] }, { name: 'val_loss', y: [1, 0.7, 0.6] }],
 *   { title: 'Loss', xLabel: 'epoch', yLabel: 'loss' });
 */
export function lineChart(series: LineSeries[], args: LineChartArgs = {}): Figure {
  if (!Array.isArray(series) || series.length === 0) throw invalidParameterError('series', 'non-empty array of series', series);
  const traces: ScatterTrace[] = series.map((raw, i) => {
    const s = checkSeries(raw, i);
    const color = s.color ?? (PLOT_COLORS[i % PLOT_COLORS.length] as string);
    return {
      type: 'scatter',
      mode: s.mode ?? 'lines+markers',
      name: s.name,
      x: s.x ?? s.y.map((_, j) => j + 1),
      y: s.y,
      line: { color, dash: s.dash ?? 'solid' },
      marker: { color, size: 6 },
    };
  });
  const references = args.references ?? [];
  if (!Array.isArray(references)) throw invalidParameterError('references', 'array of { name, y }', references);
  const xs = traces.flatMap((t) => t.x);
  const x0 = xs.length > 0 ? Math.min(...xs) : 0;
  const x1 = xs.length > 0 ? Math.max(...xs) : 1;
  references.forEach((r, i) => {
    if (!isPlainObject(r) || typeof r.name !== 'string') throw invalidParameterError(`references[${i}].name`, 'string', (r as { name?: unknown } | null)?.name);
    if (!isNumber(r.y)) throw invalidParameterError(`references[${i}].y`, 'finite number', r.y);
    const color = r.color ?? (REFERENCE_COLORS[i % REFERENCE_COLORS.length] as string);
    // One epoch: a single x, so the line would have no length; a marker keeps it visible.
    traces.push({ type: 'scatter', mode: x0 === x1 ? 'lines+markers' : 'lines', name: r.name, x: [x0, x1], y: [r.y, r.y], line: { color, dash: 'dash' }, marker: { color, size: 6 } });
  });
  let range: [number, number] | undefined;
  if (args.yRange !== undefined) {
    const [lo, hi] = checkRange('yRange', args.yRange);
    const ys = traces.flatMap((t) => t.y.filter((v) => Number.isFinite(v)));
    range = [Math.min(lo, ...ys), Math.max(hi, ...ys)];
  }
  return figure(traces, {
    title: { text: args.title ?? '' },
    xaxis: { title: { text: args.xLabel ?? '' } },
    yaxis: { title: { text: args.yLabel ?? '' }, ...(range ? { range } : {}) },
    width: args.width ?? 640,
    height: args.height ?? 400,
  });
}
