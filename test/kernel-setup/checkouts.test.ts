// Two checkouts set up on one machine: each registers its own kernel, neither re-points the
// other's, the notebooks' alias 'transferlab' stays with the first, and both kernels run cells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelSpecModule, packageRoot, pythonModule } from '../../src/cli/paths';

const python = pythonModule().findJupyterPython().path ?? '/usr/bin/python3';

/** A minimal checkout: package.json, kernel-setup/ copied, node_modules linked to this one's. */
function fakeCheckout(parent: string): string {
  const root = path.join(parent, 'transferlab');
  fs.mkdirSync(path.join(root, 'kernel-setup'), { recursive: true });
  fs.copyFileSync(path.join(packageRoot(), 'package.json'), path.join(root, 'package.json'));
  for (const f of fs.readdirSync(path.join(packageRoot(), 'kernel-setup'))) {
    if (f.endsWith('.js') || f.endsWith('.py')) fs.copyFileSync(path.join(packageRoot(), 'kernel-setup', f), path.join(root, 'kernel-setup', f));
  }
  fs.symlinkSync(path.join(packageRoot(), 'node_modules'), path.join(root, 'node_modules'), 'dir');
  return root;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
  });
}

function kernelJson(dataDir: string, name: string): { argv: string[]; metadata?: { transferlab?: { root: string } } } {
  return JSON.parse(fs.readFileSync(path.join(dataDir, 'kernels', name, 'kernel.json'), 'utf8'));
}

test('two checkouts in folders of the same name each keep their own working kernel', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-checkouts-'));
  try {
    const dataDir = path.join(tmp, 'jupyter-data');
    // PYTHONNOUSERSITE: jupyter_core also lists ~/.local/share/jupyter (the user site) whatever JUPYTER_DATA_DIR says,
    // and this machine's own checkout may have registered kernels there.
    const env = { ...process.env, JUPYTER_DATA_DIR: dataDir, PYTHONNOUSERSITE: '1', TRANSFERLAB_PYTHON: python, PYDEVD_DISABLE_FILE_VALIDATION: '1' };
    const a = fakeCheckout(path.join(tmp, 'one'));
    const b = fakeCheckout(path.join(tmp, 'two'));
    const setupA = await run(process.execPath, [path.join(a, 'kernel-setup', 'setup.js'), '--no-verify'], env, a);
    assert.equal(setupA.code, 0, setupA.stderr);
    const setupB = await run(process.execPath, [path.join(b, 'kernel-setup', 'setup.js'), '--no-verify'], env, b);
    assert.equal(setupB.code, 0, setupB.stderr);
    const nameB = kernelSpecModule().kernelNameFor(b, { unique: true });
    assert.match(setupB.stdout, /^Kernel 'transferlab-transferlab' belongs to .*one\/transferlab; registering this checkout as 'transferlab-transferlab-[0-9a-f]{6}' instead\.$/m);
    assert.match(setupB.stdout, /^'transferlab' \(the name in the notebooks' metadata\) stays with .*one\/transferlab\./m);
    assert.ok(setupB.stdout.includes(`Kernel '${nameB}' ready`), setupB.stdout);

    // Setting up the first one again changes nothing of the second's.
    assert.equal((await run(process.execPath, [path.join(a, 'kernel-setup', 'setup.js'), '--no-verify'], env, a)).code, 0);
    assert.equal(kernelJson(dataDir, 'transferlab-transferlab').argv[1], path.join(a, 'kernel-setup', 'kernel.js'));
    assert.equal(kernelJson(dataDir, 'transferlab').metadata?.transferlab?.root, a);
    assert.equal(kernelJson(dataDir, nameB).argv[1], path.join(b, 'kernel-setup', 'kernel.js'));

    // An explicit name that belongs to the other checkout is refused.
    const clash = await run(process.execPath, [path.join(b, 'kernel-setup', 'setup.js'), '--no-verify', '--name', 'transferlab-transferlab'], env, b);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /^Kernel 'transferlab-transferlab' is already registered for .*one\/transferlab\. Choose another --name/m);

    const list = await run(process.execPath, [path.join(b, 'kernel-setup', 'setup.js'), '--list'], env, b);
    assert.match(list.stdout, new RegExp(`^${nameB} +${b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\(this checkout\\)`, 'm'));
    assert.match(list.stdout, /^transferlab-transferlab +\S+one\/transferlab +\(another checkout\)/m);

    // Both kernels execute a cell, each from its own checkout.
    const nb = path.join(tmp, 'which.ipynb');
    fs.writeFileSync(nb, JSON.stringify({
      cells: [{ cell_type: 'code', id: 'a', execution_count: null, metadata: {}, outputs: [], source: 'console.log(process.argv[1]);' }],
      metadata: { kernelspec: { name: 'transferlab', display_name: 'TypeScript (transferlab)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    }));
    const ran = await Promise.all(
      ['transferlab-transferlab', nameB].map((k) => run(python, ['-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--stdout', `--ExecutePreprocessor.kernel_name=${k}`, nb], env, tmp)),
    );
    const printed = ran.map((r) => {
      assert.equal(r.code, 0, r.stderr);
      const cell = (JSON.parse(r.stdout) as { cells: { outputs: { text: string[] }[] }[] }).cells[0];
      return cell.outputs[0].text.join('').trim();
    });
    assert.deepEqual(printed, [path.join(a, 'kernel-setup', 'kernel.js'), path.join(b, 'kernel-setup', 'kernel.js')]);

    // Removing the second checkout's kernels leaves the first's.
    const removed = await run(process.execPath, [path.join(b, 'kernel-setup', 'setup.js'), '--remove'], env, b);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'kernels')).sort(), ['transferlab', 'transferlab-transferlab']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
