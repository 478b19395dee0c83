// The project's kernel (kernel-setup/kernel.js) driven by stock Jupyter tools, as a teacher's or a
// CI system's existing job would: `jupyter nbconvert --to notebook --execute` and `jupyter execute`
// (nbclient) from Debian, with a kernelspec in a private JUPYTER_PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelSpecModule, packageRoot, pythonModule } from '../../src/cli/paths';

const KERNEL = 'transferlab-stock-test';
const python = pythonModule().findJupyterPython().path ?? '/usr/bin/python3';

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface Cell {
  execution_count: number | null;
  outputs: Output[];
}

function notebook(dir: string, name: string, sources: string[]): string {
  const file = path.join(dir, `${name}.ipynb`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      cells: sources.map((source, i) => ({ cell_type: 'code', id: `c${i}`, execution_count: null, metadata: {}, outputs: [], source })),
      metadata: { kernelspec: { name: KERNEL, display_name: 'TypeScript (test)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  return file;
}

async function withKernel(fn: (dir: string, env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-stock-'));
  try {
    const ks = kernelSpecModule();
    ks.writeKernelSpec(path.join(dir, 'jupyter', 'kernels'), ks.buildKernelJson(ks.resolveProjectKernel(packageRoot())), KERNEL);
    await fn(dir, { ...process.env, JUPYTER_PATH: path.join(dir, 'jupyter'), PYDEVD_DISABLE_FILE_VALIDATION: '1' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function jupyter(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(python, ['-m', 'jupyter', ...args], { env, cwd, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, output: `${stdout}${stderr}` }),
    );
  });
}

function cells(file: string): Cell[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Cell[] }).cells;
}

const text = (c: Cell): string => c.outputs.map((o) => [o.text ?? []].flat().join('')).join('');

test('stock nbconvert fails with the name and message of each kind of error, one notebook per kind', async () => {
  await withKernel(async (dir, env) => {
    const cases = [
      { name: 'type-error', src: "const n: number = 'text';", ename: 'TSError', evalue: "1:7 - Type 'string' is not assignable to type 'number'." },
      { name: 'throw', src: "console.log('before');\nthrow new RangeError('too big');", ename: 'RangeError', evalue: 'too big' },
      { name: 'rejection', src: "Promise.reject(new TypeError('forgotten promise'));", ename: 'TypeError', evalue: 'forgotten promise', heading: 'UnhandledPromiseRejection: TypeError: forgotten promise' },
      { name: 'uncaught', src: "setTimeout(() => { throw new SyntaxError('from a timer'); }, 20);\nawait new Promise((r) => setTimeout(r, 200));", ename: 'SyntaxError', evalue: 'from a timer', heading: 'UncaughtException: SyntaxError: from a timer' },
    ];
    const results = await Promise.all(
      cases.map(async (c) => {
        const file = notebook(dir, c.name, ["console.log('first');", c.src, "console.log('never');"]);
        return { c, file, res: await jupyter(['nbconvert', '--to', 'notebook', '--execute', '--output-dir', path.join(dir, 'out'), file], env, dir) };
      }),
    );
    for (const { c, res } of results) {
      assert.notEqual(res.code, 0, `${c.name}: nbconvert exit status\n${res.output}`);
      assert.ok(res.output.includes(`${c.ename}: ${c.evalue}`), `${c.name}: "${c.ename}: ${c.evalue}" missing from\n${res.output}`);
      if (c.heading !== undefined) assert.ok(res.output.includes(c.heading), `${c.name}: heading missing from\n${res.output}`);
      assert.doesNotMatch(res.output, /<Error>/);
    }
  });
});

test('with --allow-errors nbconvert records error outputs and execution counts, and runs every later cell', async () => {
  await withKernel(async (dir, env) => {
    const file = notebook(dir, 'allow', [
      "const a: number = 1;\nconsole.log('one');",
      "const b: string = a;",
      "throw new Error('second failure');",
      "Promise.reject(new Error('rejected'));",
      "console.log('still running', a);",
    ]);
    const res = await jupyter(['nbconvert', '--to', 'notebook', '--execute', '--allow-errors', '--output-dir', path.join(dir, 'out'), file], env, dir);
    assert.equal(res.code, 0, res.output);
    const out = cells(path.join(dir, 'out', 'allow.ipynb'));
    assert.deepEqual(out.map((c) => c.execution_count), [1, 2, 3, 4, 5]);
    const errors = out.map((c) => c.outputs.find((o) => o.output_type === 'error'));
    assert.deepEqual(errors.map((e) => e?.ename ?? null), [null, 'TSError', 'Error', 'Error', null]);
    assert.equal(errors[1]?.evalue, "1:7 - Type 'number' is not assignable to type 'string'.");
    assert.deepEqual(errors[1]?.traceback, ["1:7 - Type 'number' is not assignable to type 'string'."]);
    assert.equal(errors[2]?.evalue, 'second failure');
    assert.match(errors[2]?.traceback?.join('\n') ?? '', /^Error: second failure\n {4}at evalmachine/);
    assert.match(errors[3]?.traceback?.[0] ?? '', /^UnhandledPromiseRejection: Error: rejected$/);
    assert.equal(text(out[0]), 'one\n');
    assert.equal(text(out[4]), 'still running 1\n', 'the cell right after the failures ran (no 200 ms abort window)');
  });
});

test('jupyter execute (nbclient) exits non-zero on an unhandled rejection and shows its name and message', async () => {
  await withKernel(async (dir, env) => {
    const ok = notebook(dir, 'ok', ["console.log('fine');", 'const x = 1 + 1;']);
    const bad = notebook(dir, 'bad', ["console.log('fine');", "(async () => { throw new URIError('lost in a promise'); })();", "console.log('never');"]);
    const [good, failing] = await Promise.all([jupyter(['execute', `--kernel_name=${KERNEL}`, ok], env, dir), jupyter(['execute', bad], env, dir)]);
    assert.equal(good.code, 0, good.output);
    assert.notEqual(failing.code, 0, failing.output);
    assert.match(failing.output, /UnhandledPromiseRejection: URIError: lost in a promise\n/);
    assert.match(failing.output, /^URIError: lost in a promise$/m);
  });
});
