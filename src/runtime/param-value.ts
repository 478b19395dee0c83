// Parameter values as `--param name=value`, `TRANSFERLAB_PARAM_<NAME>` and the parameters file write
// them: shared by the notebook runner (cli/params.ts) and `parameters()` in the kernel
// (runtime/parameters.ts), so it lives below both.
import { ParameterError } from './parameter-error';

/** A parameter value: what `--param name=value` parses to. */
export type ParamValue = number | string | boolean | null | ParamValue[] | { [key: string]: ParamValue };

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** Turns single-quoted strings into JSON strings so `['a', 'b']` parses as JSON. */
function singleToDoubleQuotes(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (ch === "'") {
      let j = i + 1;
      let inner = '';
      while (j < text.length && text[j] !== "'") {
        if (text[j] === '\\' && j + 1 < text.length) {
          inner += text[j + 1] === "'" ? "'" : text.slice(j, j + 2);
          j += 2;
        } else {
          inner += text[j] === '"' ? '\\"' : text[j];
          j++;
        }
      }
      out += `"${inner}"`;
      i = j;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Parses the value part of `--param name=value`, JSON-ish: `3`, `0.5`, `-1e-3` → number;
 * `true`/`false` → boolean; `null` → null; `"text"` or `'text'` → string; `[1, 2]`, `['a', 'b']`
 * and `{"k": 1}` → array/object (single quotes allowed); anything else → the text as a string.
 * @throws {ParameterError} when a quoted string or an array/object is malformed.
 * @example parseParamValue('[1, 2]') // [1, 2]
 * @example parseParamValue('chest-ct') // 'chest-ct'
 */
export function parseParamValue(text: string, name = 'value'): ParamValue {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  const structured = t.startsWith('[') || t.startsWith('{');
  const quoted = (t.startsWith('"') && t.endsWith('"') && t.length >= 2) || (t.startsWith("'") && t.endsWith("'") && t.length >= 2);
  if (!structured && !quoted) return text;
  try {
    return JSON.parse(singleToDoubleQuotes(t)) as ParamValue;
  } catch (e) {
    const kind = structured ? "a JSON array or object like [1, 2] or ['a', 'b']" : 'a complete quoted string';
    throw new ParameterError(
      `Expected ${kind} for parameter ${name} but received ${text} (${(e as Error).message}). ` +
        'Quote the whole argument in the shell, e.g. --param "sizes=[1, 2]".',
      { parameter: name },
    );
  }
}
