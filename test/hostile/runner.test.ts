// The notebook runner against hostile timing (issue 15: R14, R15): the runner killed with SIGKILL
// during a cell, and a rejection one second after the last cell. Real Jupyter, the real tslab
// kernel, real processes; the notebooks are written by the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runNotebook } from '../../src/cli/runNotebook';
import { processExists, root, tempDir } from '../cli/support';

function writeNotebook(dir: string, name: string, cells: string[]): string {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'transferlab', display_name: 'TypeScript (transferlab)', language: 'typescript' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, source, execution_count: null, outputs: [] })),
  };
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

/** Pids of the direct children of `pid` (from `ps`). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

test('R15: a rejection 1 s after the last cell fails the run, and a notebook with nothing pending ends promptly', async () => {
  const dir = tempDir();
  try {
    const late = writeNotebook(dir, 'late.ipynb', ['console.log("start");', "setTimeout(() => Promise.reject(new Error('one second late')), 1000);\nconsole.log('scheduled');"]);
    const t0 = Date.now();
    const result = await runNotebook(late, { output: path.join(dir, 'out'), html: false, log: () => {} });
    assert.equal(result.ok, false);
    assert.equal(result.failure?.kind, 'unhandled');
    assert.equal(result.failure?.cellIndex, 1);
    assert.match(result.failure?.message ?? '', /one second late/);
    assert.ok(Date.now() - t0 < 30_000);

    const quiet = writeNotebook(dir, 'quiet.ipynb', ['console.log("done");']);
    const ok = await runNotebook(quiet, { output: path.join(dir, 'out'), html: false, log: () => {} });
    assert.equal(ok.ok, true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('R14: kill -9 of `transferlab run` during a cell leaves no driver and no kernel alive 5 s later', async () => {
  const dir = tempDir();
  try {
    const nb = writeNotebook(dir, 'long.ipynb', ['console.log(`pid ${process.pid}`);', 'await new Promise((r) => setTimeout(r, 60_000));']);
    const cli = spawn(process.execPath, [path.join(root, 'bin', 'transferlab.js'), 'run', nb, '--no-html', '--output', path.join(dir, 'out')], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const kernelPid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the kernel did not start: ${stderr}`)), 90_000);
      cli.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /Kernel started in [\d.]+s \(pid (\d+)\)/.exec(stderr);
        // The second cell is running once the first one is reported done.
        if (m && /\[1\/2\]/.test(stderr)) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    const drivers = childrenOf(cli.pid as number);
    assert.ok(drivers.length >= 1, 'the driver runs as a child of the CLI');
    assert.ok(processExists(kernelPid));
    const exited = new Promise((resolve) => cli.on('exit', resolve));
    cli.kill('SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 5000));
    const alive = [kernelPid, ...drivers].filter(processExists);
    // Reap nothing by hand: a survivor is the failure this test is about (but do not leave it running).
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    assert.deepEqual(alive, [], `still alive 5 s after the runner was killed: ${alive.join(', ')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
