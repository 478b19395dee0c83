// Types for kernel.js, the project's Jupyter kernel (tslab wrapped for every Jupyter client).

/** The fields of a Jupyter `error` message and of a failed execute_reply. */
export interface KernelError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/**
 * ename/evalue/traceback of a thrown or rejected value: an Error's name (its constructor's when
 * `name` was left 'Error'), message and stack frames without tslab's; 'Uncaught' and the
 * inspected value for anything else. `heading` (e.g. 'UnhandledPromiseRejection') prefixes the first line.
 */
export function describeThrown(value: unknown, opts?: { tslabDir?: string; heading?: string }): KernelError;
/** ename 'TSError', the first diagnostic (and how many more) as evalue, every diagnostic line as traceback. */
export function describeDiagnostics(lines: string[]): KernelError;
/** Parses `--config-path <file>`. @throws {Error} with the usage when it is missing. */
export function parseArgs(argv: string[]): { configPath: string };
