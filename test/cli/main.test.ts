import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { main, parseRunArgs } from '../../src/cli/main';
import { packageRoot } from '../../src/cli/paths';

const bin = path.join(packageRoot(), 'bin', 'transferlab.js');

test('parses run options in both --flag value and --flag=value forms', () => {
  const cmd = parseRunArgs(['a.ipynb', '--param', 'epochs=2', '-p', "names=['x']", '--timeout=30', '-o', 'out', '--kernel', 'k', '--no-html', 'b.ipynb']);
  assert.deepEqual(cmd, {
    notebooks: ['a.ipynb', 'b.ipynb'],
    params: { epochs: 2, names: ['x'] },
    timeout: 30,
    output: 'out',
    kernel: 'k',
    html: false,
  });
});

test('rejects bad timeouts, unknown options and clashing output names', () => {
  assert.throws(() => parseRunArgs(['a.ipynb', '--timeout', '0']), /Expected a positive number of seconds for --timeout but received 0\./);
  assert.throws(() => parseRunArgs(['a.ipynb', '--tiemout', '3']), /Unknown option --tiemout for transferlab run\./);
  assert.throws(() => parseRunArgs(['a.ipynb', '--output']), /Expected a value after --output but the arguments ended\./);
  assert.throws(() => parseRunArgs([]), /Expected at least one notebook/);
  assert.throws(() => parseRunArgs(['x/a.ipynb', 'y/a.ipynb']), /distinct file names/);
});

test('exits 2 with usage for usage errors and 0 for --help', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
  assert.equal(await main(['run', 'a.ipynb', '--param', 'oops'], io), 2);
  assert.match(err.join(''), /Expected --param name=value .*\n\nUsage:/);
  assert.equal(await main(['--help'], io), 0);
  assert.match(out.join(''), /transferlab run <notebook\.ipynb>\.\.\. \[options\]/);
  assert.equal(await main(['frobnicate'], io), 2);
});

test('the bin shim prints versions of transferlab, tslab and its TypeScript', () => {
  const res = spawnSync(process.execPath, [bin, 'version'], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^transferlab \d+\.\d+\.\d+ \(tslab 1\.0\.22, TypeScript 5\.0\.4 in notebooks, node v\d+/);
});
