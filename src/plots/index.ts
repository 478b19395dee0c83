// Public API of src/plots, re-exported by src/index.ts: figures (plotly.js + static SVG), training
// curves, image grids, confusion matrices and tables for the notebook.
export { PLOT_COLORS, figure, lineChart, type Figure, type FigureLayout, type LineChartArgs, type LineSeries, type ReferenceLine, type ScatterTrace } from './figure';
export { niceTicks, formatTick, type AxisTicks } from './ticks';
export { renderSvg } from './svg';
export {
  PLOTLY_ENV, PLOTLY_LOADER_MARKER, PLOTLY_MIME_TYPE, figureMimeBundle, plotlyBundlePath, plotlyLoaderScript, showFigure, type IncludePlotly, type ShowFigureArgs,
} from './show';
export { plotHistory, type HistoryLike, type PlotHistoryArgs } from './history';
export { displayImageGrid, type GridImage, type ImageGridArgs } from './image-grid';
export { displayGradCam, gradCamOverlays, type GradCamOverlayArgs, type DisplayGradCamArgs } from './grad-cam';
export { displayConfusionMatrix, type ConfusionMatrixArgs, type RenderedConfusionMatrix } from './confusion-matrix';
export { displayTable, renderTable, type RenderedTable, type TableCell } from './table';
export { batchToGridImages, loadGridImages, type BatchToGridImagesArgs, type LoadGridImagesArgs } from './grid-sources';
export { plotTransferComparison, plotTransferCurves, type TransferPlotArgs } from './transfer';
