import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageDecodeError } from '../../src/preprocessing/errors';
import { hasAllowedExtension, loadImage, sniffHeader } from '../../src/preprocessing/image-io';
import { resizeLikePil } from '../../src/preprocessing/resize';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tl-io-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rgbPixels = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]); // 2×2

test('an RGB PNG decodes to its exact values; grayscale uses PIL luma (19595 R + 38470 G + 7471 B + 0x8000) >> 16', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'a.png');
    await sharp(rgbPixels, { raw: { width: 2, height: 2, channels: 3 } }).png().toFile(p);
    const rgb = await loadImage(p);
    assert.deepEqual([rgb.height, rgb.width, rgb.channels], [2, 2, 3]);
    assert.deepEqual(Array.from(rgb.data), Array.from(rgbPixels));
    const g = await loadImage(p, { colorMode: 'grayscale' });
    const luma = (r: number, gg: number, b: number) => (r * 19595 + gg * 38470 + b * 7471 + 0x8000) >>> 16;
    assert.deepEqual(Array.from(g.data), [luma(255, 0, 0), luma(0, 255, 0), luma(0, 0, 255), luma(10, 20, 30)]);
  });
});

test('a grayscale PNG stays one channel, and is replicated to RGB and RGBA (alpha 255)', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'g.png');
    await sharp(Buffer.from([0, 50, 100, 255]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toFile(p);
    assert.deepEqual(Array.from((await loadImage(p, { colorMode: 'grayscale' })).data), [0, 50, 100, 255]);
    assert.deepEqual(Array.from((await loadImage(p)).data).slice(0, 6), [0, 0, 0, 50, 50, 50]);
    assert.deepEqual(Array.from((await loadImage(p, { colorMode: 'rgba' })).data).slice(0, 8), [0, 0, 0, 255, 50, 50, 50, 255]);
  });
});

test('RGBA drops alpha for rgb (as PIL convert), keeps it for rgba, and composites on a given background', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 't.png');
    await sharp(Buffer.from([200, 100, 50, 0, 10, 20, 30, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(p);
    assert.deepEqual(Array.from((await loadImage(p)).data), [200, 100, 50, 10, 20, 30]);
    assert.deepEqual(Array.from((await loadImage(p, { colorMode: 'rgba' })).data), [200, 100, 50, 0, 10, 20, 30, 255]);
    assert.deepEqual(Array.from((await loadImage(p, { background: '#ffffff' })).data), [255, 255, 255, 10, 20, 30]);
  });
});

test('palette PNG, 16-bit PNG (scaled by 1/257, not clipped) and CMYK JPEG decode to RGB', async () => {
  await withDir(async (dir) => {
    const pal = join(dir, 'p.png');
    await sharp(Buffer.from([255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 255]), { raw: { width: 2, height: 2, channels: 3 } })
      .png({ palette: true, colours: 2 })
      .toFile(pal);
    assert.deepEqual(Array.from((await loadImage(pal)).data), [255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 255]);

    const p16 = join(dir, 's.png');
    await sharp(new Uint16Array([0, 257, 32896, 65535]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('grey16').png().toFile(p16);
    const g16 = await loadImage(p16, { colorMode: 'grayscale' });
    assert.deepEqual(Array.from(g16.data), [0, 1, 128, 255]);

    const cmyk = join(dir, 'c.jpg');
    await sharp(Buffer.alloc(8 * 8 * 3, 128), { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100 }).toFile(cmyk);
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const c = await loadImage(cmyk);
    assert.equal(c.channels, 3);
    assert.ok(Math.abs(c.data[0] - 128) < 24, `grey survives CMYK round trip: ${c.data[0]}`);
  });
});

test('EXIF orientation 6 is applied: a 4×2 (w×h) JPEG tagged "rotate 90" loads as 2 wide, 4 high', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'o.jpg');
    await sharp(Buffer.alloc(4 * 2 * 3, 90), { raw: { width: 4, height: 2, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toFile(p);
    const x = await loadImage(p);
    assert.deepEqual([x.height, x.width], [4, 2]);
    const raw = await loadImage(p, { autoOrient: false });
    assert.deepEqual([raw.height, raw.width], [2, 4]);
  });
});

test('zero-byte, text-as-jpg, corrupt and truncated files throw ImageDecodeError naming the file and the problem', async () => {
  await withDir(async (dir) => {
    const good = await sharp(Buffer.alloc(32 * 32 * 3).map((_, i) => (i * 13) % 256), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
    const files: Record<string, [Buffer, string]> = {
      'empty.png': [Buffer.alloc(0), 'empty'],
      'text.jpg': [Buffer.from('this is a text file, not a jpeg'), 'unsupported-format'],
      'corrupt.png': [Buffer.concat([good.subarray(0, 40), Buffer.alloc(200, 7)]), 'corrupt'],
      'truncated.png': [good.subarray(0, Math.floor(good.length / 2)), 'corrupt'],
    };
    for (const [name, [bytes, problem]] of Object.entries(files)) {
      const p = join(dir, name);
      await writeFile(p, bytes);
      await assert.rejects(loadImage(p), (e: unknown) => {
        assert.ok(e instanceof ImageDecodeError, `${name}: ${String(e)}`);
        assert.equal(e.name, 'ImageDecodeError');
        assert.equal(e.path, p);
        assert.equal(e.problem, problem, `${name}: ${e.message}`);
        assert.ok(e.message.includes(p));
        return true;
      });
    }
    await assert.rejects(loadImage(join(dir, 'missing.png')), (e: unknown) => e instanceof ImageDecodeError && e.problem === 'unreadable');
  });
});

test('the pixel limit refuses images larger than limitInputPixels', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'big.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } }).png().toFile(p);
    await assert.rejects(loadImage(p, { limitInputPixels: 100 }), (e: unknown) => e instanceof ImageDecodeError && e.problem === 'too-large');
  });
});

test('resize follows PIL: nearest picks floor((x + 0.5)·in/out); bilinear downscale uses the antialiased triangle filter', () => {
  const src = { data: Uint8Array.from([0, 100, 200, 255]), height: 1, width: 4, channels: 1 };
  assert.deepEqual(Array.from(resizeLikePil(src, 2, 1, 'nearest').data), [100, 255]);
  // xx = 0: centre 1, taps 0..2 with weights 0.75, 0.75, 0.25 (normalised /1.75) → 71.43 → 71
  assert.equal(resizeLikePil(src, 2, 1, 'bilinear').data[0], 71);
  assert.deepEqual(Array.from(resizeLikePil(src, 8, 1, 'nearest').data), [0, 0, 100, 100, 200, 200, 255, 255]);
  // Every channel count, both sample types, down and up (repeated rows) in each direction: the formula, value by value.
  for (const channels of [1, 2, 3, 4]) {
    for (const [h, w, oh, ow] of [[7, 9, 4, 5], [3, 4, 8, 6], [5, 5, 5, 3], [6, 2, 2, 7]] as const) {
      const values = Array.from({ length: h * w * channels }, (_, i) => (i * 37) % 251);
      for (const data of [Uint8Array.from(values), Float32Array.from(values, (v) => v / 7)]) {
        const out = resizeLikePil({ data, height: h, width: w, channels }, ow, oh, 'nearest');
        const expected: number[] = [];
        for (let y = 0; y < oh; y++) {
          for (let x = 0; x < ow; x++) {
            const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / oh));
            const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / ow));
            for (let k = 0; k < channels; k++) expected.push(data[(sy * w + sx) * channels + k] as number);
          }
        }
        assert.deepEqual(Array.from(out.data), expected, `${channels} channels, ${h}×${w} → ${oh}×${ow}, ${data.constructor.name}`);
      }
    }
  }
});

test('targetSize resizes with the chosen filter and keepAspectRatio centre-crops first', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'w.png');
    const px = Buffer.alloc(8 * 4).map((_, i) => (i % 8) * 30); // 8 wide, 4 high, columns 0..210
    await sharp(px, { raw: { width: 8, height: 4, channels: 1 } }).toColourspace('b-w').png().toFile(p);
    const a = await loadImage(p, { colorMode: 'grayscale', targetSize: [2, 2] });
    assert.deepEqual(Array.from(a.data), [60, 180, 60, 180]);
    const b = await loadImage(p, { colorMode: 'grayscale', targetSize: [2, 2], keepAspectRatio: true });
    assert.deepEqual(Array.from(b.data), [90, 150, 90, 150]); // crop columns 2..5, then nearest
  });
});

test('allowed extensions are Keras\'s, case-insensitive', () => {
  for (const f of ['a.png', 'b.JPG', 'c.jpeg', 'd.bmp', 'e.ppm', 'f.tif', 'g.TIFF']) assert.ok(hasAllowedExtension(f), f);
  for (const f of ['a.gif', 'b.txt', 'png', 'c.webp']) assert.ok(!hasAllowedExtension(f), f);
});

test('the PNG/JPEG header sniff agrees with sharp metadata where it answers, and defers (null) on 16-bit, palette, tRNS and CMYK', async () => {
  const raw = (w: number, h: number, channels: 1 | 2 | 3 | 4) => sharp(Buffer.alloc(w * h * channels, 90), { raw: { width: w, height: h, channels } });
  const cases: Array<[string, Promise<Buffer>, boolean]> = [
    ['grey png', raw(3, 2, 1).toColourspace('b-w').png().toBuffer(), true],
    ['grey+alpha png', raw(3, 2, 2).png().toBuffer(), true],
    ['rgb png', raw(3, 2, 3).png().toBuffer(), true],
    ['rgba png', raw(3, 2, 4).png().toBuffer(), true],
    ['grey jpeg', raw(3, 2, 1).toColourspace('b-w').jpeg().toBuffer(), true],
    ['rgb jpeg', raw(3, 2, 3).jpeg().toBuffer(), true],
    ['progressive jpeg', raw(3, 2, 3).jpeg({ progressive: true }).toBuffer(), true],
    ['16-bit png', raw(3, 2, 1).toColourspace('grey16').png().toBuffer(), false],
    ['palette png', raw(3, 2, 3).png({ palette: true }).toBuffer(), false],
    ['cmyk jpeg', raw(3, 2, 3).toColourspace('cmyk').jpeg().toBuffer(), false],
  ];
  for (const [name, p, answers] of cases) {
    const buf = await p;
    const h = sniffHeader(buf);
    if (!answers) {
      assert.equal(h, null, name);
      continue;
    }
    const meta = await sharp(buf).metadata();
    assert.deepEqual(h, { is16: meta.depth === 'ushort', channels: meta.channels, hasAlpha: meta.hasAlpha, width: meta.width, height: meta.height }, name);
  }
  // A grey PNG with a tRNS chunk has alpha in sharp's eyes: the sniff must defer.
  const grey = await raw(3, 2, 1).toColourspace('b-w').png().toBuffer();
  const idat = grey.indexOf('IDAT') - 4;
  const trns = Buffer.from([0, 0, 0, 2, 0x74, 0x52, 0x4e, 0x53, 0, 90, 0, 0, 0, 0]);
  assert.equal(sniffHeader(Buffer.concat([grey.subarray(0, idat), trns, grey.subarray(idat)])), null);
});
