import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firstSourceLine, insertErrorBanners, readNotebook, type Notebook } from '../../src/cli/notebook';
import { NotebookFileError } from '../../src/cli/errors';

test('describes a cell by its first line of code, shortened', () => {
  const cell = (source: string) => ({ cell_type: 'code' as const, metadata: {}, source });
  assert.equal(firstSourceLine(cell('\n// Build the model.\nconst model = build();')), 'const model = build();');
  assert.equal(firstSourceLine(cell('// only a comment')), '// only a comment');
  assert.equal(firstSourceLine(cell('x'.repeat(80)), 20), `${'x'.repeat(17)}...`);
});

test('inserts an error banner at the top and before the failing cell', () => {
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: 'code', id: 'a', metadata: {}, source: 'ok()' },
      { cell_type: 'code', id: 'b', metadata: {}, source: 'fail()' },
    ],
  };
  const out = insertErrorBanners(nb, 1, 'Cell 2 "fail()": raised an error', 'Error: nope');
  assert.deepEqual(out.cells.map((c) => c.id), ['transferlab-error', 'a', 'transferlab-error-cell', 'b']);
  assert.deepEqual(out.cells[0].metadata.tags, ['transferlab-error']);
  assert.match(String(out.cells[0].source), /^\*\*transferlab run failed\.\*\* Cell 2 "fail\(\)": raised an error\n\n```\nError: nope\n```\n/);
  assert.equal(nb.cells.length, 2, 'the input is not modified');
});

test('reports unreadable and non-notebook files with their path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-nb-'));
  try {
    const missing = path.join(dir, 'missing.ipynb');
    assert.throws(() => readNotebook(missing), (e: Error) => e instanceof NotebookFileError && e.path === missing);
    const old = path.join(dir, 'old.ipynb');
    fs.writeFileSync(old, JSON.stringify({ nbformat: 3, worksheets: [] }));
    assert.throws(() => readNotebook(old), /Expected an nbformat 4 notebook in .*old\.ipynb but received nbformat 3/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
