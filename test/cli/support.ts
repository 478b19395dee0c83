// Helpers for the runner tests: run the CLI as a child process, read executed notebooks.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/cli/paths';
import type { Notebook, NotebookCell } from '../../src/cli/notebook';

export const root = packageRoot();
export const fixtures = path.join(root, 'test', 'fixtures', 'notebooks');

/** Runs `node bin/transferlab.js ...args` in the project root. */
export function runCli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin', 'transferlab.js'), ...args], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ status, stdout, stderr });
    });
  });
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-cli-'));
}

export function readJson(file: string): Notebook {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
}

/** All text a cell printed (streams joined). */
export function cellText(cell: NotebookCell): string {
  return (cell.outputs ?? [])
    .map((o) => {
      const text = (o as { text?: string | string[] }).text;
      return Array.isArray(text) ? text.join('') : text ?? '';
    })
    .join('');
}

/** The kernel's pid as printed by a fixture's first code cell (`pid 1234`). */
export function printedPid(nb: Notebook): number {
  const m = /pid (\d+)/.exec(nb.cells.map(cellText).join(''));
  if (m === null) throw new Error('no pid printed');
  return Number(m[1]);
}

/** Whether a process exists (signal 0 probes without killing). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
