import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parameters } from '../../src/runtime/parameters';
import { runFolder } from '../../src/runtime/run-folder';
import { ParameterError } from '../../src/cli/errors';

const defaults = { epochs: 8, weights: 'imagenet', augment: true, sizes: [1, 2] as number[], extra: null };

test('environment variables override defaults, parsed like --param, strings taken as written', () => {
  const env = { TRANSFERLAB_PARAM_epochs: '2', TRANSFERLAB_PARAM_weights: '42', TRANSFERLAB_PARAM_augment: 'false', TRANSFERLAB_PARAM_sizes: '[3, 4]', TRANSFERLAB_PARAM_extra: "'x'" };
  assert.deepEqual(parameters(defaults, { env, verbose: false }), { epochs: 2, weights: '42', augment: false, sizes: [3, 4], extra: 'x' });
  assert.deepEqual(parameters(defaults, { env: {}, verbose: false }), defaults);
});

test('a parameters file applies first and environment variables win over it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-params-'));
  try {
    const file = path.join(dir, 'p.json');
    fs.writeFileSync(file, JSON.stringify({ epochs: 3, weights: 'none' }));
    const env = { TRANSFERLAB_PARAMS: file, TRANSFERLAB_PARAM_epochs: '5' };
    assert.deepEqual(parameters(defaults, { env, verbose: false }), { ...defaults, epochs: 5, weights: 'none' });
    fs.writeFileSync(file, '[1]');
    assert.throws(() => parameters(defaults, { env: { TRANSFERLAB_PARAMS: file }, verbose: false }), {
      name: 'ParameterError',
      message: `Expected the parameters file ${file} to hold a JSON object like {"epochs": 2} but it holds an array.`,
    });
    assert.throws(() => parameters(defaults, { file: path.join(dir, 'missing.json'), env: {}, verbose: false }), /Expected TRANSFERLAB_PARAMS=.*missing\.json to name a readable JSON file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a value of the wrong type is an error naming the variable and the default; unknown names only warn', () => {
  assert.throws(() => parameters(defaults, { env: { TRANSFERLAB_PARAM_epochs: 'two' }, verbose: false }), (e: unknown) => {
    assert.ok(e instanceof ParameterError);
    assert.equal(e.parameter, 'epochs');
    assert.equal(e.message, 'Expected a number for parameter epochs (its default is 8) but TRANSFERLAB_PARAM_epochs gives "two". Set it to a number value.');
    return true;
  });
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (line: string) => warned.push(line);
  try {
    assert.deepEqual(parameters({ epochs: 1 }, { env: { TRANSFERLAB_PARAM_seed: '1' } }), { epochs: 1 });
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warned, ['Warning: TRANSFERLAB_PARAM_seed is set but seed is not a parameter of this notebook (it has: epochs); ignored.']);
});

test('runFolder prefers an explicit folder, then TRANSFERLAB_OUTPUT, then the fallback', () => {
  assert.equal(runFolder({ folder: 'a', env: { TRANSFERLAB_OUTPUT: '/run' } }), path.resolve('a'));
  assert.equal(runFolder({ folder: '', fallback: 'fb', env: { TRANSFERLAB_OUTPUT: '/run' } }), '/run');
  assert.equal(runFolder({ fallback: 'fb', env: {} }), path.resolve('fb'));
  assert.equal(runFolder({ env: {} }), path.resolve('output'));
});
