/**
 * Plain tables for notebooks (the walkthrough's pandas-style listings: per-class counts,
 * predictions): HTML for front ends and aligned text for logs.
 */
import { displayBundle, escapeHtml } from '../runtime/display';
import { invalidParameterError } from '../util/validate';

/** A table cell: text or a number (numbers are right-aligned). */
export type TableCell = string | number | boolean | null | undefined;

/** The two renderings of a table. */
export interface RenderedTable {
  html: string;
  text: string;
}

function cellText(cell: TableCell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number' && !Number.isInteger(cell)) return String(Number(cell.toPrecision(6)));
  return String(cell);
}

/**
 * Renders rows as an HTML table and an aligned text table (no display).
 *
 * @param rows - rows of cells; shorter rows are padded with empty cells
 * @param headers - column headers. Default none
 * @returns `{ html, text }`
 * @throws TypeError when `rows` is not an array of arrays
 * @example
 * renderTable([['normal', 54], ['squamous', 90]], ['class', 'images']).text;
 */
export function renderTable(rows: TableCell[][], headers: string[] = []): RenderedTable {
  if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) throw invalidParameterError('rows', 'array of arrays', rows);
  const cols = Math.max(headers.length, ...rows.map((r) => r.length), 0);
  const cells = rows.map((r) => Array.from({ length: cols }, (_, j) => r[j]));
  const numeric = Array.from({ length: cols }, (_, j) => cells.length > 0 && cells.every((r) => r[j] === undefined || r[j] === null || typeof r[j] === 'number'));
  const head = headers.length
    ? `<thead><tr>${Array.from({ length: cols }, (_, j) => `<th>${escapeHtml(headers[j] ?? '')}</th>`).join('')}</tr></thead>`
    : '';
  const body = cells.map((r) => `<tr>${r.map((c, j) => `<td${numeric[j] ? ' style="text-align:right"' : ''}>${escapeHtml(cellText(c))}</td>`).join('')}</tr>`).join('');
  const html = `<table class="transferlab-table">${head}<tbody>${body}</tbody></table>`;

  const textRows = [...(headers.length ? [Array.from({ length: cols }, (_, j) => headers[j] ?? '')] : []), ...cells.map((r) => r.map(cellText))];
  const widths = Array.from({ length: cols }, (_, j) => Math.max(0, ...textRows.map((r) => (r[j] ?? '').length)));
  const line = (r: string[]): string => r.map((c, j) => (numeric[j] ? c.padStart(widths[j] as number) : c.padEnd(widths[j] as number))).join('  ').trimEnd();
  const lines = textRows.map(line);
  if (headers.length) lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return { html, text: lines.join('\n') };
}

/**
 * Shows rows as a table (`text/html` + `text/plain`).
 *
 * @param rows - rows of cells
 * @param headers - column headers. Default none
 * @returns `{ html, text }` as displayed
 * @throws TypeError when `rows` is not an array of arrays
 * @example
 * displayTable([['normal', 54], ['squamous', 90]], ['class', 'images']);
 */
export function displayTable(rows: TableCell[][], headers: string[] = []): RenderedTable {
  const table = renderTable(rows, headers);
  displayBundle({ 'text/html': table.html, 'text/plain': table.text });
  return table;
}
