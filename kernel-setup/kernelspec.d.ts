// Types for kernelspec.js (plain CommonJS so `npm run setup` runs before any build).

/** Arguments of {@link buildKernelJson}. */
export interface BuildKernelJsonArgs {
  /** Absolute path of the node binary that runs tslab (usually `process.execPath`). */
  nodePath: string;
  /** Absolute path of this project's `node_modules/tslab/bin/tslab`. */
  tslabPath: string;
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
  metadata?: Record<string, unknown>;
}

/** Name under which the kernel is registered with Jupyter: 'transferlab'. */
export const KERNEL_NAME: 'transferlab';
/** Default display name: 'TypeScript (transferlab)'. */
export const DEFAULT_DISPLAY_NAME: string;

/**
 * Builds `kernel.json` for this project's tslab kernel. Pure.
 * @throws {TypeError} when nodePath or tslabPath is not absolute.
 * @example buildKernelJson({ nodePath: process.execPath, tslabPath: '/p/node_modules/tslab/bin/tslab' })
 */
export function buildKernelJson(args: BuildKernelJsonArgs): KernelJson;

/** Resolves node and tslab (with tslab's and its TypeScript's versions) for a project root. */
export function resolveProjectKernel(projectRoot?: string): {
  nodePath: string;
  tslabPath: string;
  tslabVersion: string;
  typescriptVersion: string;
};

/** Writes `<parentDir>/<name>/kernel.json`; returns the kernelspec folder. Default name 'transferlab'. */
export function writeKernelSpec(parentDir: string, kernelJson: KernelJson, name?: string): string;
