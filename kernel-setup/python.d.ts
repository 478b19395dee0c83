// Types for python.js: finding a Python with Jupyter's client libraries.

/** Python modules the runner's driver needs: jupyter_client, nbformat, nbconvert, nbclient. */
export const REQUIRED_MODULES: string[];
/** Where `npm run setup` remembers the interpreter: `<root>/.cache/python-path`. */
export function statePath(root?: string): string;
export function readState(root?: string): string | undefined;
export function writeState(pythonPath: string, root?: string): string;

export interface PythonSearchArgs {
  /** Environment to read TRANSFERLAB_PYTHON from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Project root holding `.cache/`. Default: this package. */
  root?: string;
  /** Default: process.platform. */
  platform?: NodeJS.Platform;
  /** Consider the remembered interpreter. Default: true. */
  useState?: boolean;
}

/** Interpreters to try, in order: TRANSFERLAB_PYTHON alone, else state file, /usr/bin/python3, python3, python. */
export function pythonCandidates(opts?: PythonSearchArgs): { path: string; source: string }[];
/** Checks one interpreter for the required modules without importing them. */
export function probePython(pythonPath: string): {
  ok: boolean;
  executable?: string;
  version?: string;
  missing: string[];
  error?: string;
};
/** First candidate with all required modules; `path` is undefined when none has them. */
export function findJupyterPython(opts?: PythonSearchArgs): {
  path: string | undefined;
  version?: string;
  source?: string;
  tried: { path: string; source: string; reason: string }[];
};
