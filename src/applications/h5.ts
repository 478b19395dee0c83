/**
 * Loads h5wasm (an ES module) from this CommonJS library, once.
 *
 * h5wasm's package `exports` offer only `import` conditions (`h5wasm` for browsers, `h5wasm/node`
 * for Node's raw file system), so `require()` cannot load it and TypeScript's CommonJS output would
 * turn `import()` into `require()`. We locate the package folder and import the Node build by
 * file URL through a real dynamic `import()`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MissingPackageError } from '../util/errors';

/** The part of h5wasm's API we use (kept loose: h5wasm's own types are ESM-only). */
export interface H5Module {
  ready: Promise<unknown>;
  /**
   * Opens or creates a file. `options.libver` sets HDF5's library version bounds (e.g.
   * `['earliest', 'latest']`, h5py's default: superblock 0 and version-1 object headers).
   */
  File: new (filename: string, mode?: 'r' | 'w' | 'a', options?: { libver?: string | [string, string]; track_order?: boolean }) => H5File;
}
/** An attribute as h5wasm exposes it. */
export interface H5Attribute {
  value: unknown;
  /**
   * HDF5's description of the stored type. For strings: `size` in bytes (fixed length), `vlen`,
   * `cset` (0 ASCII, 1 UTF-8) and `strpad` (0 null-terminated, 1 null-padded, 2 space-padded).
   */
  metadata?: { type?: number; size?: number; vlen?: boolean; cset?: number; strpad?: number; shape?: number[] | null };
}
/** A group or file: children by path and attributes by name. */
export interface H5Group {
  attrs: Record<string, H5Attribute>;
  keys(): string[];
  get(name: string): H5Group | H5Dataset | null;
  create_group(name: string): H5Group;
  create_attribute(name: string, data: unknown, shape?: number[] | null, dtype?: string | null): void;
  delete_attribute(name: string): number;
  create_dataset(args: { name: string; data: unknown; shape?: number[] | null; dtype?: string | null }): H5Dataset;
}
/** A dataset: shape and values. */
export interface H5Dataset {
  shape: number[] | null;
  dtype: string;
  value: unknown;
}
/** An open file. */
export interface H5File extends H5Group {
  close(): void;
  flush(): void;
}

const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
let loading: Promise<H5Module> | undefined;

function findPackageDir(): string {
  for (const base of require.resolve.paths('h5wasm') ?? []) {
    const dir = path.join(base, 'h5wasm');
    if (fs.existsSync(path.join(dir, 'dist', 'node', 'hdf5_hl.js'))) return dir;
  }
  throw new MissingPackageError('h5wasm', "Cannot find the 'h5wasm' package (needed to read Keras .h5 weight files). Install it: npm install h5wasm");
}

/**
 * Returns the ready h5wasm Node module (host file system access through NODERAWFS).
 *
 * @returns the module; `new module.File(path, 'r')` opens a file
 * @throws Error when h5wasm is not installed
 */
export function loadH5wasm(): Promise<H5Module> {
  loading ??= (async () => {
    const entry = pathToFileURL(path.join(findPackageDir(), 'dist', 'node', 'hdf5_hl.js')).href;
    // Emscripten's environment check mistakes Node for a browser when `navigator` exists (Node >= 21).
    const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    if (nav?.configurable) Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true });
    try {
      const mod = (await dynamicImport(entry)) as H5Module;
      await mod.ready;
      return mod;
    } finally {
      if (nav?.configurable) Object.defineProperty(globalThis, 'navigator', nav);
    }
  })();
  loading.catch(() => (loading = undefined));
  return loading;
}
