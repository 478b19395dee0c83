// The parameters mechanism end to end: stock nbconvert sets a notebook's parameters from
// TRANSFERLAB_PARAM_* variables; `transferlab run --param` still wins over them, and the runner
// tells the notebook its --output folder (tl.runFolder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { kernelSpecModule, packageRoot, pythonModule } from '../../src/cli/paths';

const python = pythonModule().findJupyterPython().path ?? '/usr/bin/python3';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
  });
}

function printed(file: string): { epochs: number; name: string; run: string } {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { outputs?: { text?: string[] | string }[] }[] };
  const text = nb.cells.flatMap((c) => c.outputs ?? []).map((o) => [o.text ?? []].flat().join('')).join('');
  const line = text.split('\n').find((l) => l.startsWith('RESULT '))?.slice(7);
  assert.ok(line !== undefined, text);
  return JSON.parse(line);
}

test('stock nbconvert takes TRANSFERLAB_PARAM_* values; transferlab run --param wins and sets the run folder', async () => {
  fs.mkdirSync(path.join(packageRoot(), '.cache'), { recursive: true });
  // Inside the project, so that the notebook's `import 'transferlab'` resolves.
  const dir = fs.mkdtempSync(path.join(packageRoot(), '.cache', 'params-nb-'));
  try {
    const ks = kernelSpecModule();
    ks.writeKernelSpec(path.join(dir, 'jupyter', 'kernels'), ks.buildKernelJson(ks.resolveProjectKernel(packageRoot())), 'transferlab');
    const cell = (source: string, tags: string[] = []) => ({ cell_type: 'code', id: `c${tags.length}${source.length}`, execution_count: null, metadata: { tags }, outputs: [], source });
    const nb = path.join(dir, 'params.ipynb');
    fs.writeFileSync(nb, JSON.stringify({
      cells: [
        cell("import * as tl from 'transferlab';"),
        cell("let epochs = 8;\nlet name = 'default';\n({ epochs, name } = tl.parameters({ epochs, name }));", ['parameters']),
        cell("// Not shorthand: tslab does not resolve `{ epochs }` to an earlier cell's variable.\nconsole.log('RESULT ' + JSON.stringify({ epochs: epochs, name: name, run: tl.runFolder({ fallback: 'fallback-dir' }) }));"),
      ],
      metadata: { kernelspec: { name: 'transferlab', display_name: 'TypeScript (transferlab)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    }));
    const env = { ...process.env, JUPYTER_PATH: path.join(dir, 'jupyter'), PYDEVD_DISABLE_FILE_VALIDATION: '1', TRANSFERLAB_PARAM_epochs: '2', TRANSFERLAB_PARAM_name: 'from-env' };
    delete (env as NodeJS.ProcessEnv).TRANSFERLAB_OUTPUT;
    const out = path.join(dir, 'out');
    const [stock, runner] = await Promise.all([
      run(python, ['-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--output-dir', path.join(dir, 'stock'), nb], env, dir),
      run(process.execPath, [path.join(packageRoot(), 'bin', 'transferlab.js'), 'run', nb, '--param', 'epochs=3', '--output', out, '--no-html'], env, dir),
    ]);
    assert.equal(stock.code, 0, stock.stderr);
    assert.deepEqual(printed(path.join(dir, 'stock', 'params.ipynb')), { epochs: 2, name: 'from-env', run: path.join(dir, 'fallback-dir') });
    assert.equal(runner.code, 0, runner.stderr);
    assert.deepEqual(printed(path.join(out, 'params.ipynb')), { epochs: 3, name: 'from-env', run: out });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
