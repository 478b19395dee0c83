/**
 * Input-pipeline throughput at the walkthrough's settings (224×224 RGB, batch 32), on a folder shaped
 * like the chest-CT dataset: ~200 grayscale PNG/JPEG images of varying sizes around 429×285.
 * Prints images/s for: sharp decode+resize only (baseline), our iterator without augmentation, and
 * with the walkthrough's augmentation (rescale 1/255, shear 0.2, zoom 0.2, horizontal flip), with
 * ratios against the baseline measured in the same run.
 *
 * Run: npx tsc -p tsconfig.test.json && node .build/bench/pipeline.js [images=200]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { ImageDataGenerator } from '../src/preprocessing';

async function makeDataset(dir: string, total: number): Promise<string[]> {
  const files: string[] = [];
  const classes = ['adenocarcinoma', 'large.cell.carcinoma', 'normal', 'squamous.cell.carcinoma'];
  for (let i = 0; i < total; i++) {
    const cls = classes[i % 4];
    await mkdir(join(dir, cls), { recursive: true });
    const w = 429 + ((i * 37) % 121) - 60;
    const h = 285 + ((i * 53) % 81) - 40;
    const px = Buffer.alloc(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = (((x - w / 2) ** 2 + (y - h / 2) ** 2) / 40 + ((x * 7 + y * 13 + i) % 17)) & 0xff;
    const img = sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w');
    const file = join(dir, cls, `${String(i).padStart(6, '0')} (${i % 5}).${i % 3 === 0 ? 'jpg' : 'png'}`);
    await (i % 3 === 0 ? img.jpeg({ quality: 90 }) : img.png()).toFile(file);
    files.push(file);
  }
  return files;
}

async function timeIt(label: string, n: number, fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up pass
  const t0 = process.hrtime.bigint();
  await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / s;
  console.log(`${label.padEnd(44)} ${rate.toFixed(1).padStart(8)} img/s  (${s.toFixed(2)} s)`);
  return rate;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const total = Number(process.argv[2] ?? 200);
  const dir = await mkdtemp(join(tmpdir(), 'tl-bench-'));
  try {
    const files = await makeDataset(dir, total);
    console.log(`${total} grayscale images (~429×285) in 4 classes; 224×224 RGB, batch 32; sharp threads=${sharp.concurrency()}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}`);
    const baseline = await timeIt('sharp decode+resize only (baseline)', total, async () => {
      for (let i = 0; i < files.length; i += 32) {
        await Promise.all(files.slice(i, i + 32).map((f) => sharp(f).resize(224, 224, { fit: 'fill', kernel: 'nearest' }).toColourspace('srgb').raw().toBuffer()));
      }
    });
    const epoch = async (gen: ImageDataGenerator, prefetch: number) => {
      const it = gen.flowFromDirectory(dir, { targetSize: [224, 224], batchSize: 32, seed: 1, prefetch, verbose: false });
      for await (const b of it) tf.dispose([b.xs, b.ys as tf.Tensor]);
    };
    const plain = new ImageDataGenerator({ rescale: 1 / 255 });
    const aug = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
    const r1 = await timeIt('iterator, no augmentation', total, () => epoch(plain, 1));
    const r2 = await timeIt('iterator, walkthrough augmentation', total, () => epoch(aug, 1));
    const r3 = await timeIt('iterator, walkthrough augmentation, prefetch 0', total, () => epoch(aug, 0));
    console.log(`ratios vs baseline: no augmentation ${(r1 / baseline).toFixed(2)}, augmentation ${(r2 / baseline).toFixed(2)}, augmentation without prefetch ${(r3 / baseline).toFixed(2)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
