// Minimal nbformat 4 types and pure helpers for the runner: read a notebook, describe a cell,
// insert the error banner cells of a failed run.
import fs from 'node:fs';
import { NotebookFileError } from './errors';

/** One cell of an nbformat 4 notebook (only the fields the runner touches are typed). */
export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw';
  /** A string, or lines that join to one (nbformat allows both). */
  source: string | string[];
  metadata: { tags?: string[]; timeout?: number; [key: string]: unknown };
  id?: string;
  outputs?: unknown[];
  execution_count?: number | null;
}

/** An nbformat 4 notebook. */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/**
 * Reads and minimally validates an nbformat 4 notebook.
 * @throws {NotebookFileError} when the file is missing, not JSON, or not nbformat 4.
 */
export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new NotebookFileError(`Expected a notebook file at ${file} but could not read it: ${(e as Error).message}`, file);
  }
  let nb: Notebook;
  try {
    nb = JSON.parse(text) as Notebook;
  } catch (e) {
    throw new NotebookFileError(`Expected ${file} to be notebook JSON but it does not parse: ${(e as Error).message}`, file);
  }
  if (nb === null || typeof nb !== 'object' || nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new NotebookFileError(
      `Expected an nbformat 4 notebook in ${file} but received nbformat ${JSON.stringify((nb as Partial<Notebook>)?.nbformat)}. ` +
        'Open and save it with a current Jupyter to upgrade it.',
      file,
    );
  }
  return nb;
}

/** The source of a cell as one string. */
export function sourceText(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** Whether a cell carries a tag. */
export function hasTag(cell: NotebookCell, tag: string): boolean {
  return Array.isArray(cell.metadata?.tags) && cell.metadata.tags.includes(tag);
}

/**
 * The first line of a cell that is neither blank nor a `//` comment (else the first non-blank
 * line), shortened to `max` characters (default 50) with '...'.
 * @example firstSourceLine({ cell_type: 'code', source: '// Build.\nconst model = build();', metadata: {} }) // 'const model = build();'
 */
export function firstSourceLine(cell: NotebookCell, max = 50): string {
  const lines = sourceText(cell).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = lines.find((l) => !l.startsWith('//')) ?? lines[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** Whether the runner executes a cell: a code cell with non-blank source. */
export function isRunnable(cell: NotebookCell): boolean {
  return cell.cell_type === 'code' && sourceText(cell).trim() !== '';
}

/** Number of cells the runner executes. */
export function countRunnableCells(nb: Notebook): number {
  return nb.cells.filter(isRunnable).length;
}

/** Builds a new cell, with an id when the notebook's format (4.5+) requires one. */
export function newCell(nb: Notebook, cellType: 'code' | 'markdown', source: string, tags: string[], id: string): NotebookCell {
  const cell: NotebookCell = { cell_type: cellType, metadata: { tags }, source };
  if (cellType === 'code') {
    cell.execution_count = null;
    cell.outputs = [];
  }
  if (nb.nbformat_minor >= 5) {
    const taken = new Set(nb.cells.map((c) => c.id));
    let unique = id;
    for (let i = 2; taken.has(unique); i++) unique = `${id}-${i}`;
    cell.id = unique;
  }
  return cell;
}

/** Tag of the banner cells the runner inserts into the output of a failed run. */
export const ERROR_BANNER_TAG = 'transferlab-error';

/**
 * Returns a copy of `nb` with a markdown banner describing a failure inserted at the top and, when
 * `cellIndex` is given, right before the failing cell. Pure.
 * @param nb the executed notebook.
 * @param cellIndex index in `nb` of the failing cell; undefined when no cell is to blame.
 * @param title e.g. 'Cell 5 (`const x: number = 'a'`) failed'.
 * @param message the error text, shown as a code block.
 */
export function insertErrorBanners(nb: Notebook, cellIndex: number | undefined, title: string, message: string): Notebook {
  const fence = message.includes('```') ? '~~~~' : '```';
  const body = `**transferlab run failed.** ${title}\n\n${fence}\n${message}\n${fence}\n`;
  const cells = [...nb.cells];
  if (cellIndex !== undefined) {
    cells.splice(cellIndex, 0, newCell(nb, 'markdown', `${body}\nThe cell below is the one that failed; later cells did not run.`, [ERROR_BANNER_TAG], 'transferlab-error-cell'));
  }
  const out = { ...nb, cells };
  const where = cellIndex === undefined ? '' : '\nJump to the banner above the failing cell for its outputs.';
  cells.unshift(newCell(out, 'markdown', body + where, [ERROR_BANNER_TAG], 'transferlab-error'));
  return out;
}
