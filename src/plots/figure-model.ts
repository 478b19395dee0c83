/**
 * The figure model shared by every plot: a small subset of plotly.js's `{ data, layout }` JSON
 * (scatter traces only) and the static SVG rendered from it. Types only: `figure.ts` builds
 * figures, `svg.ts` renders them, and neither needs the other's code to describe one.
 */

/** One line/marker series, in plotly.js's `scatter` trace format. */
export interface ScatterTrace {
  type: 'scatter';
  /** How points are drawn. Default `'lines+markers'`. */
  mode: 'lines' | 'markers' | 'lines+markers';
  /** Legend label. */
  name: string;
  /** X coordinates (same length as `y`). */
  x: number[];
  /** Y coordinates; non-finite values (NaN) leave a gap. */
  y: number[];
  /** Line colour (CSS colour) and dash (`'solid'` or `'dash'`). */
  line: { color: string; dash?: 'solid' | 'dash' };
  /** Marker colour and size in px. */
  marker: { color: string; size: number };
}

/** Layout subset understood by both plotly.js and our SVG renderer. */
export interface FigureLayout {
  title: { text: string };
  /** `dtick` is set for integer x values (epochs) so plotly.js does not label 1.5. */
  xaxis: { title: { text: string }; dtick?: number };
  /**
   * `range` fixes the y axis to `[min, max]` (plotly.js then does not autoscale); without it
   * both renderers fit the axis to the data.
   */
  yaxis: { title: { text: string }; range?: [number, number] };
  /** Width in px. Default 640. */
  width: number;
  /** Height in px. Default 400. */
  height: number;
  showlegend: boolean;
}

/** A figure: plotly.js JSON (`data`, `layout`) and its static SVG rendering. */
export interface Figure {
  data: ScatterTrace[];
  layout: FigureLayout;
  /** Standalone SVG document (no scripts, no external references). */
  svg: string;
}
