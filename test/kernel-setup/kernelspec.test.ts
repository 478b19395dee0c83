import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelSpecModule, packageRoot, pythonModule } from '../../src/cli/paths';
import type * as SetupModule from '../../kernel-setup/setup';

const ks = kernelSpecModule();
const setup = require(path.join(packageRoot(), 'kernel-setup', 'setup.js')) as typeof SetupModule;

test('builds kernel.json with absolute node and kernel launcher paths, the connection file placeholder and the checkout', () => {
  assert.deepEqual(ks.buildKernelJson({ nodePath: '/opt/node/bin/node', kernelPath: '/p/kernel-setup/kernel.js', root: '/p' }), {
    argv: ['/opt/node/bin/node', '/p/kernel-setup/kernel.js', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (transferlab)',
    language: 'typescript',
    metadata: { transferlab: { root: '/p' } },
  });
});

test('adds display name, env and metadata only when given', () => {
  const spec = ks.buildKernelJson({ nodePath: '/n', kernelPath: '/t', displayName: 'TS', env: { A: '1' }, metadata: { debugger: false } });
  assert.equal(spec.display_name, 'TS');
  assert.deepEqual(spec.env, { A: '1' });
  assert.deepEqual(spec.metadata, { debugger: false });
  assert.equal('env' in ks.buildKernelJson({ nodePath: '/n', kernelPath: '/t', env: {} }), false);
  assert.equal('metadata' in ks.buildKernelJson({ nodePath: '/n', kernelPath: '/t' }), false);
});

test('rejects relative paths, naming the argument', () => {
  assert.throws(() => ks.buildKernelJson({ nodePath: 'node', kernelPath: '/t' }), {
    name: 'TypeError',
    message: 'Expected absolute path for nodePath but received "node" of type string',
  });
});

test("resolves this project's kernel launcher, tslab and its TypeScript version", () => {
  const k = ks.resolveProjectKernel(packageRoot());
  assert.equal(k.nodePath, process.execPath);
  assert.equal(k.kernelPath, path.join(packageRoot(), 'kernel-setup', 'kernel.js'));
  assert.equal(k.root, packageRoot());
  assert.equal(k.tslabPath, path.join(packageRoot(), 'node_modules', 'tslab', 'bin', 'tslab'));
  assert.ok(fs.existsSync(k.kernelPath) && fs.existsSync(k.tslabPath));
  assert.equal(k.typescriptVersion, '5.0.4');
});

test('writes and replaces a kernelspec folder, refusing names Jupyter does not accept', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-ks-'));
  try {
    ks.writeKernelSpec(dir, ks.buildKernelJson({ nodePath: '/n', kernelPath: '/old' }));
    const written = ks.writeKernelSpec(dir, ks.buildKernelJson({ nodePath: '/n', kernelPath: '/new' }));
    assert.equal(written, path.join(dir, 'transferlab'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(written, 'kernel.json'), 'utf8')).argv[1], '/new');
    assert.throws(() => ks.writeKernelSpec(dir, ks.buildKernelJson({ nodePath: '/n', kernelPath: '/t' }), '../escape'), {
      message: 'Expected a kernel name of letters, digits, \'.\', \'_\' or \'-\' but received "../escape" of type string',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('derives one kernel name per checkout from its folder, with a path hash on request', () => {
  assert.equal(ks.kernelNameFor('/work/main'), 'transferlab-main');
  assert.equal(ks.kernelNameFor('/home/ada/My Clone (2)'), 'transferlab-my-clone-2');
  assert.match(ks.kernelNameFor('/a/transferlab', { unique: true }), /^transferlab-transferlab-[0-9a-f]{6}$/);
  assert.notEqual(ks.kernelNameFor('/a/transferlab', { unique: true }), ks.kernelNameFor('/b/transferlab', { unique: true }));
});

test('tells which checkout a kernelspec belongs to, including ones written by older setups', () => {
  assert.equal(ks.ownerOf({ argv: ['/n', '/x/kernel-setup/kernel.js'], metadata: { transferlab: { root: '/p' } } }), '/p');
  assert.equal(ks.ownerOf({ argv: ['/n', '/old/clone/node_modules/tslab/bin/tslab', 'kernel'] }), '/old/clone');
  assert.equal(ks.ownerOf({ argv: ['/n', '/new/clone/kernel-setup/kernel.js'] }), '/new/clone');
  assert.equal(ks.ownerOf({ argv: ['python3', '-m', 'ipykernel_launcher'] }), undefined);
});

test('plans names so that another checkout is never re-pointed silently', () => {
  const exists = (d: string): boolean => d !== '/gone';
  const mine = setup.planKernelNames({ root: '/w/main', owners: {}, exists });
  assert.deepEqual(mine, { name: 'transferlab-main', alias: true, notes: [] });
  const second = setup.planKernelNames({ root: '/v/main', owners: { 'transferlab-main': '/w/main', transferlab: '/w/main' }, exists });
  assert.match(second.name, /^transferlab-main-[0-9a-f]{6}$/);
  assert.equal(second.alias, false);
  assert.match(second.notes[0], /^Kernel 'transferlab-main' belongs to \/w\/main; registering this checkout as 'transferlab-main-[0-9a-f]{6}' instead\.$/);
  assert.match(second.notes[1], /^'transferlab' \(the name in the notebooks' metadata\) stays with \/w\/main\. .*--default/);
  assert.throws(() => setup.planKernelNames({ root: '/v/main', requested: 'transferlab-main', owners: { 'transferlab-main': '/w/main' }, exists }), {
    message: /^Kernel 'transferlab-main' is already registered for \/w\/main\. Choose another --name/,
  });
  const forced = setup.planKernelNames({ root: '/v/main', requested: 'transferlab-main', force: true, claimAlias: true, owners: { 'transferlab-main': '/w/main', transferlab: '/w/main' }, exists });
  assert.deepEqual([forced.name, forced.alias, forced.notes.length], ['transferlab-main', true, 2]);
  const stale = setup.planKernelNames({ root: '/v/main', owners: { transferlab: '/gone' }, exists });
  assert.equal(stale.alias, true);
  assert.match(stale.notes[0], /pointed to \/gone, which no longer exists/);
  assert.equal(setup.planKernelNames({ root: '/v/main', owners: { transferlab: null }, exists }).alias, false, 'a foreign kernel named transferlab is kept');
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
