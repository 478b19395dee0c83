/**
 * Shows a figure so that it renders everywhere, offline, and keeps notebooks small.
 *
 * One `display_data` output carries four MIME types; each front end picks what it can render:
 *
 * | front end | picks | result |
 * | --- | --- | --- |
 * | classic Notebook 6.x (trusted) | `text/html` (its display order puts html above svg; it ignores the plotly type) | the script draws the interactive plot; without Plotly the inline image stays |
 * | classic Notebook (untrusted, e.g. reopened file) | `text/html`, sanitized: scripts removed | the `<img>` with our SVG stays (the sanitizer keeps `data:` image sources) |
 * | JupyterLab with the plotly extension | `application/vnd.plotly.v1+json` (rank 0) | the extension's own interactive plot |
 * | JupyterLab without it (trusted) | `text/html` (rank 50, above svg's 80) | as classic trusted |
 * | JupyterLab (untrusted) | `text/html`, the only safe rich type besides png | sanitized html: the `<img>` fallback |
 * | nbconvert HTML (runner output) | `text/html` (above svg in its priority list) | interactive plot, offline |
 * | GitHub, VS Code without scripts, text consoles | `image/svg+xml` / `text/plain` | static image / one-line summary |
 *
 * So the html is kept (it is the only type that is interactive without an extension) and it
 * always contains the static image, which the script replaces by the interactive plot.
 *
 * plotly.js itself (the basic minified bundle, ≈1.2 MB: scatter, bar, pie) is inlined, wrapped so
 * it defines `window.Plotly` if absent and ignores require.js/CommonJS globals; where it goes is
 * `includePlotly` (default: the `TRANSFERLAB_PLOTLY` environment variable, else `'page'`):
 * - `'page'`: each figure is first shown with the loader, then at once replaced (same display id)
 *   by the figure without it. The open page has run the loader and draws interactively; the saved
 *   notebook (and nbconvert's output) keeps only the small figure, whose static SVG shows until a
 *   page has Plotly. A notebook with figures saves a few kB per figure instead of 1.2 MB.
 * - `'once'`: stored in the first figure of the kernel session (an executed notebook holds one
 *   copy, so an HTML export is interactive offline); `transferlab run` uses it for its HTML.
 *   Caveat: if that output is cleared and the page reloaded, later figures stay static.
 * - `'always'` / `'never'`: in every figure / in none.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createDisplayHandle, displayBundle, escapeHtml, inNotebook, type MimeBundle } from '../runtime/display';
import { checkOneOf } from '../util/validate';
import type { Figure } from './figure';

/** The MIME type of plotly's JSON (rendered by JupyterLab's plotly extension). */
export const PLOTLY_MIME_TYPE = 'application/vnd.plotly.v1+json';

/** Marker comment placed once at the start of the inlined plotly.js loader. */
export const PLOTLY_LOADER_MARKER = 'transferlab:plotly-loader';

let loaderEmitted = false;
let bundleText: string | null = null;
let figureCounter = 0;

/**
 * Path of the plotly.js bundle we inline (`plotly.js-basic-dist-min`, scatter/bar/pie).
 *
 * @returns an absolute path to `plotly-basic.min.js`
 * @throws Error when the package is not installed
 * @example
 * fs.statSync(plotlyBundlePath()).size; // ≈ 1.2 MB
 */
export function plotlyBundlePath(): string {
  return require.resolve('plotly.js-basic-dist-min');
}

/**
 * The `<script>` element that defines `window.Plotly` from the local bundle when it is not yet
 * defined. The bundle runs with `module`, `exports` and `define` shadowed, so neither require.js
 * (classic Notebook, nbconvert templates) nor a CommonJS-like page captures it.
 *
 * @returns HTML text (≈1.2 MB), read once and cached
 */
export function plotlyLoaderScript(): string {
  if (bundleText === null) {
    // '</script' inside strings or regexes would end the element early; '<\/' means the same in JS.
    bundleText = fs.readFileSync(plotlyBundlePath(), 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  }
  return `<script type="text/javascript">/* ${PLOTLY_LOADER_MARKER} */\nif (typeof window !== 'undefined' && !window.Plotly) {\n` +
    `(function (module, exports, define) {\n${bundleText}\n}).call(window);\n}\n</script>`;
}

/** Where plotly.js goes, see the header of this file. */
export type IncludePlotly = 'page' | 'once' | 'always' | 'never';
const INCLUDE_PLOTLY = ['page', 'once', 'always', 'never'] as const;

/** Environment variable giving the default of `includePlotly`. */
export const PLOTLY_ENV = 'TRANSFERLAB_PLOTLY';

/** Options of {@link figureMimeBundle} and {@link showFigure}. */
export interface ShowFigureArgs {
  /**
   * Where plotly.js goes: `'page'` (sent to the open page with each figure, not kept in the saved
   * notebook), `'once'` (kept in the first figure of this kernel session), `'always'` (kept in
   * every figure, ≈1.2 MB each) or `'never'`. Default: `TRANSFERLAB_PLOTLY`, else `'page'`.
   */
  includePlotly?: IncludePlotly;
}

function includeMode(args: ShowFigureArgs): IncludePlotly {
  const env = process.env[PLOTLY_ENV];
  const fallback = env === undefined || env === '' ? 'page' : checkOneOf(PLOTLY_ENV, env, INCLUDE_PLOTLY);
  return checkOneOf('includePlotly', args.includePlotly ?? fallback, INCLUDE_PLOTLY);
}

function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function describe(fig: Figure): string {
  const title = fig.layout.title.text || 'untitled';
  const points = Math.max(0, ...fig.data.map((t) => t.y.length));
  return `Figure: ${title} (${fig.data.map((t) => t.name).join(', ')}; ${points} points)`;
}

/**
 * Builds the multi-MIME bundle of a figure without showing it (see the table above for what each
 * front end picks). Marks plotly.js as emitted when it inlines it. With `'page'` the bundle holds
 * no plotly.js (it is what a saved notebook keeps; {@link showFigure} sends the loader beside it).
 *
 * @param fig - a {@link Figure}
 * @param args - see {@link ShowFigureArgs}
 * @returns `{ 'application/vnd.plotly.v1+json', 'text/html', 'image/svg+xml', 'text/plain' }`
 * @example
 * const bundle = figureMimeBundle(lineChart([{ name: 'loss', y: [1, 0.5] }]));
 */
export function figureMimeBundle(fig: Figure, args: ShowFigureArgs = {}): MimeBundle {
  const mode = includeMode(args);
  const include = mode === 'always' || (mode === 'once' && !loaderEmitted);
  if (include) loaderEmitted = true;
  const spec = { data: fig.data, layout: fig.layout };
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 10);
  const id = `transferlab-fig-${hash}-${++figureCounter}`;
  const svgUri = `data:image/svg+xml;base64,${Buffer.from(fig.svg, 'utf8').toString('base64')}`;
  const alt = escapeHtml(describe(fig));
  const html = [
    include ? plotlyLoaderScript() : '',
    `<div class="transferlab-figure" id="${id}" style="width:${fig.layout.width}px;max-width:100%;height:${fig.layout.height}px">`,
    `<img src="${svgUri}" alt="${alt}" width="${fig.layout.width}" height="${fig.layout.height}" style="max-width:100%;height:auto"/>`,
    '</div>',
    `<script type="text/javascript">(function () {`,
    `var spec = ${scriptJson(spec)};`,
    `var tries = 0;`,
    `function draw() {`,
    `  var el = document.getElementById(${JSON.stringify(id)});`,
    `  var P = window.Plotly;`,
    `  if (!P || !P.newPlot) return;`,
    `  if (!el) { if (++tries < 50) setTimeout(draw, 100); return; }`,
    `  var fallback = el.innerHTML; el.innerHTML = '';`,
    `  try { var p = P.newPlot(el, spec.data, spec.layout, { displaylogo: false, responsive: true });`,
    `    if (p && p.catch) p.catch(function () { el.innerHTML = fallback; }); }`,
    `  catch (e) { el.innerHTML = fallback; }`,
    `}`,
    `draw();`,
    `})();</script>`,
  ].join('\n');
  return {
    [PLOTLY_MIME_TYPE]: spec,
    'text/html': html,
    'image/svg+xml': fig.svg,
    'text/plain': describe(fig),
  };
}

/**
 * Shows a figure as one notebook output (interactive plotly.js where scripts run, the static SVG
 * elsewhere); outside a notebook prints its one-line `text/plain` summary.
 *
 * @param fig - a {@link Figure}
 * @param args - see {@link ShowFigureArgs}
 * @returns the MIME bundle that was displayed
 * @example
 * showFigure(lineChart([{ name: 'loss', y: [0.9, 0.4] }], { title: 'Loss' }));
 */
export function showFigure(fig: Figure, args: ShowFigureArgs = {}): MimeBundle {
  const bundle = figureMimeBundle(fig, args);
  if (includeMode(args) === 'page' && inNotebook()) {
    // The page runs the loader on the first render; the update leaves the stored output small.
    const handle = createDisplayHandle();
    handle.update({ ...bundle, 'text/html': `${plotlyLoaderScript()}\n${bundle['text/html'] as string}` });
    handle.update(bundle);
    return bundle;
  }
  displayBundle(bundle);
  return bundle;
}
