import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildInjectedSource,
  findDeclaredParameters,
  injectParameters,
  parseParamArg,
  parseParamValue,
} from '../../src/cli/params';
import { ParameterError } from '../../src/cli/errors';
import type { Notebook } from '../../src/cli/notebook';

test('parses numbers, booleans, null, quoted and bare strings', () => {
  assert.equal(parseParamValue('3'), 3);
  assert.equal(parseParamValue('0.5'), 0.5);
  assert.equal(parseParamValue('-1e-3'), -0.001);
  assert.equal(parseParamValue('true'), true);
  assert.equal(parseParamValue('false'), false);
  assert.equal(parseParamValue('null'), null);
  assert.equal(parseParamValue('"8"'), '8');
  assert.equal(parseParamValue("'it\\'s'"), "it's");
  assert.equal(parseParamValue('chest-ct'), 'chest-ct');
  assert.equal(parseParamValue(' spaced text '), ' spaced text ');
});

test('parses arrays and objects with single or double quotes', () => {
  assert.deepEqual(parseParamValue('[1,2]'), [1, 2]);
  assert.deepEqual(parseParamValue("['a', 'b']"), ['a', 'b']);
  assert.deepEqual(parseParamValue('["a", \'b "c"\']'), ['a', 'b "c"']);
  assert.deepEqual(parseParamValue("{'lr': 0.001, 'names': []}"), { lr: 0.001, names: [] });
});

test('rejects a malformed array with a message naming the parameter', () => {
  assert.throws(() => parseParamValue('[1, 2', 'sizes'), (e: Error) => {
    assert.ok(e instanceof ParameterError);
    assert.match(e.message, /^Expected a JSON array or object like \[1, 2\] or \['a', 'b'\] for parameter sizes but received \[1, 2 /);
    return true;
  });
});

test('splits name=value at the first equals sign and validates the name', () => {
  assert.deepEqual(parseParamArg('label=a=b'), ['label', 'a=b']);
  assert.deepEqual(parseParamArg('epochs=2'), ['epochs', 2]);
  assert.throws(() => parseParamArg('epochs'), /Expected --param name=value with a TypeScript identifier as name but received "epochs"/);
  assert.throws(() => parseParamArg('2x=1'), ParameterError);
});

test('finds top-level declarations with their keyword, ignoring comments and strings', () => {
  const declared = findDeclaredParameters(
    [
      '// let commented = 1;',
      'let epochs = 8; // let trailing = 2',
      "const seed = 1, label = 'let fake = 3';",
      'let sizes: number[] = [1,',
      '  2], batch = 32',
      'var old = true',
      '/* let block = 4; */',
      'let multi =',
      '  5;',
      'export let exported = 6;',
    ].join('\n'),
  );
  assert.deepEqual([...declared.entries()], [
    ['epochs', 'let'],
    ['seed', 'const'],
    ['label', 'const'],
    ['sizes', 'let'],
    ['batch', 'let'],
    ['old', 'var'],
    ['multi', 'let'],
    ['exported', 'let'],
  ]);
});

test('emits one TypeScript assignment per parameter', () => {
  assert.equal(
    buildInjectedSource({ epochs: 2, label: 'a "b"', verbose: true, sizes: [1, 2], names: ['x'] }),
    '// Parameters injected by `transferlab run`.\nepochs = 2;\nlabel = "a \\"b\\"";\nverbose = true;\nsizes = [1,2];\nnames = ["x"];\nvoid 0;',
  );
});

function notebook(): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: 'markdown', id: 'a', metadata: {}, source: '# Title' },
      { cell_type: 'code', id: 'b', metadata: { tags: ['parameters'] }, source: ['let epochs = 8;\n', 'const seed = 1;'], outputs: [], execution_count: null },
      { cell_type: 'code', id: 'c', metadata: {}, source: 'console.log(epochs)', outputs: [], execution_count: null },
    ],
  };
}

test('inserts a tagged cell right after the parameters cell and maps indices back', () => {
  const nb = notebook();
  const { notebook: out, sourceIndex } = injectParameters(nb, { epochs: 2 });
  assert.equal(out.cells.length, 4);
  assert.deepEqual(out.cells[2].metadata.tags, ['injected-parameters']);
  assert.equal(out.cells[2].source, '// Parameters injected by `transferlab run`.\nepochs = 2;\nvoid 0;');
  assert.equal(out.cells[2].id, 'injected-parameters');
  assert.deepEqual(sourceIndex, [0, 1, null, 2]);
  assert.equal(nb.cells.length, 3, 'the input is not modified');
});

test('replaces an injected cell left from an earlier run', () => {
  const once = injectParameters(notebook(), { epochs: 2 }).notebook;
  const twice = injectParameters(once, { epochs: 3 });
  assert.equal(twice.notebook.cells.length, 4);
  assert.match(String(twice.notebook.cells[2].source), /epochs = 3;/);
  assert.deepEqual(twice.sourceIndex, [0, 1, null, 3]);
  assert.equal(injectParameters(once, {}).notebook.cells.length, 3);
});

test('fails for an undeclared name, listing the declared ones', () => {
  assert.throws(() => injectParameters(notebook(), { epoch: 2 }, 'nb.ipynb'), {
    name: 'ParameterError',
    message: 'Expected --param epoch to name a variable declared in the parameters cell of nb.ipynb but it is not declared there. Declared: epochs, seed.',
  });
});

test('fails for a const parameter, asking for let', () => {
  assert.throws(() => injectParameters(notebook(), { seed: 2 }, 'nb.ipynb'), /declared with const\. Change it to let\./);
});

test('fails when parameters are given but no cell is tagged parameters', () => {
  const nb = notebook();
  nb.cells[1].metadata = {};
  assert.throws(() => injectParameters(nb, { epochs: 2 }, 'nb.ipynb'), /Expected a code cell tagged 'parameters' in nb.ipynb to receive --param epochs but found none/);
});
