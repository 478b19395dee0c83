/** Small helpers shared by the callbacks. */

/** Encodes ±Infinity/NaN for JSON state (JSON turns them into null). */
export function encodeNumber(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/** Decodes {@link encodeNumber}. */
export function decodeNumber(x: unknown): number {
  return typeof x === 'number' ? x : Number(x);
}

/** Keras's user-visible warning (`warnings.warn`). */
export function warn(message: string): void {
  console.warn(`Warning: ${message}`);
}

/** Keras's `io_utils.print_msg`. */
export function printMsg(message: string): void {
  console.log(message);
}

/** Formats like Python's `f"{x:.4e}"` (two-digit exponent: `1.0000e-04`). */
export function pythonExp(x: number, digits: number): string {
  return x.toExponential(digits).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Formats a log value as Keras's Progbar: 4 decimals, or `.4e` when |x| ≤ 1e-3. */
export function formatLogValue(x: number): string {
  return Math.abs(x) > 1e-3 ? x.toFixed(4) : pythonExp(x, 4);
}

/** True when the monitored quantity should be maximised by name (Keras "auto" mode heuristics). */
export function isAccuracyLike(monitor: string): boolean {
  return monitor.includes('acc') || monitor.startsWith('fmeasure');
}
