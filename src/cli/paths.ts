// Locates this package's root (holding package.json, kernel-setup/ and node_modules/) from either
// dist/cli/ or the test build in .build/src/cli/, and loads the plain-JS kernel-setup modules.
import fs from 'node:fs';
import path from 'node:path';
import type * as KernelSpecModule from '../../kernel-setup/kernelspec';
import type * as PythonModule from '../../kernel-setup/python';

let cachedRoot: string | undefined;

/**
 * Returns the root folder of the installed transferlab package.
 * @throws {Error} when no package.json named 'transferlab' is found above this file.
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'transferlab') return (cachedRoot = dir);
      } catch {
        // Not a readable package.json: keep looking upwards.
      }
    }
    // Internal invariant of an installed package (this file always lies below its package.json).
    if (path.dirname(dir) === dir) throw new Error(`Expected transferlab's package.json above ${__dirname} but found none.`);
  }
}

/** kernel-setup/kernelspec.js of this package (builds kernel.json). */
export function kernelSpecModule(): typeof KernelSpecModule {
  return require(path.join(packageRoot(), 'kernel-setup', 'kernelspec.js')) as typeof KernelSpecModule;
}

/** kernel-setup/python.js of this package (finds a Python with Jupyter). */
export function pythonModule(): typeof PythonModule {
  return require(path.join(packageRoot(), 'kernel-setup', 'python.js')) as typeof PythonModule;
}

/** The Python driver script that executes notebooks through jupyter_client. */
export function driverPath(): string {
  return path.join(packageRoot(), 'kernel-setup', 'driver.py');
}
