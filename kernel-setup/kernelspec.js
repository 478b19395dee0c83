// Builds and writes the Jupyter kernelspec for this project's tslab kernel.
// Modelled on tslab's python/install.py (create_kernel_json + install_kernel_spec): a pure
// function builds kernel.json, and a thin writer puts it in a kernelspec folder. Plain CommonJS
// so that `npm run setup` works before the TypeScript build; types live in kernelspec.d.ts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Name under which the kernel is registered with Jupyter. */
const KERNEL_NAME = 'transferlab';
/** Display name shown in Jupyter's kernel picker. */
const DEFAULT_DISPLAY_NAME = 'TypeScript (transferlab)';

/**
 * Builds the content of `kernel.json` for this project's tslab kernel. Pure: no file system access.
 * @param {import('./kernelspec').BuildKernelJsonArgs} args
 * @returns {import('./kernelspec').KernelJson}
 * @throws {TypeError} when nodePath or tslabPath is not an absolute path.
 * @example
 * buildKernelJson({ nodePath: '/usr/bin/node', tslabPath: '/p/node_modules/tslab/bin/tslab' }).argv
 * // ['/usr/bin/node', '/p/node_modules/tslab/bin/tslab', 'kernel', '--config-path', '{connection_file}']
 */
function buildKernelJson(args) {
  const { nodePath, tslabPath, displayName, env, metadata } = args ?? {};
  for (const [name, value] of [['nodePath', nodePath], ['tslabPath', tslabPath]]) {
    if (typeof value !== 'string' || !path.isAbsolute(value)) {
      throw new TypeError(
        `Expected absolute path for ${name} but received ${JSON.stringify(value)} of type ${typeof value}`,
      );
    }
  }
  /** @type {import('./kernelspec').KernelJson} */
  const spec = {
    // '--config-path' and '{connection_file}' stay separate arguments (tslab issue #36).
    argv: [nodePath, tslabPath, 'kernel', '--config-path', '{connection_file}'],
    display_name: displayName ?? DEFAULT_DISPLAY_NAME,
    language: 'typescript',
  };
  if (env !== undefined && Object.keys(env).length > 0) spec.env = { ...env };
  if (metadata !== undefined) spec.metadata = { ...metadata };
  return spec;
}

/**
 * Resolves node and tslab for the project at `projectRoot` (default: this package).
 * @param {string} [projectRoot]
 * @returns {{ nodePath: string, tslabPath: string, tslabVersion: string, typescriptVersion: string }}
 * @throws {Error} when tslab is not installed in the project.
 */
function resolveProjectKernel(projectRoot = path.resolve(__dirname, '..')) {
  let tslabPkg;
  try {
    tslabPkg = require.resolve('tslab/package.json', { paths: [projectRoot] });
  } catch {
    throw new Error(`Expected tslab in ${path.join(projectRoot, 'node_modules')} but it is not installed. Run npm install in ${projectRoot}.`);
  }
  const tslabDir = path.dirname(tslabPkg);
  const tslabVersion = JSON.parse(fs.readFileSync(tslabPkg, 'utf8')).version;
  let typescriptVersion = 'unknown';
  try {
    const tsPkg = require.resolve('@tslab/typescript-for-tslab/package.json', { paths: [tslabDir] });
    typescriptVersion = JSON.parse(fs.readFileSync(tsPkg, 'utf8')).version;
  } catch {
    // tslab without its bundled compiler: leave the version unknown.
  }
  return { nodePath: process.execPath, tslabPath: path.join(tslabDir, 'bin', 'tslab'), tslabVersion, typescriptVersion };
}

/**
 * Writes a kernelspec folder `<parentDir>/<name>/kernel.json` (replacing an existing one).
 * @param {string} parentDir folder that holds kernelspec folders, e.g. `<jupyter path>/kernels`.
 * @param {import('./kernelspec').KernelJson} kernelJson content from {@link buildKernelJson}.
 * @param {string} [name] kernel name; default 'transferlab'.
 * @returns {string} the kernelspec folder written.
 */
function writeKernelSpec(parentDir, kernelJson, name = KERNEL_NAME) {
  const dir = path.join(parentDir, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(kernelJson, null, 2) + '\n');
  return dir;
}

module.exports = { KERNEL_NAME, DEFAULT_DISPLAY_NAME, buildKernelJson, resolveProjectKernel, writeKernelSpec };
