#!/usr/bin/env node
// `npm run setup`: makes this checkout's kernel available to Jupyter.
//   1. finds a Python with Jupyter's client libraries (TRANSFERLAB_PYTHON overrides the search),
//      installing Debian's packages when running as root on Debian/Ubuntu, else saying what to run;
//   2. remembers it in .cache/python-path for `transferlab run`;
//   3. registers this checkout's kernelspec, `transferlab-<folder>` (or --name), for the current
//      user, with absolute paths to this project's node and kernel-setup/kernel.js; a name that
//      belongs to another checkout is never re-pointed without --force (a derived name gets a
//      hash of the path instead), and says so;
//   4. registers the alias 'transferlab' (the name in the notebooks' metadata, read by stock
//      nbconvert and `jupyter execute`) when it is free, already this checkout's, left by a folder
//      that no longer exists, or with --default; otherwise it stays where it is, and setup says so;
//   5. runs a one-cell notebook through the registered kernel and prints what answered.
// Idempotent: re-running replaces this checkout's registrations. With --quiet (used by `npm start`)
// it prints one line and skips the check when nothing changed since the last successful run.
// --list shows every transferlab kernel on this machine; --remove [name] removes this checkout's
// kernels (or the one named).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { KERNEL_NAME, DEFAULT_DISPLAY_NAME, buildKernelJson, checkKernelName, kernelNameFor, ownerOf, resolveProjectKernel, writeKernelSpec } = require('./kernelspec');
const { findJupyterPython, writeState, REQUIRED_MODULES } = require('./python');

const ROOT = path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, '.cache', 'kernel-setup.json');
const APT_PACKAGES = ['jupyter-notebook', 'jupyter-nbconvert', 'jupyter-client', 'python3-nbclient'];

const USAGE = `Usage: npm run setup [-- options]
  Registers this checkout's Jupyter kernel (TypeScript via this project's tslab), named
  '${kernelNameFor(ROOT)}' here, and the alias '${KERNEL_NAME}' that the notebooks' metadata names.
  --name NAME   register under NAME instead of the name derived from the folder
  --force       re-point NAME even when it belongs to another checkout
  --default     also point the alias '${KERNEL_NAME}' here when another checkout has it
  --list        list the transferlab kernels registered on this machine, and exit
  --git-filter  configure git in this checkout to strip notebook outputs on git add
                (filter 'transferlab-strip', used by .gitattributes), and exit
  --remove [NAME]  remove this checkout's kernels (or the transferlab kernel NAME), and exit
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

/** Runs a small Python program with jupyter_client's KernelSpecManager; returns its JSON output. */
function kernelSpecs(python, op, ...args) {
  const script = [
    'import json, os, sys',
    'from jupyter_client.kernelspec import KernelSpecManager',
    'm = KernelSpecManager()',
    'op = sys.argv[1]',
    'if op == "list":',
    '    out = {}',
    '    for name, d in sorted(m.find_kernel_specs().items()):',
    '        try:',
    '            with open(os.path.join(d, "kernel.json"), encoding="utf-8") as f: spec = json.load(f)',
    '        except Exception: spec = None',
    '        out[name] = {"dir": d, "spec": spec}',
    '    print(json.dumps(out))',
    'elif op == "install":',
    '    print(json.dumps(m.install_kernel_spec(sys.argv[2], sys.argv[3], user=True)))',
    'elif op == "remove":',
    '    print(json.dumps(m.remove_kernel_spec(sys.argv[2])))',
  ].join('\n');
  const res = spawnSync(python, ['-c', script, op, ...args], { encoding: 'utf8', env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
  if (res.status !== 0) throw new Error(`jupyter_client (${python}) could not ${op} kernelspecs:\n${(res.stderr || '').trim()}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}

/** Registered kernels with the checkout each belongs to (null: not a transferlab kernel). */
function registeredKernels(python) {
  const out = {};
  for (const [name, { dir, spec }] of Object.entries(kernelSpecs(python, 'list'))) out[name] = { dir, owner: spec ? ownerOf(spec) ?? null : null };
  return out;
}

/**
 * Chooses the kernel name for this checkout and whether it also takes the alias 'transferlab'.
 * Pure: `owners` maps registered kernel names to the checkout they belong to (null for kernels
 * that are not transferlab's); `exists` says whether a folder still exists.
 * @param {{ root: string, requested?: string, force?: boolean, claimAlias?: boolean,
 *   owners: Record<string, string | null>, exists: (dir: string) => boolean }} facts
 * @returns {{ name: string, alias: boolean, notes: string[] }}
 * @throws {Error} when the requested name belongs to another checkout or kernel and force is not set.
 */
function planKernelNames(facts) {
  const { root, owners } = facts;
  const notes = [];
  const whose = (owner) => (owner === null ? 'a kernel that is not transferlab\'s' : owner);
  let name = facts.requested === undefined ? kernelNameFor(root) : checkKernelName(facts.requested);
  const owner = owners[name];
  if (owner !== undefined && owner !== root) {
    if (facts.requested === undefined) {
      const unique = kernelNameFor(root, { unique: true });
      notes.push(`Kernel '${name}' belongs to ${whose(owner)}; registering this checkout as '${unique}' instead.`);
      name = unique;
    } else if (!(facts.force ?? false)) {
      throw Object.assign(new Error(
        `Kernel '${name}' is already registered for ${whose(owner)}. Choose another --name, remove it ` +
          `(npm run setup -- --remove ${name}), or pass --force to re-point it to ${root}.`), { plain: true });
    } else {
      notes.push(`Re-pointed kernel '${name}' from ${whose(owner)} to this checkout (--force).`);
    }
  }
  if (name === KERNEL_NAME) return { name, alias: false, notes };
  const aliasOwner = owners[KERNEL_NAME];
  let alias = true;
  if (aliasOwner === undefined || aliasOwner === root) {
    // free, or ours already
  } else if (facts.claimAlias ?? false) {
    notes.push(`Re-pointed '${KERNEL_NAME}' (the notebooks' kernel name) from ${whose(aliasOwner)} to this checkout (--default).`);
  } else if (aliasOwner !== null && !facts.exists(aliasOwner)) {
    notes.push(`'${KERNEL_NAME}' pointed to ${aliasOwner}, which no longer exists; it now points to this checkout.`);
  } else {
    alias = false;
    notes.push(
      `'${KERNEL_NAME}' (the name in the notebooks' metadata) stays with ${whose(aliasOwner)}. Stock tools that read the ` +
        `metadata use that kernel; pick this checkout's with --kernel ${name} (transferlab run), ` +
        `--ExecutePreprocessor.kernel_name=${name} (nbconvert) or --kernel_name=${name} (jupyter execute), ` +
        'or run npm run setup -- --default to point the alias here.',
    );
  }
  return { name, alias, notes };
}

function installKernel(python, kernelJson, name) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-kernelspec-'));
  try {
    const dir = writeKernelSpec(tmp, kernelJson, name);
    fs.chmodSync(dir, 0o755);
    return kernelSpecs(python, 'install', dir, name);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function listKernels(python, out) {
  const kernels = Object.entries(registeredKernels(python)).filter(([, k]) => k.owner !== null);
  if (kernels.length === 0) {
    out(`No transferlab kernels are registered (run npm run setup).`);
    return;
  }
  const width = Math.max(...kernels.map(([n]) => n.length));
  for (const [name, k] of kernels) {
    const state = k.owner === ROOT ? 'this checkout' : fs.existsSync(k.owner) ? 'another checkout' : `folder missing; npm run setup -- --remove ${name}`;
    out(`${name.padEnd(width)}  ${k.owner}  (${state}${name === KERNEL_NAME ? '; the notebooks\' metadata name' : ''})  ${k.dir}`);
  }
}

function removeKernels(python, requested, out) {
  const kernels = registeredKernels(python);
  let names;
  if (requested !== undefined) {
    const k = kernels[requested];
    if (k === undefined) throw Object.assign(new Error(`No kernel named '${requested}' is registered (npm run setup -- --list shows them).`), { plain: true });
    if (k.owner === null) throw Object.assign(new Error(`Kernel '${requested}' is not a transferlab kernel; remove it with jupyter kernelspec remove ${requested}.`), { plain: true });
    names = [requested];
  } else {
    names = Object.keys(kernels).filter((n) => kernels[n].owner === ROOT);
  }
  if (names.length === 0) out(`No kernels of this checkout (${ROOT}) are registered.`);
  for (const name of names) {
    kernelSpecs(python, 'remove', name);
    out(`Removed kernel '${name}' (${kernels[name].owner}) from ${kernels[name].dir}`);
  }
  fs.rmSync(STAMP, { force: true });
}

/**
 * Configures the git clean filter 'transferlab-strip' (named in .gitattributes) in the repository
 * at `repoDir`: `git add` then stores notebooks without outputs or execution counts, whatever the
 * working copy holds, and `git diff` ignores outputs.
 * @param {string} repoDir a git working tree
 * @param {string} [root] the project whose bin/transferlab.js strips; default this checkout
 * @returns {string} the clean command configured
 * @throws {Error} when git is missing or repoDir is not a repository.
 */
function installGitFilter(repoDir, root = ROOT) {
  const quote = (p) => `"${p.replace(/(["\\$`])/g, '\\$1')}"`;
  const clean = `${quote(process.execPath)} ${quote(path.join(root, 'bin', 'transferlab.js'))} strip --stdin`;
  for (const [key, value] of [['filter.transferlab-strip.clean', clean], ['filter.transferlab-strip.smudge', 'cat'], ['filter.transferlab-strip.required', 'true']]) {
    const res = spawnSync('git', ['config', '--local', key, value], { cwd: repoDir, encoding: 'utf8' });
    if (res.error) throw new Error(`git is needed for --git-filter: ${res.error.message}`);
    if (res.status !== 0) throw new Error(`git config in ${repoDir} failed: ${(res.stderr || '').trim()} (is it a git checkout?)`);
  }
  return clean;
}

/** Parses setup's arguments. @throws {Error} (plain) for unknown options. */
function parseArgs(argv) {
  const opts = { quiet: false, verify: true, force: false, claimAlias: false, list: false, gitFilter: false, remove: false, name: undefined, removeName: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--help' || flag === '-h') opts.help = true;
    else if (flag === '--quiet') opts.quiet = true;
    else if (flag === '--no-verify') opts.verify = false;
    else if (flag === '--force') opts.force = true;
    else if (flag === '--default') opts.claimAlias = true;
    else if (flag === '--list') opts.list = true;
    else if (flag === '--git-filter') opts.gitFilter = true;
    else if (flag === '--name') {
      opts.name = inline ?? argv[++i];
      if (opts.name === undefined) throw Object.assign(new Error(`Expected a kernel name after --name.\n${USAGE}`), { usage: true });
    } else if (flag === '--remove') {
      opts.remove = true;
      if (inline !== undefined) opts.removeName = inline;
      else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('-')) opts.removeName = argv[++i];
    } else throw Object.assign(new Error(`Unknown option ${arg}.\n${USAGE}`), { usage: true });
  }
  return opts;
}

function ensureBuilt(say) {
  if (fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')) && fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) return;
  say('Building the library (dist/) first...');
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (res.status !== 0) throw new Error('npm run build failed; fix the errors above and re-run setup.');
}

/** Executes a one-cell notebook (inside the project, so 'transferlab' resolves) on the registered kernel. */
async function verifyKernel(python, name) {
  const { runNotebook } = require(path.join(ROOT, 'dist', 'cli', 'index.js'));
  const dir = path.join(ROOT, '.cache', 'setup-check');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const notebook = path.join(dir, 'check.ipynb');
  const source = "import { formatBytes } from 'transferlab';\nconst size: string = formatBytes(2048);\nconsole.log(`transferlab-check ${size} ${process.version}`);\n";
  fs.writeFileSync(notebook, JSON.stringify({
    cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source }],
    metadata: { kernelspec: { name, display_name: DEFAULT_DISPLAY_NAME, language: 'typescript' } },
    nbformat: 4, nbformat_minor: 4,
  }));
  try {
    const result = await runNotebook(notebook, { kernel: name, output: path.join(dir, 'out'), html: false, python, timeout: 120, log: () => {} });
    if (!result.ok) throw new Error(`The check notebook failed on kernel '${name}': ${result.failure.message}`);
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
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${e.message}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const out = (line) => process.stdout.write(`${line}\n`);
  if (opts.gitFilter) {
    const clean = installGitFilter(ROOT);
    out(`Configured git filter 'transferlab-strip' in ${ROOT}: notebooks matched by .gitattributes are stored stripped (${clean}).`);
    return 0;
  }
  const say = (line) => {
    if (!opts.quiet) out(line);
  };
  const found = ensurePython(opts.list || opts.remove ? () => {} : say);
  if (opts.list) {
    listKernels(found.path, out);
    return 0;
  }
  if (opts.remove) {
    removeKernels(found.path, opts.removeName, out);
    return 0;
  }
  say(`Python with Jupyter: ${found.path} (${found.version}; from ${found.source})`);
  say(`Remembered it in ${path.relative(ROOT, writeState(found.path, ROOT))}`);
  const kernel = resolveProjectKernel(ROOT);
  const owners = Object.fromEntries(Object.entries(registeredKernels(found.path)).map(([n, k]) => [n, k.owner]));
  const plan = planKernelNames({ root: ROOT, requested: opts.name, force: opts.force, claimAlias: opts.claimAlias, owners, exists: (d) => fs.existsSync(d) });
  const folder = path.basename(ROOT);
  const kernelJson = buildKernelJson({ ...kernel, displayName: plan.name === KERNEL_NAME ? DEFAULT_DISPLAY_NAME : `TypeScript (transferlab · ${folder})` });
  const aliasJson = buildKernelJson({ ...kernel, displayName: DEFAULT_DISPLAY_NAME });
  const stamp = JSON.stringify({ python: found.path, kernelJson, plan, jupyterDataDir: process.env.JUPYTER_DATA_DIR ?? null });
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    previous = undefined;
  }
  const unchanged = previous !== undefined && previous.stamp === stamp && fs.existsSync(path.join(previous.kernelDir, 'kernel.json'));
  const ready = (nodeVersion) =>
    `Kernel '${plan.name}' ready: TypeScript ${kernel.typescriptVersion} via tslab ${kernel.tslabVersion} (node ${nodeVersion})`;
  if (opts.quiet && unchanged) {
    out(ready(process.version));
    return 0;
  }
  for (const note of plan.notes) say(note);
  const kernelDir = installKernel(found.path, kernelJson, plan.name);
  say(`Registered kernelspec '${plan.name}' in ${kernelDir}`);
  say(`  ${kernelJson.argv.join(' ')}`);
  if (plan.alias) say(`Registered kernelspec '${KERNEL_NAME}' (the notebooks' kernel name) in ${installKernel(found.path, aliasJson, KERNEL_NAME)}`);
  let nodeVersion = process.version;
  if (opts.verify) {
    ensureBuilt(say);
    say('Checking the kernel with a one-cell notebook...');
    nodeVersion = (await verifyKernel(found.path, plan.name)).nodeVersion;
  }
  fs.mkdirSync(path.dirname(STAMP), { recursive: true });
  if (opts.verify) fs.writeFileSync(STAMP, JSON.stringify({ stamp, kernelDir }) + '\n');
  out(`${ready(nodeVersion)}${opts.verify ? '' : ' (not checked: --no-verify)'}`);
  return 0;
}

module.exports = { planJupyterInstall, planKernelNames, parseArgs, installGitFilter, APT_PACKAGES };

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
