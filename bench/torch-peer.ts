/**
 * Runs bench/walkthrough.py, the PyTorch peer of the benchmarks (one copy of the PyTorch side,
 * shared by bench/accelerate.ts and bench/walkthrough.ts), with Debian's /usr/bin/python3.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The Python that has Debian's python3-torch. */
export const TORCH_PYTHON = '/usr/bin/python3';

/**
 * The path of a file in the source tree's bench/ folder (the .py files are not compiled, so a
 * compiled bench finds them by walking up to the package root).
 *
 * @param name - file name in bench/
 * @returns its absolute path
 * @throws Error when no enclosing folder has package.json and bench/<name>
 */
export function benchSource(name: string): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'bench', name);
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`bench/${name} not found above ${__dirname}; run the bench from the project's checkout.`);
  }
}

/**
 * The environment for PyTorch: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on these machines for
 * old OpenBLAS builds and slow a current one down, so the PyTorch peer runs without them.
 *
 * @returns a copy of `process.env` without them
 */
export function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/**
 * Whether /usr/bin/python3 can import torch and torchvision.
 *
 * @returns true when it can
 */
export function torchAvailable(): boolean {
  return spawnSync(TORCH_PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8', env: torchEnv() }).status === 0;
}

/** Why the PyTorch peer is skipped where torch is missing. */
export const TORCH_MISSING = 'skipped: /usr/bin/python3 cannot import torch, torchvision (apt-get install python3-torch python3-torchvision: 236 packages, libtorch alone 131 MB installed)';

/** The `RESULT {json}` line of a benchmark child's stdout, parsed; or why there is none. */
export function parseResult(stdout: string, stderr: string, status: number | null, signal: string | null): Record<string, unknown> | string {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) return `failed (exit ${status ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
  return JSON.parse(line.slice(7)) as Record<string, unknown>;
}

/**
 * Runs one command of bench/walkthrough.py synchronously (`step`, `peak`, `params`; the
 * walkthrough itself is run by bench/walkthrough.ts with memory sampling).
 *
 * @param args - the command and its options, e.g. `['step', '--batch', '32']`
 * @returns its RESULT object, or a string saying why there is none
 */
export function runTorch(args: string[]): Record<string, unknown> | string {
  const res = spawnSync(TORCH_PYTHON, [benchSource('walkthrough.py'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26, env: torchEnv() });
  return parseResult(`${res.stdout ?? ''}`, `${res.stderr ?? ''}`, res.status, res.signal);
}
