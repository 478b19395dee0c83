#!/usr/bin/env node
// `npm run setup`: makes this project's tslab kernel available to Jupyter as 'transferlab'.
//   1. finds a Python with Jupyter's client libraries (TRANSFERLAB_PYTHON overrides the search),
//      installing Debian's packages when running as root on Debian/Ubuntu, else saying what to run;
//   2. remembers it in .cache/python-path for `transferlab run`;
//   3. registers the kernelspec 'transferlab' for the current user, with absolute paths to this
//      project's node and tslab (like tslab's python/install.py, but pinned to this project);
//   4. runs a one-cell notebook through the registered kernel and prints what answered.
// Idempotent: re-running replaces the registration. With --quiet (used by `npm start`) it prints
// one line and skips the check when nothing changed since the last successful run.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { KERNEL_NAME, buildKernelJson, resolveProjectKernel, writeKernelSpec } = require('./kernelspec');
const { findJupyterPython, writeState, REQUIRED_MODULES } = require('./python');

const ROOT = path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, '.cache', 'kernel-setup.json');
const APT_PACKAGES = ['jupyter-notebook', 'jupyter-nbconvert', 'jupyter-client', 'python3-nbclient'];

const USAGE = `Usage: npm run setup [-- --quiet] [-- --no-verify]
  Registers the Jupyter kernel '${KERNEL_NAME}' (TypeScript via this project's tslab).
  --quiet       print one line; skip the check when nothing changed since the last run
  --no-verify   do not execute the check notebook
  Environment: TRANSFERLAB_PYTHON=/path/to/python uses that interpreter (it needs ${REQUIRED_MODULES.join(', ')}).
`;

/**
 * Decides how to get Jupyter when no suitable Python is found. Pure.
 * @param {{ platform: string, osRelease?: string, isRoot: boolean, hasConda: boolean }} facts
 * @returns {{ action: 'apt', commands: string[][] } | { action: 'instructions', message: string }}
 */
function planJupyterInstall(facts) {
  const ids = /^(?:ID|ID_LIKE)=(.*)$/gm;
  let debianLike = false;
  for (let m = ids.exec(facts.osRelease ?? ''); m !== null; m = ids.exec(facts.osRelease ?? '')) {
    if (/\b(debian|ubuntu)\b/.test(m[1].replace(/"/g, ''))) debianLike = true;
  }
  const apt = `apt-get install -y ${APT_PACKAGES.join(' ')}`;
  if (facts.platform === 'linux' && debianLike && facts.isRoot) {
    return { action: 'apt', commands: [['apt-get', 'update'], ['apt-get', 'install', '-y', ...APT_PACKAGES]] };
  }
  const lines = ['Jupyter is needed to run the notebooks: no Python with ' + REQUIRED_MODULES.join(', ') + ' was found.'];
  if (facts.hasConda) {
    lines.push('conda is available; create the environment described in environment.yml and re-run setup inside it:',
      '  conda env create -f environment.yml', '  conda activate transferlab', '  npm run setup');
  } else if (facts.platform === 'linux' && debianLike) {
    lines.push('Install Debian\'s Jupyter packages (needs root), then re-run setup:', `  sudo apt-get update && sudo ${apt}`, '  npm run setup');
  } else {
    lines.push('Install Jupyter with conda (recommended) or pip, then re-run setup:',
      '  conda env create -f environment.yml && conda activate transferlab',
      '  or: python3 -m pip install --user notebook nbconvert nbclient',
      '  npm run setup');
  }
  lines.push('If Jupyter lives in a Python that is not found automatically, point to it: TRANSFERLAB_PYTHON=/path/to/python npm run setup');
  return { action: 'instructions', message: lines.join('\n') };
}

function hasCommand(name) {
  const res = spawnSync(process.platform === 'win32' ? 'where' : 'sh', process.platform === 'win32' ? [name] : ['-c', `command -v ${name}`], { stdio: 'ignore' });
  return res.status === 0;
}

function ensurePython(say) {
  let found = findJupyterPython({ root: ROOT });
  if (found.path !== undefined) return found;
  if (process.env.TRANSFERLAB_PYTHON) {
    const t = found.tried[0];
    throw new Error(`TRANSFERLAB_PYTHON=${t.path} cannot run the notebooks: ${t.reason}. Install ${REQUIRED_MODULES.join(', ')} into it or unset it.`);
  }
  let osRelease;
  try {
    osRelease = fs.readFileSync('/etc/os-release', 'utf8');
  } catch {
    osRelease = undefined;
  }
  const plan = planJupyterInstall({
    platform: process.platform,
    osRelease,
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    hasConda: hasCommand('conda'),
  });
  if (plan.action === 'instructions') throw Object.assign(new Error(plan.message), { plain: true });
  say(`No Python with Jupyter found; installing Debian packages: ${APT_PACKAGES.join(' ')}`);
  for (const cmd of plan.commands) {
    const res = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (res.status !== 0) throw new Error(`${cmd.join(' ')} failed (exit ${res.status ?? res.signal}).`);
  }
  found = findJupyterPython({ root: ROOT, useState: false });
  if (found.path === undefined) throw new Error(`Installed ${APT_PACKAGES.join(' ')} but still found no usable Python (tried ${found.tried.map((t) => `${t.path}: ${t.reason}`).join('; ')}).`);
  return found;
}

function registerKernel(python, kernelJson) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-kernelspec-'));
  try {
    const dir = writeKernelSpec(tmp, kernelJson);
    fs.chmodSync(dir, 0o755);
    const script = 'import sys\nfrom jupyter_client.kernelspec import KernelSpecManager\n' +
      'print(KernelSpecManager().install_kernel_spec(sys.argv[1], sys.argv[2], user=True))\n';
    const res = spawnSync(python, ['-c', script, dir, KERNEL_NAME], { encoding: 'utf8', env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
    if (res.status !== 0) throw new Error(`Registering the kernelspec with ${python} failed:\n${res.stderr.trim()}`);
    return res.stdout.trim().split('\n').pop();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function ensureBuilt(say) {
  if (fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')) && fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) return;
  say('Building the library (dist/) first...');
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (res.status !== 0) throw new Error('npm run build failed; fix the errors above and re-run setup.');
}

/** Executes a one-cell notebook (inside the project, so 'transferlab' resolves) on the registered kernel. */
async function verifyKernel(python) {
  const { runNotebook } = require(path.join(ROOT, 'dist', 'cli', 'index.js'));
  const dir = path.join(ROOT, '.cache', 'setup-check');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const notebook = path.join(dir, 'check.ipynb');
  const source = "import { formatBytes } from 'transferlab';\nconst size: string = formatBytes(2048);\nconsole.log(`transferlab-check ${size} ${process.version}`);\n";
  fs.writeFileSync(notebook, JSON.stringify({
    cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source }],
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: 'TypeScript (transferlab)', language: 'typescript' } },
    nbformat: 4, nbformat_minor: 4,
  }));
  try {
    const result = await runNotebook(notebook, { kernel: KERNEL_NAME, output: path.join(dir, 'out'), html: false, python, timeout: 120, log: () => {} });
    if (!result.ok) throw new Error(`The check notebook failed on kernel '${KERNEL_NAME}': ${result.failure.message}`);
    const executed = JSON.parse(fs.readFileSync(result.outputs.notebook, 'utf8'));
    const text = executed.cells[0].outputs.map((o) => [].concat(o.text ?? []).join('')).join('');
    const m = /transferlab-check (\S+ \S+) (v\S+)/.exec(text);
    if (m === null) throw new Error(`The check notebook ran but printed ${JSON.stringify(text)} instead of the expected line.`);
    return { nodeVersion: m[2] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => !['--quiet', '--no-verify'].includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown option ${unknown[0]}.\n${USAGE}`);
    return 2;
  }
  const quiet = argv.includes('--quiet');
  const verify = !argv.includes('--no-verify');
  const say = (line) => {
    if (!quiet) process.stdout.write(`${line}\n`);
  };
  const found = ensurePython(say);
  say(`Python with Jupyter: ${found.path} (${found.version}; from ${found.source})`);
  say(`Remembered it in ${path.relative(ROOT, writeState(found.path, ROOT))}`);
  const kernel = resolveProjectKernel(ROOT);
  const kernelJson = buildKernelJson(kernel);
  const stamp = JSON.stringify({ python: found.path, kernelJson, jupyterDataDir: process.env.JUPYTER_DATA_DIR ?? null });
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    previous = undefined;
  }
  const unchanged = previous !== undefined && previous.stamp === stamp && fs.existsSync(path.join(previous.kernelDir, 'kernel.json'));
  const ready = (nodeVersion) =>
    `Kernel '${KERNEL_NAME}' ready: TypeScript ${kernel.typescriptVersion} via tslab ${kernel.tslabVersion} (node ${nodeVersion})`;
  if (quiet && unchanged) {
    process.stdout.write(`${ready(process.version)}\n`);
    return 0;
  }
  const kernelDir = registerKernel(found.path, kernelJson);
  say(`Registered kernelspec '${KERNEL_NAME}' in ${kernelDir}`);
  say(`  ${kernelJson.argv.join(' ')}`);
  let nodeVersion = process.version;
  if (verify) {
    ensureBuilt(say);
    say('Checking the kernel with a one-cell notebook...');
    nodeVersion = (await verifyKernel(found.path)).nodeVersion;
  }
  fs.mkdirSync(path.dirname(STAMP), { recursive: true });
  if (verify) fs.writeFileSync(STAMP, JSON.stringify({ stamp, kernelDir }) + '\n');
  process.stdout.write(`${ready(nodeVersion)}${verify ? '' : ' (not checked: --no-verify)'}\n`);
  return 0;
}

module.exports = { planJupyterInstall, APT_PACKAGES };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(e.plain ? `${e.message}\n` : `npm run setup failed: ${e.message}\n`);
      process.exitCode = 1;
    },
  );
}
