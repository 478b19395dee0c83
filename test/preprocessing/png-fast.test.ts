import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodePlainPng } from '../../src/preprocessing/png-fast';
import { loadImage } from '../../src/preprocessing/image-io';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Deterministic pseudo-random bytes. */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s >> 16) & 255;
  }
  return out;
}

function chunk(type: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

interface PngSpec {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Buffer;
  /** Filter of row y: `filters[y % filters.length]`. */
  filters?: number[];
  /** Chunks placed between IHDR and the first IDAT. */
  before?: Buffer[];
  /** IDAT chunks the zlib stream is split into. */
  idats?: number;
  /** Bytes appended to the zlib stream (inside the IDAT data). */
  zlibTail?: Buffer;
  /** Bytes appended to the rows before deflating. */
  extraRows?: Buffer;
}

/** A PNG written here, byte by byte, with the row filters asked for (sharp chooses its own). */
function encodePng(spec: PngSpec): Buffer {
  const { width, height, channels, pixels } = spec;
  const stride = width * channels;
  const filters = spec.filters ?? [0];
  const rows = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length] as number;
    rows[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = pixels[y * stride + i] as number;
      const a = i >= channels ? (pixels[y * stride + i - channels] as number) : 0;
      const b = y > 0 ? (pixels[(y - 1) * stride + i] as number) : 0;
      const c = y > 0 && i >= channels ? (pixels[(y - 1) * stride + i - channels] as number) : 0;
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f] ?? 0;
      rows[y * (stride + 1) + 1 + i] = (x - pred) & 255;
    }
  }
  let z = deflateSync(spec.extraRows === undefined ? rows : Buffer.concat([rows, spec.extraRows]));
  if (spec.zlibTail !== undefined) z = Buffer.concat([z, spec.zlibTail]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8);
  const parts = spec.idats ?? 1;
  const idats: Buffer[] = [];
  const step = Math.ceil(z.length / parts);
  for (let i = 0; i < parts; i++) idats.push(chunk('IDAT', z.subarray(i * step, Math.min(z.length, (i + 1) * step))));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...(spec.before ?? []), ...idats, chunk('IEND')]);
}

/** What sharp decodes, as image-io asks it (grey stays one channel, colour becomes sRGB). */
async function viaSharp(buf: Buffer, channels: number): Promise<Buffer> {
  return sharp(buf, { failOn: 'truncated' }).toColourspace(channels === 1 ? 'b-w' : 'srgb').raw().toBuffer();
}

async function assertSameAsSharp(buf: Buffer, what: string): Promise<void> {
  const fast = decodePlainPng(buf);
  assert.ok(fast !== null, `${what}: expected the fast path`);
  const ref = await viaSharp(buf, fast.channels);
  const meta = await sharp(buf).metadata();
  assert.deepEqual([fast.width, fast.height], [meta.width, meta.height], what);
  assert.ok(Buffer.from(fast.data.buffer, fast.data.byteOffset, fast.data.length).equals(ref), `${what}: pixels differ from sharp's`);
}

test('PNGs with every row filter (None, Sub, Up, Average, Paeth), grey and RGB, decode to the bytes sharp gives', async () => {
  for (const channels of [1, 3] as const) {
    for (const [width, height] of [[1, 1], [1, 7], [7, 1], [5, 3], [33, 17], [64, 64]] as const) {
      const pixels = noise(width * height * channels, width * 31 + height + channels);
      for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0], [2, 4, 1, 3]]) {
        await assertSameAsSharp(encodePng({ width, height, channels, pixels, filters }), `${width}×${height}×${channels} filters ${filters.join('')}`);
      }
    }
  }
});

test('PNGs written by sharp (adaptive filters, compression 0 to 9, smooth and noisy content) decode to the bytes sharp reads back', async () => {
  for (const channels of [1, 3] as const) {
    const [w, h] = [97, 61];
    const smooth = Buffer.alloc(w * h * channels);
    for (let i = 0; i < smooth.length; i++) smooth[i] = (i * 7 + Math.floor(i / (w * channels)) * 3) & 255;
    for (const pixels of [smooth, noise(w * h * channels, 3)]) {
      for (const compressionLevel of [0, 6, 9]) {
        const raw = sharp(pixels, { raw: { width: w, height: h, channels } });
        const buf = await (channels === 1 ? raw.toColourspace('b-w') : raw).png({ compressionLevel, adaptiveFiltering: true }).toBuffer();
        await assertSameAsSharp(buf, `sharp-written ${channels} channels, level ${compressionLevel}`);
      }
    }
  }
});

test('text, pHYs, tIME, sRGB and gAMA chunks and a stream split over several IDAT chunks keep the fast path and the same bytes', async () => {
  const pixels = noise(20 * 10 * 3, 9);
  const gama = Buffer.alloc(4);
  gama.writeUInt32BE(45455, 0);
  const phys = Buffer.alloc(9);
  phys.writeUInt32BE(2835, 0);
  phys.writeUInt32BE(2835, 4);
  phys[8] = 1;
  const before = [
    chunk('sRGB', Buffer.from([0])),
    chunk('gAMA', gama),
    chunk('pHYs', phys),
    chunk('tEXt', Buffer.from('Comment\0a CT slice', 'latin1')),
    chunk('tIME', Buffer.from([7, 234, 12, 4, 2, 30, 0])),
  ];
  await assertSameAsSharp(encodePng({ width: 20, height: 10, channels: 3, pixels, filters: [4, 1], before, idats: 5 }), 'ancillary chunks');
  const gamma2 = Buffer.alloc(4);
  gamma2.writeUInt32BE(100000, 0); // gamma 1.0: libvips records it, the pixels stay
  await assertSameAsSharp(encodePng({ width: 20, height: 10, channels: 3, pixels, before: [chunk('gAMA', gamma2)] }), 'gAMA 1.0');
});

test('every PNG that is not plain returns null, so sharp decodes it (and reports its errors)', async () => {
  const pixels = noise(16 * 8 * 3, 5);
  const plain = encodePng({ width: 16, height: 8, channels: 3, pixels, filters: [1, 4] });
  assert.ok(decodePlainPng(plain) !== null);
  const cases: Array<[string, Buffer]> = [];
  const badCrc = Buffer.from(plain);
  badCrc[badCrc.length - 20] = (badCrc[badCrc.length - 20] as number) ^ 1; // a byte of the IDAT data
  cases.push(['a CRC mismatch', badCrc]);
  cases.push(['a truncated file', plain.subarray(0, plain.length - 30)]);
  cases.push(['no IEND', plain.subarray(0, plain.length - 12)]);
  cases.push(['bytes after IEND', Buffer.concat([plain, Buffer.from('junk')])]);
  cases.push(['rows longer than the header says', encodePng({ width: 16, height: 8, channels: 3, pixels, extraRows: Buffer.alloc(49) })]);
  const short = encodePng({ width: 16, height: 8, channels: 3, pixels });
  short.writeUInt32BE(9, 20); // the header now announces 9 rows; the stream holds 8 (CRC fixed below)
  short.writeUInt32BE(crc32(short.subarray(12, 29)), 29);
  cases.push(['a header announcing more rows than the stream holds', short]);
  const badFilter = encodePng({ width: 16, height: 8, channels: 3, pixels, filters: [5 as number] });
  cases.push(['an unknown filter byte', badFilter]);
  const idat = encodePng({ width: 16, height: 8, channels: 3, pixels, idats: 2 });
  const at = idat.indexOf('IDAT', 37, 'latin1') - 4;
  const firstLen = idat.readUInt32BE(at) + 12;
  cases.push(['IDAT chunks that are not consecutive', Buffer.concat([idat.subarray(0, at + firstLen), chunk('tEXt', Buffer.from('k\0v')), idat.subarray(at + firstLen)])]);
  cases.push(['an iCCP profile', encodePng({ width: 16, height: 8, channels: 3, pixels, before: [chunk('iCCP', Buffer.concat([Buffer.from('p\0\0', 'latin1'), deflateSync(Buffer.alloc(4))]))] })]);
  cases.push(['a tRNS chunk', encodePng({ width: 16, height: 8, channels: 3, pixels, before: [chunk('tRNS', Buffer.alloc(6))] })]);
  cases.push(['an eXIf chunk', encodePng({ width: 16, height: 8, channels: 3, pixels, before: [chunk('eXIf', Buffer.from('MM\0*\0\0\0\x08\0\0', 'latin1'))] })]);
  cases.push(['an unknown chunk', encodePng({ width: 16, height: 8, channels: 3, pixels, before: [chunk('prVt', Buffer.from('x'))] })]);
  cases.push(['an interlaced PNG', await sharp(pixels, { raw: { width: 16, height: 8, channels: 3 } }).png({ progressive: true }).toBuffer()]);
  cases.push(['a palette PNG', await sharp(pixels, { raw: { width: 16, height: 8, channels: 3 } }).png({ palette: true }).toBuffer()]);
  cases.push(['a 16-bit PNG', await sharp(pixels, { raw: { width: 16, height: 8, channels: 3 } }).toColourspace('rgb16').png().toBuffer()]);
  cases.push(['an RGBA PNG', await sharp(Buffer.alloc(16 * 8 * 4, 9), { raw: { width: 16, height: 8, channels: 4 } }).png().toBuffer()]);
  cases.push(['a JPEG', await sharp(pixels, { raw: { width: 16, height: 8, channels: 3 } }).jpeg().toBuffer()]);
  cases.push(['an empty buffer', Buffer.alloc(0)]);
  for (const [what, buf] of cases) assert.equal(decodePlainPng(buf), null, what);
  assert.equal(decodePlainPng(plain, 16 * 8 - 1), null, 'more pixels than allowed');
});

test('a zlib stream with bytes after its end decodes as sharp decodes it, or goes to sharp', async () => {
  const pixels = noise(16 * 8 * 3, 6);
  const buf = encodePng({ width: 16, height: 8, channels: 3, pixels, zlibTail: Buffer.from('trailing') });
  const fast = decodePlainPng(buf);
  let ref: Buffer | null = null;
  try {
    ref = await viaSharp(buf, 3);
  } catch {
    ref = null;
  }
  if (fast === null) return; // sharp decides, whatever it decides
  assert.ok(ref !== null, 'the fast path accepted a file sharp refuses');
  assert.ok(Buffer.from(fast.data).equals(ref));
});

test('loadImage decodes a plain PNG through the fast path to the values sharp gives; a damaged one as sharp did, a truncated one still fails with the file named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tl-png-fast-'));
  try {
    const pixels = noise(40 * 30 * 3, 8);
    const good = encodePng({ width: 40, height: 30, channels: 3, pixels, filters: [4, 3, 2, 1] });
    await writeFile(join(dir, 'good.png'), good);
    const img = await loadImage(join(dir, 'good.png'));
    assert.deepEqual([img.height, img.width, img.channels], [30, 40, 3]);
    assert.deepEqual(Array.from(img.data), Array.from(await viaSharp(good, 3)));
    // A damaged byte with a stale CRC: not plain, so sharp decodes it as before (libvips ignores
    // CRCs of image data at failOn 'truncated' and returns what the stream holds).
    const damaged = Buffer.from(good);
    damaged[100] = (damaged[100] as number) ^ 0xff;
    await writeFile(join(dir, 'damaged.png'), damaged);
    assert.equal(decodePlainPng(damaged), null);
    assert.deepEqual(Array.from((await loadImage(join(dir, 'damaged.png'))).data), Array.from(await viaSharp(damaged, 3)));
    await writeFile(join(dir, 'cut.png'), good.subarray(0, good.length - 100));
    await assert.rejects(loadImage(join(dir, 'cut.png')), (e: Error) => e.name === 'ImageDecodeError' && e.message.includes('cut.png'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
