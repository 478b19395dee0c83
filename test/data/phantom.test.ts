import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { extractArchive } from '../../src/data/archive';
import { chestCtPhantom, CHEST_CT_CLASSES, CHEST_CT_COUNTS, CHEST_CT_DATASET, CHEST_CT_TEST_CLASSES } from '../../src/data/phantom';
import { renderPhantomSlice, type PhantomFinding } from '../../src/data/phantom-render';
import { createRandom, deriveSeed } from '../../src/util/random';
import { readPhantomLesions, lesionBoxOf, LesionsUnavailableError } from '../../src/data/phantom-lesions';

async function inTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-phantom-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const tiny = { minWidth: 48, maxWidth: 72, quiet: true };

test('exports the real dataset constants: names, class folders per split and counts 613/72/315', () => {
  assert.equal(CHEST_CT_DATASET, 'mohamedhanyyy/chest-ctscan-images');
  assert.deepEqual([...CHEST_CT_CLASSES], [...CHEST_CT_CLASSES].sort());
  assert.deepEqual([...CHEST_CT_TEST_CLASSES], ['adenocarcinoma', 'large.cell.carcinoma', 'normal', 'squamous.cell.carcinoma']);
  const total = (split: 'train' | 'valid' | 'test') => Object.values(CHEST_CT_COUNTS[split]).reduce((a, b) => a + b, 0);
  assert.deepEqual([total('train'), total('valid'), total('test')], [613, 72, 315]);
  assert.deepEqual(Object.keys(CHEST_CT_COUNTS.valid), [...CHEST_CT_CLASSES]);
  assert.deepEqual(Object.keys(CHEST_CT_COUNTS.test), [...CHEST_CT_TEST_CLASSES]);
});

test('packs a small set as chest-ctscan-images.zip with the Kaggle layout, real-looking names and mixed PNG/JPEG grayscale images of varying size', async () => {
  await inTmp(async (dir) => {
    const res = await chestCtPhantom({ dest: path.join(dir, 'dl'), perClass: 3, ...tiny });
    assert.equal(res.zipPath, path.join(dir, 'dl', 'chest-ctscan-images.zip'));
    assert.equal(res.root, path.join(dir, 'dl', 'Data'));
    assert.equal(res.images, 36);
    assert.deepEqual(res.classes, { train: [...CHEST_CT_CLASSES], test: [...CHEST_CT_TEST_CLASSES] });
    assert.deepEqual(fs.readdirSync(path.join(dir, 'dl')), ['chest-ctscan-images.zip'], 'only the zip (no partial file, no loose images)');
    const { files } = await extractArchive(res.zipPath!, path.join(dir, 'data'));
    const root = path.join(dir, 'data', 'Data');
    assert.deepEqual(fs.readdirSync(root).sort(), ['lesions.json', 'test', 'train', 'valid']);
    for (const split of ['train', 'valid', 'test'] as const) {
      const expected = split === 'test' ? [...CHEST_CT_TEST_CLASSES] : [...CHEST_CT_CLASSES];
      assert.deepEqual(fs.readdirSync(path.join(root, split)).sort(), expected);
      for (const cls of expected) {
        assert.equal(fs.readdirSync(path.join(root, split, cls)).length, 3);
        assert.equal(res.counts[split][cls], 3);
      }
    }
    const widths = new Set<number>();
    const formats = new Set<string>();
    assert.ok(files.includes('Data/lesions.json'));
    for (const rel of files.filter((f) => f !== 'Data/lesions.json')) {
      assert.match(path.basename(rel), /^(\d{6}( \(\d\))?|(ad|l|n|sq)\d+)\.(png|jpg)$/);
      const meta = await sharp(path.join(dir, 'data', rel)).metadata();
      assert.equal(meta.format, rel.endsWith('.png') ? 'png' : 'jpeg');
      assert.equal(meta.channels, 1, `${rel} is not grayscale`);
      assert.ok(meta.width! >= 48 && meta.width! <= 72, `${rel} is ${meta.width} wide`);
      assert.ok(meta.height! >= 0.6 * meta.width! - 1 && meta.height! <= 0.8 * meta.width! + 1);
      widths.add(meta.width!);
      formats.add(meta.format!);
    }
    assert.deepEqual([...formats].sort(), ['jpeg', 'png']);
    assert.ok(widths.size > 5, `only ${widths.size} distinct widths`);
  });
});

test('is deterministic: the same seed gives a byte-identical zip, another seed a different one', async () => {
  await inTmp(async (dir) => {
    const opts = { perClass: 2, splits: ['train' as const], ...tiny };
    const a = await chestCtPhantom({ dest: path.join(dir, 'a'), seed: 7, ...opts });
    const b = await chestCtPhantom({ dest: path.join(dir, 'b'), seed: 7, ...opts, concurrency: 1 });
    const c = await chestCtPhantom({ dest: path.join(dir, 'c'), seed: 8, ...opts });
    assert.equal(sha256(a.zipPath!), sha256(b.zipPath!));
    assert.notEqual(sha256(a.zipPath!), sha256(c.zipPath!));
    assert.deepEqual(Object.keys(a.counts), ['train']);
  });
});

test('writes loose files identical to the zip entries with zip: false, using the real counts when perClass is omitted', async () => {
  await inTmp(async (dir) => {
    const loose = await chestCtPhantom({ dest: path.join(dir, 'loose'), splits: ['valid'], zip: false, ...tiny });
    assert.equal(loose.zipPath, undefined);
    assert.equal(loose.images, 72);
    assert.deepEqual(loose.counts.valid, CHEST_CT_COUNTS.valid);
    const packed = await chestCtPhantom({ dest: path.join(dir, 'packed'), splits: ['valid'], ...tiny });
    const { files } = await extractArchive(packed.zipPath!, path.join(dir, 'x'));
    assert.equal(files.length, 72 + 1, '72 images and Data/lesions.json');
    for (const rel of files) assert.ok(fs.readFileSync(path.join(dir, 'loose', rel)).equals(fs.readFileSync(path.join(dir, 'x', rel))), rel);
  });
});

test('classes are learnable: a linear model on 4×4-pooled pixels beats chance on held-out slices', () => {
  const findings: PhantomFinding[] = ['adenocarcinoma', 'large.cell.carcinoma', 'normal', 'squamous.cell.carcinoma'];
  const W = 96;
  const H = 68;
  const P = 4;
  const fw = W / P;
  const fh = H / P;
  const D = fw * fh;
  const make = (n: number, base: number) => {
    const X: Float64Array[] = [];
    const Y: number[] = [];
    for (let i = 0; i < n; i++) {
      findings.forEach((f, c) => {
        const { pixels } = renderPhantomSlice(createRandom(deriveSeed(base, i * 4 + c)), f, W, H);
        const x = new Float64Array(D + 1);
        for (let y = 0; y < H; y++) for (let k = 0; k < W; k++) x[Math.floor(y / P) * fw + Math.floor(k / P)] += pixels[y * W + k] / 255 / (P * P);
        x[D] = 1;
        X.push(x);
        Y.push(c);
      });
    }
    return { X, Y };
  };
  const train = make(30, 1);
  const held = make(20, 2);
  const mu = new Float64Array(D);
  const sd = new Float64Array(D);
  for (const x of train.X) for (let j = 0; j < D; j++) mu[j] += x[j] / train.X.length;
  for (const x of train.X) for (let j = 0; j < D; j++) sd[j] += (x[j] - mu[j]) ** 2 / train.X.length;
  for (const x of [...train.X, ...held.X]) for (let j = 0; j < D; j++) x[j] = (x[j] - mu[j]) / Math.sqrt(sd[j] + 1e-6);
  const w = Array.from({ length: 4 }, () => new Float64Array(D + 1));
  const scores = (x: Float64Array) => w.map((wc) => wc.reduce((s, v, j) => s + v * x[j], 0));
  for (let it = 0; it < 150; it++) {
    const grad = Array.from({ length: 4 }, () => new Float64Array(D + 1));
    train.X.forEach((x, i) => {
      const z = scores(x);
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b);
      for (let c = 0; c < 4; c++) {
        const g = e[c] / s - (train.Y[i] === c ? 1 : 0);
        for (let j = 0; j <= D; j++) grad[c][j] += g * x[j];
      }
    });
    for (let c = 0; c < 4; c++) for (let j = 0; j <= D; j++) w[c][j] -= 0.05 * (grad[c][j] / train.X.length + 0.01 * w[c][j]);
  }
  const correct = held.X.filter((x, i) => {
    const z = scores(x);
    return z.indexOf(Math.max(...z)) === held.Y[i];
  }).length;
  const accuracy = correct / held.X.length;
  assert.ok(accuracy > 0.4, `held-out accuracy ${accuracy} is not clearly above chance (0.25)`);
});

test('draws the finding where its class says: lesion region brighter than in normal slices', () => {
  const mean = (f: PhantomFinding, n: number) => {
    let inside = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const { pixels, lesion } = renderPhantomSlice(createRandom(deriveSeed(3, i)), f, 120, 84);
      assert.equal(lesion === null, f === 'normal');
      if (!lesion) continue;
      const { pixels: normal } = renderPhantomSlice(createRandom(deriveSeed(3, i)), 'normal', 120, 84);
      const r = Math.max(1, Math.floor(lesion.radius / 2));
      for (let y = Math.round(lesion.y) - r; y <= Math.round(lesion.y) + r; y++) {
        for (let x = Math.round(lesion.x) - r; x <= Math.round(lesion.x) + r; x++) {
          inside += pixels[y * 120 + x] - normal[y * 120 + x];
          count++;
        }
      }
    }
    return inside / count;
  };
  for (const f of ['adenocarcinoma', 'large.cell.carcinoma', 'squamous.cell.carcinoma'] as const) {
    assert.ok(mean(f, 12) > 20, `${f} lesion centres are not brighter than the same spot in normal slices`);
  }
  mean('normal', 2);
});

test('pins the messages for invalid options', async () => {
  await assert.rejects(chestCtPhantom({ dest: 'x', perClass: 0 }), {
    name: 'TypeError',
    message: 'Expected integer between 1 and 10000 for perClass but received 0 of type number',
  });
  await assert.rejects(chestCtPhantom({ dest: 'x', splits: ['training' as 'train'] }), /Expected non-empty array of 'train', 'valid', 'test' for splits/);
  await assert.rejects(chestCtPhantom({ dest: 'x', minWidth: 300, maxWidth: 200 }), /Expected integer between 300 and 4096 for maxWidth but received 200/);
});

test('writes Data/lesions.json: every image listed with its size and finding, a box around each lesion, none for normal slices', async () => {
  await inTmp(async (dir) => {
    const res = await chestCtPhantom({ dest: path.join(dir, 'dl'), perClass: 4, zip: false, ...tiny });
    const lesions = readPhantomLesions(res.root);
    assert.equal(lesions.format, 'transferlab-phantom-lesions');
    assert.equal(lesions.seed, 0);
    const listed = Object.keys(lesions.images).sort();
    const onDisk: string[] = [];
    for (const split of ['train', 'valid', 'test']) {
      for (const cls of fs.readdirSync(path.join(res.root, split))) {
        for (const f of fs.readdirSync(path.join(res.root, split, cls))) onDisk.push(`${split}/${cls}/${f}`);
      }
    }
    assert.deepEqual(listed, onDisk.sort());
    for (const [rel, entry] of Object.entries(lesions.images)) {
      const meta = await sharp(path.join(res.root, rel)).metadata();
      assert.deepEqual([entry.width, entry.height], [meta.width, meta.height], rel);
      assert.equal(entry.lesion === null, entry.finding === 'normal', rel);
      if (entry.lesion === null) continue;
      const { x, y, x0, y0, x1, y1 } = entry.lesion;
      assert.ok(x0 >= 0 && y0 >= 0 && x1 <= entry.width && y1 <= entry.height, `${rel}: box inside the image`);
      assert.ok(x0 < x && x < x1 && y0 < y && y < y1, `${rel}: box around the centre`);
      const file = path.join(res.root, rel);
      const box = lesionBoxOf(lesions, res.root, file, [32, 64]);
      assert.ok(box !== null);
      assert.ok(Math.abs(box.x0 - (x0 * 64) / entry.width) < 1e-9 && Math.abs(box.y1 - (y1 * 32) / entry.height) < 1e-9, 'scaled to the target size');
    }
    const normal = Object.keys(lesions.images).find((k) => k.startsWith('test/normal/'))!;
    assert.equal(lesionBoxOf(lesions, res.root, path.join(res.root, normal)), null);
    assert.throws(() => lesionBoxOf(lesions, res.root, path.join(dir, 'elsewhere.png')), (e: unknown) => e instanceof LesionsUnavailableError && /elsewhere\.png/.test((e as Error).message));
    assert.throws(() => readPhantomLesions(dir), (e: unknown) => e instanceof LesionsUnavailableError && /real Kaggle images have none/.test((e as Error).message));
  });
});

test('the recorded box holds the drawn finding: the lesion raises the mean inside its box well above the same box in the normal slice of the same anatomy', () => {
  // Same seed, same size: the anatomy is identical up to the finding, so the difference is the lesion.
  const ratios: number[] = [];
  for (let i = 0; i < 20; i++) {
    for (const f of ['adenocarcinoma', 'large.cell.carcinoma', 'squamous.cell.carcinoma'] as const) {
      const w = 160;
      const h = 112;
      const { pixels, lesion } = renderPhantomSlice(createRandom(deriveSeed(11, i)), f, w, h);
      const normal = renderPhantomSlice(createRandom(deriveSeed(11, i)), 'normal', w, h).pixels;
      const b = lesion!;
      let inside = 0;
      let outside = 0;
      let nIn = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const d = Math.abs(pixels[y * w + x] - normal[y * w + x]);
          if (x + 0.5 >= b.x0 && x + 0.5 < b.x1 && y + 0.5 >= b.y0 && y + 0.5 < b.y1) {
            inside += d;
            nIn++;
          } else outside += d;
        }
      }
      // Outside the box only noise, gain and offset differ (the finding's draws shift the random stream).
      const meanIn = inside / nIn;
      const meanOut = outside / (w * h - nIn);
      ratios.push(meanIn / meanOut);
      assert.ok(meanIn > 1.2 * meanOut, `${f} #${i}: mean change ${meanIn.toFixed(1)} inside the box vs ${meanOut.toFixed(1)} outside`);
    }
  }
  ratios.sort((a, b) => a - b);
  assert.ok(ratios[ratios.length >> 1] > 2.5, `median inside/outside ratio ${ratios[ratios.length >> 1].toFixed(2)}`);
});
