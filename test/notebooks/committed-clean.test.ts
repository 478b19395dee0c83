import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');

function committedNotebooks(): string[] {
  const listed = execFileSync('git', ['ls-files', '*.ipynb'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !/(^|\/)(test|tests|fixtures)\//.test(f));
  return listed.filter((f) => fs.existsSync(path.join(root, f)));
}

test('committed notebooks hold no outputs and no execution counts', () => {
  const notebooks = committedNotebooks();
  assert.ok(notebooks.length > 0, 'expected at least one committed notebook');
  const dirty: string[] = [];
  for (const file of notebooks) {
    const nb = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as { cells: Array<{ cell_type: string; outputs?: unknown[]; execution_count?: number | null }> };
    nb.cells.forEach((cell, index) => {
      if (cell.cell_type !== 'code') return;
      if ((cell.outputs?.length ?? 0) > 0 || cell.execution_count != null) dirty.push(`${file} cell ${index}`);
    });
  }
  assert.deepEqual(dirty, [], `Clear outputs before committing (Jupyter: Cell > All Output > Clear): ${dirty.join(', ')}`);
});

test('committed notebooks use the project kernel and start with a title and a setup cell', () => {
  for (const file of committedNotebooks().filter((f) => f.startsWith('notebooks/'))) {
    const nb = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as { metadata: { kernelspec?: { name?: string } }; cells: Array<{ cell_type: string; source: string | string[] }> };
    assert.equal(nb.metadata.kernelspec?.name, 'transferlab', `${file}: kernelspec`);
    assert.equal(nb.cells[0].cell_type, 'markdown', `${file}: first cell is the title`);
    assert.match([nb.cells[0].source].flat().join(''), /^# /, `${file}: title heading`);
  }
});
