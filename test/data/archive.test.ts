import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extractArchive } from '../../src/data/archive';
import { ArchiveError } from '../../src/data/errors';
import { buildZip, type ZipWriteEntry } from '../../src/data/zip-writer';

/** Runs `fn` in a fresh temporary folder, removed afterwards. */
async function inTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-archive-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every path under `dir` with its type and size (links not followed), sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(path.join(dir, r))}`);
      else if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else out.push(`${r} ${st.size}`);
    }
  };
  walk('');
  return out;
}

function writeZip(dir: string, entries: ZipWriteEntry[], name = 'a.zip'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, buildZip(entries));
  return file;
}

/** Asserts extraction fails with an ArchiveError naming `entry` and leaves `dir` exactly as it was. */
async function assertRefused(dir: string, zip: string, dest: string, entry: string | undefined, pattern: RegExp, options = {}): Promise<ArchiveError> {
  const before = tree(dir);
  let caught: unknown;
  await extractArchive(zip, dest, options).catch((err: unknown) => {
    caught = err;
  });
  assert.ok(caught instanceof ArchiveError, `expected an ArchiveError, got ${String(caught)}`);
  assert.equal(caught.name, 'ArchiveError');
  assert.equal(caught.archive, path.resolve(zip));
  if (entry !== undefined) assert.equal(caught.entry, entry);
  assert.match(caught.message, pattern);
  assert.deepEqual(tree(dir), before, 'the folder changed (half-written output or staging left behind)');
  return caught;
}

/** Overwrites the declared uncompressed size of the `index`-th entry in both local and central headers. */
function lieAboutSize(zip: Buffer, index: number, size: number): Buffer {
  const out = Buffer.from(zip);
  let seenLocal = 0;
  let seenCentral = 0;
  for (let p = 0; p + 4 <= out.length; p++) {
    const sig = out.readUInt32LE(p);
    if (sig === 0x04034b50 && seenLocal++ === index) out.writeUInt32LE(size, p + 22);
    if (sig === 0x02014b50 && seenCentral++ === index) out.writeUInt32LE(size, p + 24);
  }
  return out;
}

const pseudoRandom = (n: number, seed = 1): Buffer => {
  const b = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
};

test('extracts a good archive with folders, stored and deflated files, sorted listing and safe modes', async () => {
  await inTmp(async (dir) => {
    const zip = writeZip(dir, [
      { name: 'Data/' },
      { name: 'Data/train/b.txt', data: 'bravo', method: 0 },
      { name: 'Data/train/a.txt', data: 'alpha'.repeat(100) },
      { name: 'Data/run.sh', data: '#!/bin/sh\n', mode: 0o104777 },
      { name: 'top.bin', data: pseudoRandom(5000) },
    ]);
    const dest = path.join(dir, 'out', 'nested');
    const res = await extractArchive(zip, dest);
    assert.equal(res.dest, dest);
    assert.deepEqual(res.files, ['Data/run.sh', 'Data/train/a.txt', 'Data/train/b.txt', 'top.bin']);
    assert.equal(res.bytes, 10 + 500 + 5 + 5000);
    assert.equal(fs.readFileSync(path.join(dest, 'Data/train/a.txt'), 'utf8'), 'alpha'.repeat(100));
    assert.deepEqual(fs.readFileSync(path.join(dest, 'top.bin')), pseudoRandom(5000));
    for (const f of res.files) {
      const mode = fs.statSync(path.join(dest, f)).mode & 0o7777;
      assert.equal(mode & ~0o644, 0, `${f} has mode ${mode.toString(8)}, expected at most 644 (setuid and exec dropped)`);
    }
    for (const d of ['', 'Data', 'Data/train']) {
      const mode = fs.statSync(path.join(dest, d)).mode & 0o7777;
      assert.equal(mode & ~0o755, 0, `${d || '.'} has mode ${mode.toString(8)}`);
    }
    assert.deepEqual(fs.readdirSync(path.join(dir, 'out')), ['nested'], 'no staging folder is left');
  });
});

test('refuses traversal, absolute, drive-letter and backslash names instead of renaming them', async () => {
  await inTmp(async (dir) => {
    const abs = path.join(dir, 'evil-absolute');
    const names = ['../evil', 'ok/../../evil', '..\\evil', 'a\\..\\..\\evil', abs, '/etc/evil', 'C:\\evil', 'C:/evil', 'c:evil', '\\\\server\\share\\evil', '//server/share/evil'];
    for (const name of names) {
      const zip = writeZip(dir, [{ name: 'fine.txt', data: 'ok' }, { name, data: 'pwned' }]);
      await assertRefused(dir, zip, path.join(dir, 'out'), name, /absolute path|drive letter|'\.\.' segment/);
    }
    assert.equal(fs.existsSync(abs), false);
    assert.equal(fs.existsSync(path.join(dir, 'evil')), false);
  });
});

test('refuses symbolic link entries', async () => {
  await inTmp(async (dir) => {
    const zip = writeZip(dir, [{ name: 'link', data: '/etc/passwd', mode: 0o120777, method: 0 }]);
    await assertRefused(dir, zip, path.join(dir, 'out'), 'link', /symbolic link/);
    const fifo = writeZip(dir, [{ name: 'pipe', data: '', mode: 0o010644 }], 'fifo.zip');
    await assertRefused(dir, fifo, path.join(dir, 'out'), 'pipe', /FIFO/);
  });
});

test('never writes through a symbolic link that already exists in the destination, even with overwrite', async () => {
  await inTmp(async (dir) => {
    const outside = path.join(dir, 'outside');
    const dest = path.join(dir, 'dest');
    fs.mkdirSync(outside);
    fs.mkdirSync(dest);
    fs.symlinkSync(outside, path.join(dest, 'Data'));
    fs.symlinkSync(path.join(outside, 'target.txt'), path.join(dest, 'file.txt'));
    const zip = writeZip(dir, [{ name: 'Data/x.png', data: 'pwned' }]);
    await assertRefused(dir, zip, dest, 'Data/x.png', /'Data' in .* is a symbolic link/);
    await assertRefused(dir, zip, dest, 'Data/x.png', /symbolic link/, { overwrite: true });
    const zip2 = writeZip(dir, [{ name: 'file.txt', data: 'pwned' }], 'b.zip');
    await assertRefused(dir, zip2, dest, 'file.txt', /symbolic link/, { overwrite: true });
    assert.deepEqual(fs.readdirSync(outside), []);
  });
});

test('refuses a zip bomb from the central directory before writing, and enforces the total and entry caps', async () => {
  await inTmp(async (dir) => {
    const bomb = writeZip(dir, [{ name: 'ok.txt', data: 'fine' }, { name: 'zeros.bin', data: Buffer.alloc(8 * 1024 * 1024) }]);
    assert.ok(fs.statSync(bomb).size < 40_000);
    await assertRefused(dir, bomb, path.join(dir, 'out'), 'zeros.bin', /compression ratio of \d+ .*over maxRatio 100/);
    const two = writeZip(dir, [{ name: 'a', data: pseudoRandom(600) }, { name: 'b', data: pseudoRandom(600, 2) }], 'two.zip');
    await assertRefused(dir, two, path.join(dir, 'out'), 'b', /more than maxTotalBytes \(1000\)/, { maxTotalBytes: 1000 });
    await assertRefused(dir, two, path.join(dir, 'out'), 'a', /more than maxEntryBytes \(500\)/, { maxEntryBytes: 500 });
    await assertRefused(dir, two, path.join(dir, 'out'), undefined, /2 entries but maxEntries is 1/, { maxEntries: 1 });
    const res = await extractArchive(bomb, path.join(dir, 'trusted'), { maxRatio: 1e6 });
    assert.equal(res.bytes, 8 * 1024 * 1024 + 4);
  });
});

test('stops inflating an entry whose data is larger than its declared size (lying sizes)', async () => {
  await inTmp(async (dir) => {
    const honest = buildZip([{ name: 'first.txt', data: 'written first' }, { name: 'big.bin', data: pseudoRandom(100_000) }]);
    for (const declared of [1000, 0]) {
      const zip = path.join(dir, `lie-${declared}.zip`);
      fs.writeFileSync(zip, lieAboutSize(honest, 1, declared));
      await assertRefused(dir, zip, path.join(dir, 'out'), 'big.bin', /inflates to more than the \d+ bytes the archive declares/);
    }
    const short = path.join(dir, 'short.zip');
    fs.writeFileSync(short, lieAboutSize(honest, 1, 200_000));
    await assertRefused(dir, short, path.join(dir, 'out'), 'big.bin', /inflates to 100000 bytes but the archive declares 200000/);
  });
});

test('refuses duplicate names, case collisions and a file used as a folder', async () => {
  await inTmp(async (dir) => {
    const out = path.join(dir, 'out');
    await assertRefused(dir, writeZip(dir, [{ name: 'a.png', data: '1' }, { name: 'a.png', data: '2' }]), out, 'a.png', /appears more than once/);
    await assertRefused(dir, writeZip(dir, [{ name: 'd/a.png', data: '1' }, { name: 'd/A.png', data: '2' }]), out, 'd/A.png', /only in letter case/);
    await assertRefused(dir, writeZip(dir, [{ name: 'D/a.png', data: '1' }, { name: 'd/b.png', data: '2' }]), out, 'd/b.png', /uses folder 'd' while entry 'D\/a.png' uses 'D'/);
    await assertRefused(dir, writeZip(dir, [{ name: 'x', data: '1' }, { name: 'x/y', data: '2' }]), out, 'x', /is a file but entry 'x\/y' uses it as a folder/);
    await assertRefused(dir, writeZip(dir, [{ name: 'caf\u00e9', data: '1' }, { name: 'cafe\u0301', data: '2' }]), out, 'cafe\u0301', /Unicode normalisation/);
  });
});

test('decodes CP437 names without collapsing two names that differ in one high byte', async () => {
  await inTmp(async (dir) => {
    const zip = writeZip(dir, [
      { name: 'x', rawName: Buffer.from([0x63, 0x61, 0x66, 0x82, 0x2e, 0x74, 0x78, 0x74]), data: 'e-acute' },
      { name: 'y', rawName: Buffer.from([0x63, 0x61, 0x66, 0x8a, 0x2e, 0x74, 0x78, 0x74]), data: 'e-grave' },
      { name: 'na\u00efve.txt', data: 'utf8 flag' },
    ]);
    const dest = path.join(dir, 'out');
    const res = await extractArchive(zip, dest);
    assert.deepEqual(res.files, ['cafè.txt', 'café.txt', 'naïve.txt']);
    assert.equal(fs.readFileSync(path.join(dest, 'café.txt'), 'utf8'), 'e-acute');
    assert.equal(fs.readFileSync(path.join(dest, 'cafè.txt'), 'utf8'), 'e-grave');
    assert.equal(fs.readFileSync(path.join(dest, 'naïve.txt'), 'utf8'), 'utf8 flag');
  });
});

test('reports truncated and corrupt archives as ArchiveError and leaves nothing behind', async () => {
  await inTmp(async (dir) => {
    const good = buildZip([{ name: 'a.txt', data: 'x'.repeat(1000) }, { name: 'b.bin', data: pseudoRandom(4000) }]);
    const cut = path.join(dir, 'cut.zip');
    fs.writeFileSync(cut, good.subarray(0, Math.floor(good.length / 2)));
    await assertRefused(dir, cut, path.join(dir, 'out'), undefined, /Cannot read .* as a zip archive.*truncated/);
    const corrupt = Buffer.from(good);
    corrupt[corrupt.indexOf('b.bin') + 2000] ^= 0xff; // inside b.bin's data (stored after its local header name)
    const bad = path.join(dir, 'bad.zip');
    fs.writeFileSync(bad, corrupt);
    await assertRefused(dir, bad, path.join(dir, 'out'), 'b.bin', /corrupt/);
    await assertRefused(dir, path.join(dir, 'missing.zip'), path.join(dir, 'out'), undefined, /Cannot read/);
  });
});

test('never merges: a non-empty destination is refused naming what it holds, or replaced whole with overwrite', async () => {
  await inTmp(async (dir) => {
    const dest = path.join(dir, 'dest');
    fs.mkdirSync(path.join(dest, 'Data', 'train', 'old'), { recursive: true });
    fs.writeFileSync(path.join(dest, 'keep.txt'), 'mine');
    fs.writeFileSync(path.join(dest, 'Data', 'same.txt'), 'old');
    fs.writeFileSync(path.join(dest, 'Data', 'train', 'old', 'leftover.png'), 'from an earlier run');
    const zip = writeZip(dir, [{ name: 'Data/new.txt', data: 'new' }, { name: 'Data/same.txt', data: 'replaced' }]);
    const refused = await assertRefused(dir, zip, dest, undefined, /the folder is not empty \(it holds Data\/, keep\.txt\) and extraction never merges\. Extract into a new or empty folder, or pass overwrite: true/);
    assert.equal(refused.entry, undefined);
    const res = await extractArchive(zip, dest, { overwrite: true });
    assert.deepEqual(res.files, ['Data/new.txt', 'Data/same.txt']);
    assert.deepEqual(tree(dir).filter((p) => p.startsWith('dest')), ['dest/', 'dest/Data/', 'dest/Data/new.txt 3', 'dest/Data/same.txt 8']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.zip', 'dest'], 'no staging or old folder left beside it');
    // An empty folder is simply filled.
    fs.mkdirSync(path.join(dir, 'empty'));
    assert.deepEqual((await extractArchive(zip, path.join(dir, 'empty'))).files, ['Data/new.txt', 'Data/same.txt']);
  });
});

test('two extractions of different sizes into one folder leave exactly the second archive', async () => {
  await inTmp(async (dir) => {
    const big = writeZip(dir, Array.from({ length: 12 }, (_, i) => ({ name: `Data/train/c${i % 3}/${i}.png`, data: `big ${i}` })), 'big.zip');
    const small = writeZip(dir, Array.from({ length: 4 }, (_, i) => ({ name: `Data/train/c${i % 2}/s${i}.png`, data: `small ${i}` })), 'small.zip');
    const dest = path.join(dir, 'work', 'chest-ct');
    assert.equal((await extractArchive(big, dest, { overwrite: true })).files.length, 12);
    const second = await extractArchive(small, dest, { overwrite: true });
    const onDisk = tree(dest).filter((p) => p.endsWith('.png') || /\.png \d+$/.test(p)).map((p) => p.replace(/ \d+$/, ''));
    assert.deepEqual(onDisk, second.files, '0 leftovers of the first extraction');
  });
});

test('pins the messages for invalid options', async () => {
  await assert.rejects(extractArchive('a.zip', 'out', { maxRatio: 0 }), {
    name: 'TypeError',
    message: 'Expected number >= 1 for maxRatio but received 0 of type number',
  });
  await assert.rejects(extractArchive('a.zip', 'out', { maxEntries: 1.5 }), {
    message: 'Expected positive integer for maxEntries but received 1.5 of type number',
  });
});
