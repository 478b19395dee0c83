// Failing runs through real Jupyter + tslab: each stops at the failing cell, exits non-zero (CLI)
// or returns ok: false (API), keeps a partial output with a banner and leaves no kernel behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { JupyterUnavailableError } from '../../src/cli/errors';
import { runNotebook } from '../../src/cli/runNotebook';
import { cellText, fixtures, printedPid, processExists, readJson, runCli, tempDir } from './support';

test('a type error stops the run with the cell, the TypeScript message and a partial output with banners', async () => {
  const out = tempDir();
  try {
    const res = await runCli(['run', path.join(fixtures, 'type-error.ipynb'), '--output', out]);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /^\[2\/3\] cell 3 "const bytes: number = formatBytes\(1024\);" failed after \d+\.\ds$/m);
    assert.match(res.stderr, /FAILED .*type-error\.ipynb: cell 3 "const bytes: number = formatBytes\(1024\);" raised an error:\n {2}1:7 - Type 'string' is not assignable to type 'number'\./);
    assert.match(res.stderr, /partial output with an error banner: .*type-error\.ipynb, .*type-error\.html/);
    assert.match(res.stderr, /transferlab run: 1 of 1 notebook failed/);
    const nb = readJson(path.join(out, 'type-error.ipynb'));
    assert.deepEqual(nb.cells.map((c) => c.metadata.tags ?? []), [['transferlab-error'], [], [], ['transferlab-error'], [], []]);
    assert.match(String(nb.cells[0].source), /Cell 3 "const bytes: number = formatBytes\(1024\);" raised an error\.\n\n```\n1:7 - Type 'string'/);
    assert.equal(cellText(nb.cells[5]), '', 'the cell after the failure did not run');
    assert.equal(nb.cells[5].execution_count, null);
    assert.ok(fs.existsSync(path.join(out, 'type-error.html')));
    assert.equal(processExists(printedPid(nb)), false, 'the kernel is gone');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('a cell over its metadata timeout that ignores the interrupt gets its kernel killed, with no orphan', async () => {
  const out = tempDir();
  try {
    const log: string[] = [];
    const result = await runNotebook(path.join(fixtures, 'timeout.ipynb'), { output: out, html: false, interruptGrace: 1, log: (l) => log.push(l) });
    assert.equal(result.ok, false);
    assert.equal(result.failure?.kind, 'timeout');
    assert.equal(result.failure?.cellIndex, 2);
    assert.equal(result.failure?.message, 'The cell ran longer than its timeout of 1 s; the kernel ignored the interrupt for 1 s and was killed.');
    assert.equal(result.cellsExecuted, 1);
    const nb = readJson(result.outputs.notebook);
    assert.equal(printedPid(nb), result.kernelPid);
    assert.equal(processExists(result.kernelPid!), false, 'no tslab kernel process from the run remains');
    assert.ok(log.some((l) => /^\[2\/3\] cell 3 "process\.removeAllListeners\('SIGINT'\);" failed after/.test(l)), log.join('\n'));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('a kernel killed mid-run is reported as dead with the partial output kept', async () => {
  const out = tempDir();
  try {
    const result = await runNotebook(path.join(fixtures, 'kernel-killed.ipynb'), { output: out, log: () => {} });
    assert.equal(result.ok, false);
    assert.equal(result.failure?.kind, 'dead_kernel');
    assert.equal(result.failure?.cellIndex, 1);
    assert.match(result.failure?.message ?? '', /^The kernel died while the cell was running \(killed by SIGKILL\)\./);
    const nb = readJson(result.outputs.notebook);
    assert.equal(nb.cells[0].metadata.tags?.[0], 'transferlab-error');
    assert.match(cellText(nb.cells[1]), /^pid \d+/);
    assert.ok(fs.existsSync(result.outputs.html!));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('an unhandled promise rejection fails the cell that caused it before the next cell runs', async () => {
  const out = tempDir();
  try {
    const result = await runNotebook(path.join(fixtures, 'unhandled-rejection.ipynb'), { output: out, html: false, log: () => {} });
    assert.equal(result.failure?.kind, 'unhandled');
    assert.equal(result.failure?.cellIndex, 1);
    assert.match(result.failure?.message ?? '', /^UnhandledPromiseRejection: Error: boom from a forgotten promise\n/);
    const nb = readJson(result.outputs.notebook);
    assert.equal(cellText(nb.cells[4]), '', 'the next cell did not run');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('an exception thrown by a timer after the last cell finished still fails the run', async () => {
  const out = tempDir();
  try {
    const result = await runNotebook(path.join(fixtures, 'late-exception.ipynb'), { output: out, html: false, log: () => {} });
    assert.equal(result.failure?.kind, 'unhandled');
    assert.equal(result.failure?.cellIndex, 1);
    assert.match(result.failure?.message ?? '', /^UncaughtException: Error: late boom\n/);
    assert.equal(result.cellsExecuted, 2);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('an unknown --kernel fails before any cell with the registered kernels listed', async () => {
  const out = tempDir();
  try {
    const res = await runCli(['run', 'notebooks/extras/00-nested-import.ipynb', '--kernel', 'no-such-kernel', '--no-html', '--output', out]);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /FAILED notebooks\/extras\/00-nested-import\.ipynb: the kernel did not start:\n {2}No Jupyter kernelspec named 'no-such-kernel' is registered \(available: [^)]*\)\. Run `npm run setup`/);
    const nb = readJson(path.join(out, '00-nested-import.ipynb'));
    assert.equal(nb.cells[0].metadata.tags?.[0], 'transferlab-error');
    assert.equal(nb.cells.length, 3, 'only the top banner is added');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('a Python that cannot be started is reported with what to do', async () => {
  const out = tempDir();
  try {
    await assert.rejects(runNotebook(path.join(fixtures, 'kernel-killed.ipynb'), { python: '/nonexistent/python3', output: out, log: () => {} }), (e: Error) => {
      assert.ok(e instanceof JupyterUnavailableError);
      assert.equal(e.message, 'Expected to start the notebook driver with Python /nonexistent/python3 but could not: spawn /nonexistent/python3 ENOENT. Set TRANSFERLAB_PYTHON to a Python with Jupyter, or run `npm run setup`.');
      return true;
    });
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
