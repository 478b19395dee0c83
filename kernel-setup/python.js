// Finds a Python interpreter that has Jupyter's client libraries, for `npm run setup` and for the
// notebook runner (src/cli). Plain CommonJS so it runs before the TypeScript build.
// Order: $TRANSFERLAB_PYTHON (explicit, never second-guessed) → the path remembered by
// `npm run setup` in .cache/python-path → /usr/bin/python3 (Debian's jupyter packages; the pyenv
// or Homebrew python3 first on PATH usually lacks them) → python3 and python on PATH (conda env).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

/** Python modules the runner's driver needs. */
const REQUIRED_MODULES = ['jupyter_client', 'nbformat', 'nbconvert', 'nbclient'];
const PROJECT_ROOT = path.resolve(__dirname, '..');

/** @param {string} [root] @returns {string} */
function statePath(root = PROJECT_ROOT) {
  return path.join(root, '.cache', 'python-path');
}

/** @param {string} [root] @returns {string | undefined} */
function readState(root = PROJECT_ROOT) {
  try {
    const value = fs.readFileSync(statePath(root), 'utf8').trim();
    return value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}

/** @param {string} pythonPath @param {string} [root] @returns {string} the state file */
function writeState(pythonPath, root = PROJECT_ROOT) {
  const file = statePath(root);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pythonPath + '\n');
  return file;
}

/**
 * Lists interpreters to try, in order of preference.
 * @param {{ env?: NodeJS.ProcessEnv, root?: string, platform?: NodeJS.Platform, useState?: boolean }} [opts]
 * @returns {{ path: string, source: string }[]}
 */
function pythonCandidates(opts = {}) {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  if (env.TRANSFERLAB_PYTHON) return [{ path: env.TRANSFERLAB_PYTHON, source: 'TRANSFERLAB_PYTHON' }];
  const out = [];
  const state = (opts.useState ?? true) ? readState(opts.root) : undefined;
  if (state !== undefined) out.push({ path: state, source: statePath(opts.root) });
  if (platform === 'linux') out.push({ path: '/usr/bin/python3', source: 'Debian system python' });
  out.push({ path: 'python3', source: 'PATH' }, { path: 'python', source: 'PATH' });
  const seen = new Set();
  return out.filter((c) => (seen.has(c.path) ? false : (seen.add(c.path), true)));
}

/**
 * Checks an interpreter without importing the heavy modules (importlib.util.find_spec only).
 * @param {string} pythonPath
 * @returns {{ ok: boolean, executable?: string, version?: string, missing: string[], error?: string }}
 */
function probePython(pythonPath) {
  const script =
    'import importlib.util, json, sys\n' +
    `mods = ${JSON.stringify(REQUIRED_MODULES)}\n` +
    'print(json.dumps({"executable": sys.executable, "version": sys.version.split()[0],' +
    ' "missing": [m for m in mods if importlib.util.find_spec(m) is None]}))\n';
  const res = spawnSync(pythonPath, ['-c', script], { encoding: 'utf8', timeout: 30000 });
  if (res.error) return { ok: false, missing: REQUIRED_MODULES, error: res.error.message };
  if (res.status !== 0) return { ok: false, missing: REQUIRED_MODULES, error: (res.stderr || '').trim().split('\n').pop() };
  try {
    const info = JSON.parse(res.stdout.trim().split('\n').pop());
    return { ok: info.missing.length === 0, executable: info.executable, version: info.version, missing: info.missing };
  } catch {
    return { ok: false, missing: REQUIRED_MODULES, error: `unexpected output ${JSON.stringify(res.stdout)}` };
  }
}

/**
 * Finds the first candidate with all required modules.
 * @param {{ env?: NodeJS.ProcessEnv, root?: string, platform?: NodeJS.Platform, useState?: boolean }} [opts]
 * @returns {{ path: string | undefined, version?: string, source?: string, tried: { path: string, source: string, reason: string }[] }}
 */
function findJupyterPython(opts = {}) {
  const tried = [];
  for (const c of pythonCandidates(opts)) {
    const probe = probePython(c.path);
    if (probe.ok) return { path: probe.executable ?? c.path, version: probe.version, source: c.source, tried };
    tried.push({ ...c, reason: probe.error ?? `missing ${probe.missing.join(', ')}` });
  }
  return { path: undefined, tried };
}

module.exports = { REQUIRED_MODULES, statePath, readState, writeState, pythonCandidates, probePython, findJupyterPython };
