// Hostile image folders (issue 15: R5–R7): names that are not UTF-8, link loops, images whose
// decode would exhaust memory. Real files, real sharp, real worker threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { ImageDataGenerator } from '../../src/preprocessing/image-data-generator';
import { loadImage } from '../../src/preprocessing/image-io';

function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-hostile-img-'));
  return fn(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

async function png(value: number, size = 8): Promise<Buffer> {
  return sharp(Buffer.alloc(size * size * 3, value), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

/** Captures console.log/console.warn lines while `fn` runs. */
async function capture<T>(fn: () => Promise<T> | T): Promise<{ out: T; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  const warn = console.warn;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  console.warn = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    return { out: await fn(), lines };
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

test('R6: file and class-folder names that are not valid UTF-8 are listed and decoded by their bytes', async () => {
  await withTmp(async (dir) => {
    const root = Buffer.from(dir);
    const sep = Buffer.from(path.sep);
    const latin1Class = Buffer.concat([root, sep, Buffer.from([0x63, 0x61, 0x66, 0xe9])]); // 'café' in Latin-1
    const okClass = Buffer.concat([root, sep, Buffer.from('plain')]);
    fs.mkdirSync(latin1Class);
    fs.mkdirSync(okClass);
    fs.writeFileSync(Buffer.concat([latin1Class, sep, Buffer.from('a.png')]), await png(10));
    fs.writeFileSync(Buffer.concat([okClass, sep, Buffer.from([0x69, 0xff, 0xfe, 0x2e, 0x70, 0x6e, 0x67])]), await png(200)); // 'i\xff\xfe.png'
    fs.writeFileSync(Buffer.concat([okClass, sep, Buffer.from('b.png')]), await png(100));
    for (const workers of [0, 2]) {
      const { out: it, lines } = await capture(() => new ImageDataGenerator().flowFromDirectory(dir, { targetSize: [4, 4], batchSize: 8, shuffle: false, workers, classMode: 'sparse' }));
      try {
        assert.deepEqual(lines, ['Found 3 images belonging to 2 classes.']);
        assert.equal(it.numClasses, 2);
        const { out: bad } = await capture(() => it.validateImages());
        assert.deepEqual(bad, [], 'every file decodes');
        const b = await it.next();
        try {
          const xs = await b.xs.data();
          const firsts = [0, 1, 2].map((i) => xs[i * 4 * 4 * 3]);
          // Sorted by the decoded names: 'caf\uFFFD/a.png', 'plain/b.png', 'plain/i\uFFFD\uFFFD.png'.
          assert.deepEqual(firsts, [10, 100, 200], `workers ${workers}`);
          assert.ok(b.filepaths[2].includes('\uFFFD'), 'the printed path shows the undecodable bytes as U+FFFD');
        } finally {
          b.xs.dispose();
          b.ys?.dispose();
        }
      } finally {
        it.dispose();
      }
    }
  });
});

test('R7: followLinks with directory link loops lists each image once (13, not 541) and says which links were skipped', async () => {
  await withTmp(async (dir) => {
    for (const [cls, n] of [['a', 7], ['b', 6]] as const) {
      fs.mkdirSync(path.join(dir, cls, 'deep'), { recursive: true });
      for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, cls, i % 2 === 0 ? '' : 'deep', `${i}.png`), await png(i * 10));
    }
    fs.symlinkSync('..', path.join(dir, 'a', 'deep', 'up')); // a/deep/up -> a
    fs.symlinkSync(dir, path.join(dir, 'b', 'root')); // b/root -> the dataset root (a and b again)
    fs.symlinkSync('.', path.join(dir, 'b', 'self'));
    const { out: it, lines } = await capture(() => new ImageDataGenerator().flowFromDirectory(dir, { targetSize: [4, 4], followLinks: true, workers: 0 }));
    try {
      assert.equal(it.samples, 13);
      assert.ok(lines.includes('Found 13 images belonging to 2 classes.'), lines.join('\n'));
      // b/root leads to the dataset root (not listed itself): entered, but a and b inside it were listed already.
      const warning = lines.find((l) => l.startsWith('Skipped 4 folder(s) reached again through symbolic links')) ?? '';
      for (const p of ['a/deep/up', 'b/root/a', 'b/root/b', 'b/self']) assert.ok(warning.includes(path.join(dir, p)), `${p} in: ${lines.join('\n')}`);
      assert.equal(new Set(it.filepaths.map((f) => fs.realpathSync(f))).size, 13, 'no image counted twice');
    } finally {
      it.dispose();
    }
  });
});

test('R5: oversized images are shrunk on load within a bounded memory and at most 2 big decodes at once', async () => {
  await withTmp(async (dir) => {
    fs.mkdirSync(path.join(dir, 'c'));
    // 12000 × 12000 RGB PNGs of one colour (144 Mpx, over the 64 Mpx most a machine gets by
    // default): 4 MB files, 432 MB each as 8-bit pixels and 1.7 GB as float when fully decoded.
    await sharp({ create: { width: 12000, height: 12000, channels: 3, background: { r: 40, g: 120, b: 200 } } }).png({ compressionLevel: 1 }).toFile(path.join(dir, 'c', '0.png'));
    for (const i of [1, 2]) fs.copyFileSync(path.join(dir, 'c', '0.png'), path.join(dir, 'c', `${i}.png`));
    const lib = path.resolve(__dirname, '../../src/preprocessing');
    const script = `
      const { ImageDataGenerator } = require(${JSON.stringify(path.join(lib, 'image-data-generator.js'))});
      const { bigDecodesInFlight } = require(${JSON.stringify(path.join(lib, 'decode-gate.js'))});
      (async () => {
        const it = new ImageDataGenerator().flowFromDirectory(${JSON.stringify(dir)}, { targetSize: [32, 32], batchSize: 3, shuffle: false, workers: 3, verbose: false });
        let most = 0;
        const t = setInterval(() => (most = Math.max(most, bigDecodesInFlight())), 5);
        const b = await it.next();
        clearInterval(t);
        const xs = await b.xs.data();
        it.dispose();
        console.log(JSON.stringify({ most, first: [xs[0], xs[32 * 32 * 3], xs[2 * 32 * 32 * 3]], g: xs[1], maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
        process.exit(0);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, err);
    const r = JSON.parse(out.trim().split('\n').pop() as string) as { most: number; first: number[]; g: number; maxRssMb: number };
    assert.deepEqual(r.first, [40, 40, 40], 'each image decodes to its colour');
    assert.equal(r.g, 120);
    assert.ok(r.most <= 2, `at most 2 big decodes at once (saw ${r.most})`);
    // Decoded in full, three at once would need several GB.
    assert.ok(r.maxRssMb < 700, `peak RSS ${r.maxRssMb} MB`);
  });
});

test('R5: below maxDecodePixels an image is decoded exactly; above it, shrunk on load to nearly the same values', async () => {
  await withTmp(async (dir) => {
    const file = path.join(dir, 'grad.png');
    const w = 400;
    const data = Buffer.alloc(w * w * 3);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) data.fill(Math.round((x / (w - 1)) * 255), (y * w + x) * 3, (y * w + x) * 3 + 3);
    await sharp(data, { raw: { width: w, height: w, channels: 3 } }).png().toFile(file);
    const exact = await loadImage(file, { targetSize: [20, 20], interpolation: 'bilinear' });
    const shrunk = await loadImage(file, { targetSize: [20, 20], interpolation: 'bilinear', maxDecodePixels: 100 * 100 });
    assert.equal(shrunk.data.length, exact.data.length);
    let worst = 0;
    for (let i = 0; i < exact.data.length; i++) worst = Math.max(worst, Math.abs(exact.data[i] - shrunk.data[i]));
    assert.ok(worst <= 4, `largest difference ${worst}`);
    await assert.rejects(loadImage(file, { maxDecodePixels: 0 }), /Expected positive integer for maxDecodePixels but received 0/);
  });
});
