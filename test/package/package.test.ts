// What `npm pack` ships: source maps that carry their sources, types only for what exists,
// no Jupyter checkpoints, and the metadata a registry page shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/cli/paths';

const root = packageRoot();
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown> & { files: string[]; types: string; typesVersions?: Record<string, Record<string, string[]>> };

function packedFiles(): string[] {
  const checkpoints = path.join(root, 'notebooks', '.ipynb_checkpoints');
  const made = !fs.existsSync(checkpoints);
  fs.mkdirSync(checkpoints, { recursive: true });
  fs.writeFileSync(path.join(checkpoints, 'probe-checkpoint.ipynb'), '{}');
  try {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  } finally {
    if (made) fs.rmSync(checkpoints, { recursive: true, force: true });
    else fs.rmSync(path.join(checkpoints, 'probe-checkpoint.ipynb'), { force: true });
  }
}

test('the package ships no Jupyter checkpoints and every shipped source map carries its sources', () => {
  const files = packedFiles();
  assert.deepEqual(files.filter((f) => f.includes('.ipynb_checkpoints')), []);
  const maps = files.filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 0 && files.includes('dist/index.js'));
  for (const f of maps) {
    const map = JSON.parse(fs.readFileSync(path.join(root, f), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    const missing = map.sources.filter((s, i) => typeof map.sourcesContent?.[i] !== 'string' && !files.includes(path.posix.join(path.posix.dirname(f), s)));
    assert.deepEqual(missing, [], `${f} points at sources that are neither inlined nor shipped`);
  }
  assert.ok(files.includes('kernel-setup/kernel.js') && files.includes('kernel-setup/README.md'));
});

test('types are declared only for entry points that exist, and the registry metadata is filled in', () => {
  assert.ok(fs.existsSync(path.join(root, pkg.types)));
  for (const targets of Object.values(pkg.typesVersions ?? {})) {
    for (const list of Object.values(targets)) for (const t of list) assert.ok(!t.includes('*') && fs.existsSync(path.join(root, t)), `typesVersions target ${t}`);
  }
  assert.equal(typeof (pkg.repository as { url?: string } | undefined)?.url, 'string');
  assert.ok(Array.isArray(pkg.keywords) && (pkg.keywords as string[]).includes('tslab'));
});
