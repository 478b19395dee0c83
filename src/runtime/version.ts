import * as fs from 'node:fs';
import * as path from 'node:path';

function readVersion(): string {
  // Walk up from this file (dist/runtime or .build/src/runtime) to the package's own package.json.
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'transferlab' && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return '0.0.0-unknown';
}

/** The library's version, read from its package.json. */
export const version: string = readVersion();
