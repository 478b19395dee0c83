/**
 * Argument validation shared by every module, in the spirit of sharp's `lib/is.js`:
 * one tiny set of predicates and one error factory, so messages read the same everywhere.
 *
 * @example
 * throw invalidParameterError('width', 'positive integer', 1.5);
 * // TypeError: Expected positive integer for width but received 1.5 of type number
 */

/** True for a finite number (not NaN, not ±Infinity). */
export function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** True for a finite integer. */
export function isInteger(value: unknown): value is number {
  return isNumber(value) && Number.isInteger(value);
}

/** True for a plain object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` lies within `[min, max]` (inclusive). */
export function inRange(value: number, min: number, max: number): boolean {
  return value >= min && value <= max;
}

/** Describes a received value for error messages, without dumping large objects. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 80 ? value.slice(0, 77) + '...' : value}'`;
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describeValue).join(', ')}${value.length > 8 ? ', ...' : ''}]`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Object.prototype.toString.call(value);
  return String(value);
}

/**
 * Builds the project's standard message for a bad argument.
 *
 * @param name - the parameter's name as the user wrote it (camelCase Keras name)
 * @param expected - what was expected, e.g. `'positive integer'`, `"one of 'rgb', 'grayscale'"`
 * @param actual - the value received
 * @returns a `TypeError` whose message is
 *   `Expected <expected> for <name> but received <value> of type <type>`
 */
export function invalidParameterError(name: string, expected: string, actual: unknown): TypeError {
  const type = actual === null ? 'null' : Array.isArray(actual) ? 'array' : typeof actual;
  return new TypeError(`Expected ${expected} for ${name} but received ${describeValue(actual)} of type ${type}`);
}

/** Throws unless `value` is one of `allowed`; returns it typed. */
export function checkOneOf<T extends string | null>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw invalidParameterError(name, `one of ${allowed.map((a) => (a === null ? 'null' : `'${a}'`)).join(', ')}`, value);
  }
  return value as T;
}

/** Throws unless `value` is a finite number in `[min, max]`; returns it. */
export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (!isNumber(value) || !inRange(value, min, max)) {
    const range = min === -Infinity && max === Infinity ? 'number' : `number between ${min} and ${max}`;
    throw invalidParameterError(name, range, value);
  }
  return value;
}

/** Throws unless `value` is an integer in `[min, max]`; returns it. */
export function checkInteger(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (!isInteger(value) || !inRange(value, min, max)) {
    const what = min === 1 && max === Infinity ? 'positive integer' : min === 0 && max === Infinity ? 'non-negative integer' : `integer between ${min} and ${max}`;
    throw invalidParameterError(name, what, value);
  }
  return value;
}

/** Throws unless `value` is a boolean; returns it. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidParameterError(name, 'boolean', value);
  return value;
}

/** Throws unless `value` is a non-empty string; returns it. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidParameterError(name, 'non-empty string', value);
  return value;
}
