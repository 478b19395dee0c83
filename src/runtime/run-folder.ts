/**
 * Where a notebook run keeps its files. `transferlab run --output <dir>` sets `TRANSFERLAB_OUTPUT`
 * to that folder (absolute) in the kernel's environment, so the notebook can put its working data
 * and `metrics.json` next to the executed notebook, and two runs with different outputs never
 * share data. Stock tools can set the same variable.
 */
import * as path from 'node:path';

/** Environment variable holding the run's output folder. */
export const RUN_OUTPUT_ENV = 'TRANSFERLAB_OUTPUT';

/** Options of {@link runFolder}. */
export interface RunFolderArgs {
  /** An explicit folder (e.g. a parameter); wins when non-empty. Default: none. */
  folder?: string;
  /** Folder when neither `folder` nor `TRANSFERLAB_OUTPUT` is set, relative to the notebook's folder. Default 'output'. */
  fallback?: string;
  /** Environment to read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s.trim() === '' ? undefined : s);

/**
 * The run's folder, absolute: `folder` when given and non-empty, else `TRANSFERLAB_OUTPUT` (set by
 * `transferlab run` to its `--output`), else `fallback`. Relative paths resolve against the
 * kernel's working folder (the notebook's folder). Nothing is created.
 *
 * @param args - see {@link RunFolderArgs}
 * @returns an absolute path
 * @example
 * const runDir = tl.runFolder({ folder: outputDir, fallback: '../output/walkthrough' });
 * const workDir = path.join(runDir, 'work'); // data of this run only
 */
export function runFolder(args: RunFolderArgs = {}): string {
  const env = args.env ?? process.env;
  return path.resolve(nonEmpty(args.folder) ?? nonEmpty(env[RUN_OUTPUT_ENV]) ?? args.fallback ?? 'output');
}
