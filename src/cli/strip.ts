// `transferlab strip`: notebooks are committed without outputs (STYLE.md); executed copies are
// build artifacts. Like nbstripout: outputs, execution counts and execution timing go, and so do
// the cells that `transferlab run` adds to its output (injected parameters, error banners), so an
// executed copy saved over the source comes back clean. Written as nbformat writes (sorted keys,
// one-space indent, trailing newline), so a clean notebook is byte-for-byte unchanged.
import fs from 'node:fs';
import { NotebookFileError } from './errors';
import { ERROR_BANNER_TAG, hasTag, type Notebook } from './notebook';
import { INJECTED_PARAMETERS_TAG } from './params';

/** Name of the git filter that `npm run setup -- --git-filter` configures. */
export const GIT_FILTER_NAME = 'transferlab-strip';

/**
 * Returns a copy of `nb` without outputs, execution counts, per-cell execution timing, and the
 * cells `transferlab run` inserts. Pure.
 * @example stripNotebook(executed).cells.every((c) => c.cell_type !== 'code' || c.outputs?.length === 0) // true
 */
export function stripNotebook(nb: Notebook): Notebook {
  const cells = nb.cells
    .filter((c) => !hasTag(c, INJECTED_PARAMETERS_TAG) && !hasTag(c, ERROR_BANNER_TAG))
    .map((cell) => {
      const metadata = { ...cell.metadata };
      delete metadata.execution;
      if (cell.cell_type !== 'code') return { ...cell, metadata };
      return { ...cell, metadata, outputs: [], execution_count: null };
    });
  return { ...nb, cells };
}

/** Serialises a notebook as Jupyter does (one-space indent, non-ASCII kept, a final newline), keeping key order. */
export function formatNotebook(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + '\n';
}

/** Parses notebook JSON text. @throws {NotebookFileError} naming `where` when it is not an nbformat 4 notebook. */
export function parseNotebook(text: string, where: string): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(text) as Notebook;
  } catch (e) {
    throw new NotebookFileError(`Expected ${where} to be notebook JSON but it does not parse: ${(e as Error).message}`, where);
  }
  if (nb === null || typeof nb !== 'object' || nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new NotebookFileError(`Expected an nbformat 4 notebook in ${where}; open and save it with a current Jupyter to upgrade it.`, where);
  }
  return nb;
}

/** What {@link stripFile} did. */
export interface StripResult {
  file: string;
  /** Whether the stripped text differs from the file's. */
  changed: boolean;
  /** Bytes before and after. */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Strips one notebook file in place (unless `check`).
 * @param file - the .ipynb path
 * @param check - only report whether it would change. Default false.
 * @throws {NotebookFileError} for unreadable or non-notebook files.
 */
export function stripFile(file: string, check = false): StripResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new NotebookFileError(`Expected a notebook file at ${file} but could not read it: ${(e as Error).message}`, file);
  }
  const stripped = formatNotebook(stripNotebook(parseNotebook(text, file)));
  const changed = stripped !== text;
  if (changed && !check) fs.writeFileSync(file, stripped);
  return { file, changed, bytesBefore: Buffer.byteLength(text), bytesAfter: Buffer.byteLength(stripped) };
}
