// Types for kernelspec.js (plain CommonJS so `npm run setup` runs before any build).

/** Arguments of {@link buildKernelJson}. */
export interface BuildKernelJsonArgs {
  /** Absolute path of the node binary that runs the kernel (usually `process.execPath`). */
  nodePath: string;
  /** Absolute path of this project's `kernel-setup/kernel.js` (tslab wrapped for every Jupyter client). */
  kernelPath: string;
  /** Project folder the kernel belongs to; recorded as `metadata.transferlab.root`. Default: not recorded. */
  root?: string;
  /** Name shown in Jupyter's kernel picker. Default: 'TypeScript (transferlab)'. */
  displayName?: string;
  /** Extra environment variables for the kernel process. Default: none (omitted from kernel.json). */
  env?: Record<string, string>;
  /** Free-form kernelspec metadata. Default: none. */
  metadata?: Record<string, unknown>;
}

/** The content of a Jupyter `kernel.json`. */
export interface KernelJson {
  argv: string[];
  display_name: string;
  language: 'typescript';
  env?: Record<string, string>;
  metadata?: Record<string, unknown> & { transferlab?: { root: string } };
}

/** The kernel name in the committed notebooks' metadata, 'transferlab' (an alias of one checkout's kernel). */
export const KERNEL_NAME: 'transferlab';
/** Default display name: 'TypeScript (transferlab)'. */
export const DEFAULT_DISPLAY_NAME: string;

/**
 * Builds `kernel.json` for this project's kernel. Pure.
 * @throws {TypeError} when nodePath or kernelPath is not absolute.
 * @example buildKernelJson({ nodePath: process.execPath, kernelPath: '/p/kernel-setup/kernel.js', root: '/p' })
 */
export function buildKernelJson(args: BuildKernelJsonArgs): KernelJson;

/**
 * The checkout's kernel name, `transferlab-<folder>`; with `unique: true` a 6-hex hash of the path is appended.
 * @example kernelNameFor('/work/main') // 'transferlab-main'
 */
export function kernelNameFor(root: string, opts?: { unique?: boolean }): string;

/** Returns `name` when Jupyter accepts it as a kernel name. @throws {TypeError} otherwise. */
export function checkKernelName(name: string): string;

/** The project folder a transferlab kernelspec belongs to; undefined for other kernels. */
export function ownerOf(spec: Partial<KernelJson>): string | undefined;

/** Resolves node, the kernel launcher and tslab (with tslab's and its TypeScript's versions) for a project root. */
export function resolveProjectKernel(projectRoot?: string): {
  nodePath: string;
  kernelPath: string;
  root: string;
  tslabPath: string;
  tslabVersion: string;
  typescriptVersion: string;
};

/** Writes `<parentDir>/<name>/kernel.json`; returns the kernelspec folder. Default name 'transferlab'. */
export function writeKernelSpec(parentDir: string, kernelJson: KernelJson, name?: string): string;
