import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelSpecModule, packageRoot, pythonModule } from '../../src/cli/paths';
import type * as SetupModule from '../../kernel-setup/setup';

const ks = kernelSpecModule();
const setup = require(path.join(packageRoot(), 'kernel-setup', 'setup.js')) as typeof SetupModule;

test('builds kernel.json with absolute node and tslab paths and the connection file placeholder', () => {
  assert.deepEqual(ks.buildKernelJson({ nodePath: '/opt/node/bin/node', tslabPath: '/p/node_modules/tslab/bin/tslab' }), {
    argv: ['/opt/node/bin/node', '/p/node_modules/tslab/bin/tslab', 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (transferlab)',
    language: 'typescript',
  });
});

test('adds display name, env and metadata only when given', () => {
  const spec = ks.buildKernelJson({ nodePath: '/n', tslabPath: '/t', displayName: 'TS', env: { A: '1' }, metadata: { debugger: false } });
  assert.equal(spec.display_name, 'TS');
  assert.deepEqual(spec.env, { A: '1' });
  assert.deepEqual(spec.metadata, { debugger: false });
  assert.equal('env' in ks.buildKernelJson({ nodePath: '/n', tslabPath: '/t', env: {} }), false);
});

test('rejects relative paths, naming the argument', () => {
  assert.throws(() => ks.buildKernelJson({ nodePath: 'node', tslabPath: '/t' }), {
    name: 'TypeError',
    message: 'Expected absolute path for nodePath but received "node" of type string',
  });
});

test("resolves this project's tslab and its TypeScript version", () => {
  const k = ks.resolveProjectKernel(packageRoot());
  assert.equal(k.nodePath, process.execPath);
  assert.equal(k.tslabPath, path.join(packageRoot(), 'node_modules', 'tslab', 'bin', 'tslab'));
  assert.ok(fs.existsSync(k.tslabPath));
  assert.equal(k.typescriptVersion, '5.0.4');
});

test('writes and replaces a kernelspec folder', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-ks-'));
  try {
    ks.writeKernelSpec(dir, ks.buildKernelJson({ nodePath: '/n', tslabPath: '/old' }));
    const written = ks.writeKernelSpec(dir, ks.buildKernelJson({ nodePath: '/n', tslabPath: '/new' }));
    assert.equal(written, path.join(dir, 'transferlab'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(written, 'kernel.json'), 'utf8')).argv[1], '/new');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('prefers TRANSFERLAB_PYTHON alone, else the remembered path, Debian python3, then PATH', () => {
  const py = pythonModule();
  assert.deepEqual(py.pythonCandidates({ env: { TRANSFERLAB_PYTHON: '/x/python' } }), [{ path: '/x/python', source: 'TRANSFERLAB_PYTHON' }]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-py-'));
  try {
    py.writeState('/remembered/python', dir);
    assert.deepEqual(py.pythonCandidates({ env: {}, root: dir, platform: 'linux' }).map((c) => c.path), [
      '/remembered/python',
      '/usr/bin/python3',
      'python3',
      'python',
    ]);
    assert.deepEqual(py.pythonCandidates({ env: {}, root: dir, platform: 'darwin', useState: false }).map((c) => c.path), ['python3', 'python']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reports the missing modules of an interpreter without them', () => {
  const probe = pythonModule().probePython('/nonexistent/python3');
  assert.equal(probe.ok, false);
  assert.match(probe.error ?? '', /ENOENT/);
});

test('installs Debian packages only as root on Debian or Ubuntu, else explains what to run', () => {
  const debian = 'PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n';
  const ubuntu = 'ID=ubuntu\nID_LIKE=debian\n';
  assert.deepEqual(setup.planJupyterInstall({ platform: 'linux', osRelease: debian, isRoot: true, hasConda: false }), {
    action: 'apt',
    commands: [['apt-get', 'update'], ['apt-get', 'install', '-y', 'jupyter-notebook', 'jupyter-nbconvert', 'jupyter-client', 'python3-nbclient']],
  });
  const user = setup.planJupyterInstall({ platform: 'linux', osRelease: ubuntu, isRoot: false, hasConda: false });
  assert.equal(user.action, 'instructions');
  assert.match(user.action === 'instructions' ? user.message : '', /sudo apt-get update && sudo apt-get install -y jupyter-notebook/);
  const conda = setup.planJupyterInstall({ platform: 'darwin', isRoot: false, hasConda: true });
  assert.match(conda.action === 'instructions' ? conda.message : '', /conda env create -f environment\.yml/);
  const other = setup.planJupyterInstall({ platform: 'linux', osRelease: 'ID=fedora\n', isRoot: true, hasConda: false });
  assert.match(other.action === 'instructions' ? other.message : '', /pip install --user notebook nbconvert nbclient/);
});
