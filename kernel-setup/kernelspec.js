// Builds and writes the Jupyter kernelspec for this project's kernel (kernel-setup/kernel.js,
// tslab wrapped so that every Jupyter client gets errors, counts and aborts as the protocol says).
// Modelled on tslab's python/install.py (create_kernel_json + install_kernel_spec): pure functions
// build kernel.json and choose names, and a thin writer puts it in a kernelspec folder. Plain
// CommonJS so that `npm run setup` works before the TypeScript build; types live in kernelspec.d.ts.
//
// Names: each checkout registers its own kernel, `transferlab-<folder>` (see kernelNameFor), so a
// second clone never re-points the first one's. The plain name 'transferlab', which the committed
// notebooks carry in their metadata, is an alias that setup gives to one checkout (see setup.js).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** The kernel name in the notebooks' metadata; registered as an alias of one checkout's kernel. */
const KERNEL_NAME = 'transferlab';
/** Display name of the alias in Jupyter's kernel picker. */
const DEFAULT_DISPLAY_NAME = 'TypeScript (transferlab)';
/** Jupyter's rule for kernel names (jupyter_client.kernelspec._is_valid_kernel_name). */
const VALID_NAME = /^[a-z0-9._-]+$/i;

/**
 * Builds the content of `kernel.json` for this project's kernel. Pure: no file system access.
 * @param {import('./kernelspec').BuildKernelJsonArgs} args
 * @returns {import('./kernelspec').KernelJson}
 * @throws {TypeError} when nodePath or kernelPath is not an absolute path.
 * @example
 * buildKernelJson({ nodePath: '/usr/bin/node', kernelPath: '/p/kernel-setup/kernel.js', root: '/p' })
 * // { argv: ['/usr/bin/node', '/p/kernel-setup/kernel.js', '--config-path', '{connection_file}'], ...,
 * //   metadata: { transferlab: { root: '/p' } } }
 */
function buildKernelJson(args) {
  const { nodePath, kernelPath, displayName, env, metadata, root } = args ?? {};
  for (const [name, value] of [['nodePath', nodePath], ['kernelPath', kernelPath]]) {
    if (typeof value !== 'string' || !path.isAbsolute(value)) {
      throw new TypeError(
        `Expected absolute path for ${name} but received ${JSON.stringify(value)} of type ${typeof value}`,
      );
    }
  }
  /** @type {import('./kernelspec').KernelJson} */
  const spec = {
    // '--config-path' and '{connection_file}' stay separate arguments (tslab issue #36).
    argv: [nodePath, kernelPath, '--config-path', '{connection_file}'],
    display_name: displayName ?? DEFAULT_DISPLAY_NAME,
    language: 'typescript',
  };
  if (env !== undefined && Object.keys(env).length > 0) spec.env = { ...env };
  const meta = { ...(metadata ?? {}) };
  if (root !== undefined) meta.transferlab = { root };
  if (Object.keys(meta).length > 0) spec.metadata = meta;
  return spec;
}

/**
 * The kernel name of the checkout at `root`: `transferlab-` and the folder's name, lower-cased,
 * with characters Jupyter does not allow replaced by '-'. With `unique`, a short hash of the
 * absolute path is appended (for two checkouts in folders of the same name). Pure.
 * @param {string} root project folder
 * @param {{ unique?: boolean }} [opts] default `{ unique: false }`
 * @example kernelNameFor('/home/ada/transferlab-main') // 'transferlab-transferlab-main'
 * @example kernelNameFor('/work/main', { unique: true }) // 'transferlab-main-1a2b3c'
 */
function kernelNameFor(root, opts = {}) {
  const slug = path.basename(path.resolve(root)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'project';
  const name = `${KERNEL_NAME}-${slug}`;
  if (!(opts.unique ?? false)) return name;
  return `${name}-${crypto.createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 6)}`;
}

/**
 * Checks a kernel name against Jupyter's rule (letters, digits, '.', '_', '-').
 * @param {string} name
 * @returns {string} the name
 * @throws {TypeError} naming the value received.
 */
function checkKernelName(name) {
  if (typeof name !== 'string' || !VALID_NAME.test(name)) {
    throw new TypeError(`Expected a kernel name of letters, digits, '.', '_' or '-' but received ${JSON.stringify(name)} of type ${typeof name}`);
  }
  return name;
}

/**
 * The project folder a registered transferlab kernel belongs to: `metadata.transferlab.root`, or
 * for kernelspecs written before that existed, derived from the path in argv
 * (`<root>/node_modules/tslab/bin/tslab` or `<root>/kernel-setup/kernel.js`). Pure.
 * @param {Partial<import('./kernelspec').KernelJson>} spec
 * @returns {string | undefined} undefined when the kernelspec is not one of ours.
 */
function ownerOf(spec) {
  const root = spec && spec.metadata && spec.metadata.transferlab && spec.metadata.transferlab.root;
  if (typeof root === 'string') return root;
  const script = Array.isArray(spec && spec.argv) ? spec.argv[1] : undefined;
  if (typeof script !== 'string') return undefined;
  const parts = script.split(/[\\/]/);
  const n = parts.length;
  if (n >= 4 && parts[n - 4] === 'node_modules' && parts[n - 3] === 'tslab' && parts[n - 2] === 'bin') {
    return parts.slice(0, n - 4).join('/');
  }
  if (n >= 2 && parts[n - 2] === 'kernel-setup' && parts[n - 1] === 'kernel.js') return parts.slice(0, n - 2).join('/');
  return undefined;
}

/**
 * Resolves node, the kernel launcher and tslab for the project at `projectRoot` (default: this package).
 * @param {string} [projectRoot]
 * @returns {{ nodePath: string, kernelPath: string, root: string, tslabPath: string, tslabVersion: string, typescriptVersion: string }}
 * @throws {Error} when tslab is not installed in the project.
 */
function resolveProjectKernel(projectRoot = path.resolve(__dirname, '..')) {
  const root = path.resolve(projectRoot);
  let tslabPkg;
  try {
    tslabPkg = require.resolve('tslab/package.json', { paths: [root] });
  } catch {
    throw new Error(`Expected tslab in ${path.join(root, 'node_modules')} but it is not installed. Run npm install in ${root}.`);
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
  return {
    nodePath: process.execPath,
    kernelPath: path.join(root, 'kernel-setup', 'kernel.js'),
    root,
    tslabPath: path.join(tslabDir, 'bin', 'tslab'),
    tslabVersion,
    typescriptVersion,
  };
}

/**
 * Writes a kernelspec folder `<parentDir>/<name>/kernel.json` (replacing an existing one).
 * @param {string} parentDir folder that holds kernelspec folders, e.g. `<jupyter path>/kernels`.
 * @param {import('./kernelspec').KernelJson} kernelJson content from {@link buildKernelJson}.
 * @param {string} [name] kernel name; default 'transferlab'.
 * @returns {string} the kernelspec folder written.
 */
function writeKernelSpec(parentDir, kernelJson, name = KERNEL_NAME) {
  const dir = path.join(parentDir, checkKernelName(name));
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(kernelJson, null, 2) + '\n');
  return dir;
}

module.exports = { KERNEL_NAME, DEFAULT_DISPLAY_NAME, buildKernelJson, kernelNameFor, checkKernelName, ownerOf, resolveProjectKernel, writeKernelSpec };
