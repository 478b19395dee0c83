// papermill-style parameters for TypeScript notebooks: the cell tagged 'parameters' declares the
// defaults with `let`; the runner inserts a cell tagged 'injected-parameters' right after it that
// reassigns the given names (`epochs = 2;`). Everything here is pure.
import { ParameterError } from './errors';
import { hasTag, newCell, sourceText, type Notebook } from './notebook';
import { parseParamValue, type ParamValue } from '../runtime/param-value';

export { parseParamValue, type ParamValue };

/** Tag of the cell holding the defaults. */
export const PARAMETERS_TAG = 'parameters';
/** Tag of the cell the runner inserts. */
export const INJECTED_PARAMETERS_TAG = 'injected-parameters';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Parses one `name=value` argument.
 * @throws {ParameterError} when there is no '=' or the name is not a TypeScript identifier.
 * @example parseParamArg('epochs=2') // ['epochs', 2]
 */
export function parseParamArg(arg: string): [string, ParamValue] {
  const eq = arg.indexOf('=');
  const name = eq < 0 ? arg : arg.slice(0, eq).trim();
  if (eq < 0 || !IDENTIFIER.test(name)) {
    throw new ParameterError(
      `Expected --param name=value with a TypeScript identifier as name but received ${JSON.stringify(arg)}.`,
      { parameter: name },
    );
  }
  return [name, parseParamValue(arg.slice(eq + 1), name)];
}

/** Removes comments and the contents of string literals, keeping line structure. */
function stripCommentsAndStrings(src: string): string {
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    const next = src[i + 1];
    if (ch === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      out += '\n';
    } else if (ch === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop - 1;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== ch) j += src[j] === '\\' ? 2 : 1;
      out += ch + src.slice(i + 1, j).replace(/[^\n]/g, ' ') + ch;
      i = j;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Finds the variables a parameters cell declares at its top level, with their keyword. Handles
 * one or several declarators per statement (`let a = 1, b = [2, 3];`), type annotations and
 * comments; destructuring patterns are skipped.
 * @example findDeclaredParameters('let epochs = 8;\nconst seed = 1;') // Map { 'epochs' => 'let', 'seed' => 'const' }
 */
export function findDeclaredParameters(source: string): Map<string, 'let' | 'var' | 'const'> {
  const code = stripCommentsAndStrings(source);
  const found = new Map<string, 'let' | 'var' | 'const'>();
  const keyword = /(^|[;\n{}])\s*(?:export\s+)?(let|var|const)\s+/g;
  for (let m = keyword.exec(code); m !== null; m = keyword.exec(code)) {
    const kind = m[2] as 'let' | 'var' | 'const';
    let i = m.index + m[0].length;
    // Read declarators until ';' or a newline at depth 0 that does not continue the statement.
    for (;;) {
      const name = /^[A-Za-z_$][\w$]*/.exec(code.slice(i));
      if (name === null) break;
      found.set(name[0], kind);
      let depth = 0;
      let j = i + name[0].length;
      for (; j < code.length; j++) {
        const ch = code[j];
        if ('([{'.includes(ch)) depth++;
        else if (')]}'.includes(ch)) depth--;
        else if (depth === 0 && (ch === ',' || ch === ';')) break;
        else if (depth === 0 && ch === '\n' && !/^\s*[,=+\-*/.?:|&]/.test(code.slice(j + 1)) && !/[,=+\-*/.?:|&(]\s*$/.test(code.slice(i, j))) break;
      }
      if (code[j] !== ',') break;
      i = j + 1;
      while (/\s/.test(code[i] ?? '')) i++;
    }
  }
  return found;
}

/**
 * The TypeScript source of the injected cell: a comment, one assignment per parameter, and a final
 * `void 0;` so tslab does not echo the last assigned value as the cell's result.
 * @example buildInjectedSource({ epochs: 2 }) // '// Parameters injected by `transferlab run`.\nepochs = 2;\nvoid 0;'
 */
export function buildInjectedSource(params: Record<string, ParamValue>): string {
  const lines = Object.entries(params).map(([name, value]) => `${name} = ${JSON.stringify(value)};`);
  return ['// Parameters injected by `transferlab run`.', ...lines, 'void 0;'].join('\n');
}

/** The result of {@link injectParameters}. */
export interface InjectedNotebook {
  notebook: Notebook;
  /** For each cell of `notebook`, its index in the original notebook; null for the injected cell. */
  sourceIndex: (number | null)[];
}

/**
 * Returns a copy of `nb` with an 'injected-parameters' cell after the 'parameters' cell (an earlier
 * injected cell, as in an executed output, is replaced). With no params the copy only drops an
 * earlier injected cell. Pure.
 * @throws {ParameterError} when params are given but there is no parameters cell, a name is not
 *   declared there, or it is declared with const.
 */
export function injectParameters(nb: Notebook, params: Record<string, ParamValue>, notebookPath = 'the notebook'): InjectedNotebook {
  const kept: { cell: Notebook['cells'][number]; index: number }[] = [];
  nb.cells.forEach((cell, index) => {
    if (!hasTag(cell, INJECTED_PARAMETERS_TAG)) kept.push({ cell, index });
  });
  const names = Object.keys(params);
  if (names.length === 0) {
    return { notebook: { ...nb, cells: kept.map((k) => k.cell) }, sourceIndex: kept.map((k) => k.index) };
  }
  const at = kept.findIndex((k) => k.cell.cell_type === 'code' && hasTag(k.cell, PARAMETERS_TAG));
  if (at < 0) {
    throw new ParameterError(
      `Expected a code cell tagged '${PARAMETERS_TAG}' in ${notebookPath} to receive --param ${names.join(', ')} but found none. ` +
        "Add the tag to the cell that declares the defaults (Jupyter: cell's property inspector → Tags).",
      { notebook: notebookPath, parameter: names[0] },
    );
  }
  const declared = findDeclaredParameters(sourceText(kept[at].cell));
  const list = [...declared.keys()].join(', ') || 'none';
  for (const name of names) {
    const kind = declared.get(name);
    if (kind === undefined) {
      throw new ParameterError(
        `Expected --param ${name} to name a variable declared in the parameters cell of ${notebookPath} but it is not declared there. Declared: ${list}.`,
        { notebook: notebookPath, parameter: name },
      );
    }
    if (kind === 'const') {
      throw new ParameterError(
        `Expected parameter ${name} in ${notebookPath} to be declared with let so it can be reassigned but it is declared with const. Change it to let.`,
        { notebook: notebookPath, parameter: name },
      );
    }
  }
  const base = { ...nb, cells: kept.map((k) => k.cell) };
  const injected = newCell(base, 'code', buildInjectedSource(params), [INJECTED_PARAMETERS_TAG], 'injected-parameters');
  const cells = [...base.cells];
  cells.splice(at + 1, 0, injected);
  const sourceIndex: (number | null)[] = kept.map((k) => k.index);
  sourceIndex.splice(at + 1, 0, null);
  return { notebook: { ...nb, cells }, sourceIndex };
}
