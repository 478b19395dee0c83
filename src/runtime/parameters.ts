/**
 * Notebook parameters for stock Jupyter tools. `transferlab run --param name=value` injects a cell
 * after the cell tagged 'parameters' (papermill-style); `jupyter nbconvert --execute`, `jupyter
 * execute` or a CI job cannot, so the parameters cell passes its defaults through
 * {@link parameters}, which applies `TRANSFERLAB_PARAM_<name>` environment variables and a JSON
 * parameters file named by `TRANSFERLAB_PARAMS`. Values are written as for `--param`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ParameterError } from './parameter-error';
import { parseParamValue, type ParamValue } from './param-value';

/** Prefix of the environment variables read by {@link parameters}. */
export const PARAM_ENV_PREFIX = 'TRANSFERLAB_PARAM_';
/** Environment variable naming a JSON parameters file. */
export const PARAMS_FILE_ENV = 'TRANSFERLAB_PARAMS';

/** Options of {@link parameters}. */
export interface ParametersArgs {
  /** Environment to read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** A JSON file holding an object of parameter values. Default: `env.TRANSFERLAB_PARAMS`, none when unset. */
  file?: string;
  /** Print one line listing what was overridden (and warnings for unknown names). Default true. */
  verbose?: boolean;
}

type Kind = 'number' | 'boolean' | 'string' | 'array' | 'object' | 'any';

function kindOf(value: unknown): Kind {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  return 'any';
}

function fits(kind: Kind, value: unknown): boolean {
  return kind === 'any' || kindOf(value) === kind;
}

/**
 * Returns `defaults` with values taken, in increasing priority, from the JSON file named by
 * `TRANSFERLAB_PARAMS` and from `TRANSFERLAB_PARAM_<name>` environment variables (`<name>` exactly
 * as the variable is spelled, e.g. `TRANSFERLAB_PARAM_phantomPerClass=8`). Environment values are
 * parsed as `transferlab run --param` parses them (`3`, `0.5`, `true`, `'text'`, `[1, 2]`); a string
 * parameter takes the text as it is. Each value must have its default's type (number, boolean,
 * string, array or object; a null default takes anything). Names that the notebook does not
 * declare are warned about and ignored, since one environment often serves several notebooks.
 * `transferlab run --param` still wins: its injected cell runs after the parameters cell.
 *
 * @param defaults - the parameters cell's variables, e.g. `{ epochs, batchSize }`
 * @param args - environment, file and verbosity, see {@link ParametersArgs}
 * @returns a new object with the same keys; `defaults` is not modified
 * @throws {ParameterError} for a value of the wrong type or that does not parse, and for a
 *   parameters file that cannot be read or does not hold a JSON object; the message names the
 *   variable or file and the parameter
 * @example
 * let epochs = 8;
 * let weights: string = 'imagenet';
 * ({ epochs, weights } = tl.parameters({ epochs, weights })); // TRANSFERLAB_PARAM_epochs=2 → epochs = 2
 */
export function parameters<T extends Record<string, ParamValue>>(defaults: T, args: ParametersArgs = {}): T {
  if (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults)) {
    throw new TypeError(`Expected an object of parameter defaults but received ${defaults === null ? 'null' : Array.isArray(defaults) ? 'an array' : typeof defaults}`);
  }
  const env = args.env ?? process.env;
  const verbose = args.verbose ?? true;
  const out: Record<string, ParamValue> = { ...defaults };
  const declared = Object.keys(defaults);
  const list = declared.join(', ') || 'none';
  const applied: string[] = [];
  const warnings: string[] = [];
  const check = (name: string, value: ParamValue, source: string): ParamValue => {
    const kind = kindOf(defaults[name]);
    if (!fits(kind, value)) {
      throw new ParameterError(
        `Expected ${kind === 'array' || kind === 'object' ? `an ${kind}` : `a ${kind}`} for parameter ${name} (its default is ${JSON.stringify(defaults[name])}) ` +
          `but ${source} gives ${JSON.stringify(value)}. Set it to a ${kind} value.`,
        { parameter: name },
      );
    }
    return value;
  };

  const file = args.file ?? (env[PARAMS_FILE_ENV] || undefined);
  if (file !== undefined) {
    const where = path.resolve(file);
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(where, 'utf8'));
    } catch (e) {
      throw new ParameterError(`Expected ${PARAMS_FILE_ENV}=${file} to name a readable JSON file but reading ${where} failed: ${(e as Error).message}`);
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new ParameterError(`Expected the parameters file ${where} to hold a JSON object like {"epochs": 2} but it holds ${Array.isArray(data) ? 'an array' : JSON.stringify(data)}.`);
    }
    for (const [name, value] of Object.entries(data as Record<string, ParamValue>)) {
      if (!declared.includes(name)) {
        warnings.push(`${where} sets ${name}, which is not a parameter of this notebook (it has: ${list}); ignored.`);
        continue;
      }
      out[name] = check(name, value, `the parameters file ${where}`);
      applied.push(`${name}=${JSON.stringify(value)} (file)`);
    }
  }

  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith(PARAM_ENV_PREFIX)) continue;
    const name = key.slice(PARAM_ENV_PREFIX.length);
    const text = env[key] ?? '';
    if (!declared.includes(name)) {
      warnings.push(`${key} is set but ${name} is not a parameter of this notebook (it has: ${list}); ignored.`);
      continue;
    }
    let value = parseParamValue(text, name);
    if (kindOf(defaults[name]) === 'string' && typeof value !== 'string') value = text;
    out[name] = check(name, value, key);
    applied.push(`${name}=${JSON.stringify(out[name])}`);
  }

  if (verbose) {
    for (const w of warnings) console.warn(`Warning: ${w}`);
    if (applied.length > 0) console.log(`Parameters from the environment: ${applied.join(', ')}`);
  }
  return out as T;
}
