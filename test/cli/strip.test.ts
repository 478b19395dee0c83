import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { formatNotebook, stripNotebook } from '../../src/cli/strip';
import type { Notebook } from '../../src/cli/notebook';
import type * as SetupModule from '../../kernel-setup/setup';
import { readJson, root, runCli, tempDir } from './support';

const setup = require(path.join(root, 'kernel-setup', 'setup.js')) as typeof SetupModule;

function executed(): Notebook {
  return {
    cells: [
      { cell_type: 'markdown', id: 'e', metadata: { tags: ['transferlab-error'] }, source: '**transferlab run failed.**' },
      { cell_type: 'markdown', id: 'm', metadata: {}, source: '# Title' },
      { cell_type: 'code', id: 'p', metadata: { tags: ['parameters'] }, source: 'let n = 1;', execution_count: 1, outputs: [{ output_type: 'stream', name: 'stdout', text: ['1\n'] }] },
      { cell_type: 'code', id: 'i', metadata: { tags: ['injected-parameters'] }, source: 'n = 2;', execution_count: 2, outputs: [] },
      { cell_type: 'code', id: 'c', metadata: { execution: { 'iopub.status.idle': '2026-01-01' } }, source: 'plot()', execution_count: 3, outputs: [{ output_type: 'display_data', data: { 'text/html': 'x'.repeat(10_000) }, metadata: {} }] },
    ],
    metadata: { kernelspec: { name: 'transferlab', display_name: 'TypeScript (transferlab)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

test('strips outputs, counts, timing and the cells transferlab run adds, and leaves a clean notebook byte for byte', () => {
  const clean = stripNotebook(executed());
  assert.deepEqual(clean.cells.map((c) => c.id), ['m', 'p', 'c']);
  assert.deepEqual(clean.cells.filter((c) => c.cell_type === 'code').map((c) => [c.outputs, c.execution_count, c.metadata]), [
    [[], null, { tags: ['parameters'] }],
    [[], null, {}],
  ]);
  const text = formatNotebook(clean);
  assert.equal(formatNotebook(stripNotebook(JSON.parse(text) as Notebook)), text);
  for (const committed of ['notebooks/00-getting-started.ipynb', 'notebooks/extras/00-nested-import.ipynb']) {
    const original = fs.readFileSync(path.join(root, committed), 'utf8');
    assert.equal(formatNotebook(stripNotebook(JSON.parse(original) as Notebook)), original, `${committed} is unchanged`);
  }
});

test('transferlab strip rewrites in place, --check reports with exit 1, --stdin filters', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'nb.ipynb');
    fs.writeFileSync(file, JSON.stringify(executed()));
    const check = await runCli(['strip', '--check', file]);
    assert.equal(check.status, 1);
    assert.match(check.stdout, /nb\.ipynb is not stripped \(run transferlab strip /);
    const res = await runCli(['strip', file]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^Stripped .*nb\.ipynb: \d+ -> \d+ bytes$/m);
    assert.equal(readJson(file).cells.length, 3);
    assert.equal((await runCli(['strip', '--check', file])).status, 0);
    const piped = spawnSync(process.execPath, [path.join(root, 'bin', 'transferlab.js'), 'strip', '--stdin'], { input: JSON.stringify(executed()), encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(piped.stdout, fs.readFileSync(file, 'utf8'));
    const bad = await runCli(['strip', path.join(dir, 'missing.ipynb')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Expected a notebook file at .*missing\.ipynb but could not read it/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the git filter installed by setup stores notebooks without outputs while the working copy keeps them', () => {
  const dir = tempDir();
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
    git('init', '-q');
    git('config', 'user.email', 't@example.com');
    git('config', 'user.name', 'test');
    setup.installGitFilter(dir, root);
    fs.copyFileSync(path.join(root, '.gitattributes'), path.join(dir, '.gitattributes'));
    fs.mkdirSync(path.join(dir, 'notebooks'));
    const nb = path.join(dir, 'notebooks', 'a.ipynb');
    fs.writeFileSync(nb, JSON.stringify(executed(), null, 1) + '\n');
    git('add', '.gitattributes', 'notebooks/a.ipynb');
    git('commit', '-q', '-m', 'add');
    const stored = JSON.parse(git('show', 'HEAD:notebooks/a.ipynb')) as Notebook;
    assert.deepEqual(stored.cells.map((c) => c.outputs?.length ?? 0), [0, 0, 0]);
    assert.deepEqual(stored.cells.map((c) => c.execution_count ?? null), [null, null, null]);
    assert.equal(readJson(nb).cells.length, 5, 'the working copy keeps its outputs');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
