// Extraction onto a destination that cannot be written (issue 15: R11). The read-only file system
// is real: a tmpfs mounted read-only in a private mount namespace (unshare), so nothing outside
// the child process sees it. Skipped where mount namespaces are not available.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extractArchive } from '../../src/data/archive';
import { ArchiveError } from '../../src/data/errors';
import { makeDatasetZip } from '../support/kaggle-server';

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-hostile-zip-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test('R11: extracting onto a read-only file system is an ArchiveError naming the destination (EROFS), nothing written', async (t) => {
  await withTmp(async (dir) => {
    const zip = path.join(dir, 'd.zip');
    await fsp.writeFile(zip, makeDatasetZip({ 'a/1.bin': 100 }));
    const ro = path.join(dir, 'ro');
    await fsp.mkdir(ro);
    const archiveJs = path.resolve(__dirname, '../../src/data/archive.js');
    const script = `require(${JSON.stringify(archiveJs)}).extractArchive(${JSON.stringify(zip)}, ${JSON.stringify(path.join(ro, 'out'))}).then(() => console.log('{"ok":true}'), (e) => console.log(JSON.stringify({ name: e.name, message: e.message, archive: e.archive })));`;
    const res = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "$1" && exec "$2" -e "$3"`, 'sh', ro, process.execPath, script], { encoding: 'utf8' });
    if (res.status !== 0 || res.stdout.trim() === '') {
      t.skip(`no private read-only mount available here (${(res.stderr || String(res.error)).trim().slice(0, 80)})`);
      return;
    }
    const out = JSON.parse(res.stdout.trim()) as { name: string; message: string; archive: string };
    assert.equal(out.name, 'ArchiveError');
    assert.equal(out.archive, zip);
    assert.ok(out.message.includes(`into ${path.join(ro, 'out')}: the destination is on a read-only file system`), out.message);
    assert.match(out.message, /Nothing was written; choose a writable destination/);
  });
});

test('R11: a destination whose parent is a file is an ArchiveError naming it, not a raw ENOTDIR', async () => {
  await withTmp(async (dir) => {
    const zip = path.join(dir, 'd.zip');
    await fsp.writeFile(zip, makeDatasetZip({ 'a/1.bin': 100 }));
    await fsp.writeFile(path.join(dir, 'file'), 'x');
    const dest = path.join(dir, 'file', 'out');
    await assert.rejects(extractArchive(zip, dest), (err: unknown) => err instanceof ArchiveError && err.message.includes(`into ${dest}: the destination has a file where a folder is needed on its path`));
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['d.zip', 'file']);
  });
});
