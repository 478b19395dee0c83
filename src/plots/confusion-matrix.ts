/**
 * Confusion matrix display: rows are true classes, columns predicted classes (sklearn's
 * `confusion_matrix` convention, as the walkthrough's evaluation prints it).
 */
import { displayBundle, escapeHtml } from '../runtime/display';
import { invalidParameterError, isNumber } from '../util/validate';

/** Options of {@link displayConfusionMatrix}. */
export interface ConfusionMatrixArgs {
  /** Title above the matrix. Default `'Confusion matrix'`. */
  title?: string;
  /** Whether to display it (false only builds the renderings). Default true. */
  show?: boolean;
}

/** The three renderings of a confusion matrix. */
export interface RenderedConfusionMatrix {
  html: string;
  svg: string;
  text: string;
}

/** White → blue by `t` in [0, 1]; returns the fill and a readable text colour. */
function shade(t: number): { fill: string; ink: string } {
  const c = (a: number, b: number): number => Math.round(a + (b - a) * t);
  return { fill: `rgb(${c(247, 8)},${c(251, 48)},${c(255, 107)})`, ink: t > 0.5 ? '#ffffff' : '#111111' };
}

/**
 * Shows a confusion matrix as an HTML table with shaded cells, an SVG heatmap and aligned text.
 * Shading is by each cell's share of its row (recall per true class), so small classes stay visible;
 * cells show the counts.
 *
 * @param matrix - square matrix of counts, `matrix[trueClass][predictedClass]`
 * @param classNames - one name per row/column
 * @param args - see {@link ConfusionMatrixArgs}
 * @returns `{ html, svg, text }`
 * @throws TypeError when the matrix is not square, has non-numbers, or `classNames` has another length
 * @example
 * displayConfusionMatrix([[5, 1], [2, 7]], ['normal', 'cancer'], { title: 'Validation' });
 */
export function displayConfusionMatrix(matrix: number[][], classNames: string[], args: ConfusionMatrixArgs = {}): RenderedConfusionMatrix {
  const n = Array.isArray(matrix) ? matrix.length : -1;
  if (n < 1 || matrix.some((r) => !Array.isArray(r) || r.length !== n || r.some((v) => !isNumber(v)))) {
    throw invalidParameterError('matrix', 'square array of arrays of finite numbers', matrix);
  }
  if (!Array.isArray(classNames) || classNames.length !== n || classNames.some((c) => typeof c !== 'string')) {
    throw invalidParameterError('classNames', `array of ${n} class names`, classNames);
  }
  const title = args.title ?? 'Confusion matrix';
  const rowSums = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const share = (i: number, j: number): number => (rowSums[i] ? (matrix[i]![j] as number) / (rowSums[i] as number) : 0);
  const label = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));

  const head = `<tr><th style="text-align:right">true \\ predicted</th>${classNames.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = matrix.map((row, i) => `<tr><th style="text-align:right">${escapeHtml(classNames[i] as string)}</th>${row.map((v, j) => {
    const s = shade(share(i, j));
    return `<td style="background:${s.fill};color:${s.ink};text-align:right;padding:4px 10px">${label(v)}</td>`;
  }).join('')}</tr>`).join('');
  const html = `<div class="transferlab-confusion"><strong>${escapeHtml(title)}</strong><table>${head}${body}</table></div>`;

  const cell = 48;
  const labelW = Math.min(200, 16 + 7 * Math.max(...classNames.map((c) => c.length)));
  const left = labelW;
  const top = 56;
  const W = left + n * cell + 16;
  const colLabelDrop = Math.ceil(6.5 * Math.max(...classNames.map((c) => c.length)) * 0.5); // rotated −30°: sin 30° = 0.5
  const H = top + n * cell + 24 + colLabelDrop;
  const rects: string[] = [];
  matrix.forEach((row, i) => row.forEach((v, j) => {
    const s = shade(share(i, j));
    const x = left + j * cell;
    const y = top + i * cell;
    rects.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${s.fill}" stroke="#ffffff"/>`);
    rects.push(`<text x="${x + cell / 2}" y="${y + cell / 2}" dy="0.32em" text-anchor="middle" fill="${s.ink}">${label(v)}</text>`);
  }));
  const rowLabels = classNames.map((c, i) => `<text x="${left - 6}" y="${top + i * cell + cell / 2}" dy="0.32em" text-anchor="end">${escapeHtml(c)}</text>`);
  const colLabels = classNames.map((c, j) => {
    const x = left + j * cell + cell / 2;
    const y = top + n * cell + 14;
    return `<text x="${x}" y="${y}" text-anchor="end" transform="rotate(-30 ${x} ${y})" font-size="11">${escapeHtml(c)}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" font-size="12">` +
    `<title>${escapeHtml(title)}</title><rect width="${W}" height="${H}" fill="#ffffff"/>` +
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${escapeHtml(title)}</text>` +
    `<text x="${left + (n * cell) / 2}" y="44" text-anchor="middle" font-size="11" fill="#555555">predicted</text>` +
    `${rects.join('')}${rowLabels.join('')}${colLabels.join('')}</svg>`;

  const widths = [Math.max(4, ...classNames.map((c) => c.length)), ...classNames.map((c, j) => Math.max(c.length, ...matrix.map((r) => label(r[j] as number).length)))];
  const lines = [
    `${title} (rows: true, columns: predicted)`,
    ['', ...classNames].map((c, j) => (j === 0 ? c.padEnd(widths[0] as number) : c.padStart(widths[j] as number))).join('  '),
    ...matrix.map((r, i) => [(classNames[i] as string).padEnd(widths[0] as number), ...r.map((v, j) => label(v).padStart(widths[j + 1] as number))].join('  ')),
  ];
  const text = lines.map((l) => l.trimEnd()).join('\n');
  if (args.show ?? true) displayBundle({ 'text/html': html, 'image/svg+xml': svg, 'text/plain': text });
  return { html, svg, text };
}
