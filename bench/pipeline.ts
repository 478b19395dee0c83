/**
 * Input-pipeline throughput at the walkthrough's settings (224×224 RGB, batch 32), on a folder shaped
 * like the chest-CT dataset: ~200 grayscale PNG/JPEG images of varying sizes around 429×285.
 * Prints images/s and process CPU time per image (all threads: workers, sharp's libuv pool, main — steadier
 * than wall time on a shared machine) for: sharp decode+resize only (baseline), our iterator without
 * augmentation and with the walkthrough's augmentation (rescale 1/255, shear 0.2, zoom 0.2, horizontal
 * flip), each in the main thread (`workers: 0`) and in worker threads, with ratios against the baseline
 * measured in the same run.
 *
 * Run: npx tsc -p tsconfig.test.json && node .build/bench/pipeline.js [images=200]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
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

interface Measure {
  rate: number;
  cpuMs: number;
}

/** Runs `fn` once to warm up, then once timed: wall img/s and process CPU (all threads: workers, libuv, main) per image. */
async function timeIt(label: string, n: number, fn: () => Promise<void>): Promise<Measure> {
  await fn(); // warm-up pass (starts workers, JIT)
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const m = { rate: n / s, cpuMs: (c.user + c.system) / 1000 / n };
  console.log(`${label.padEnd(46)} ${m.rate.toFixed(1).padStart(7)} img/s  ${m.cpuMs.toFixed(2).padStart(6)} ms CPU/img  (${s.toFixed(2)} s)`);
  return m;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const total = Number(process.argv[2] ?? 200);
  const workers = Math.min(availableParallelism(), 8);
  const dir = await mkdtemp(join(tmpdir(), 'tl-bench-'));
  try {
    const files = await makeDataset(dir, total);
    console.log(
      `${total} grayscale images (~429×285) in 4 classes; 224×224 RGB, batch 32, prefetch 1; ` +
        `${availableParallelism()} cores, workers=${workers}, sharp threads=${sharp.concurrency()}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}; load ${loadavg()[0].toFixed(1)}`,
    );
    const baseline = await timeIt('sharp decode+resize only (baseline)', total, async () => {
      for (let i = 0; i < files.length; i += 32) {
        await Promise.all(files.slice(i, i + 32).map((f) => sharp(f).resize(224, 224, { fit: 'fill', kernel: 'nearest' }).toColourspace('srgb').raw().toBuffer()));
      }
    });
    // One iterator per configuration, warmed up by its first epoch and timed on its second, as in
    // training (workers live as long as the iterator).
    const measureEpoch = async (label: string, gen: ImageDataGenerator, w: number): Promise<Measure> => {
      const it = gen.flowFromDirectory(dir, { targetSize: [224, 224], batchSize: 32, seed: 1, prefetch: 1, workers: w, verbose: false });
      try {
        return await timeIt(label, total, async () => {
          for await (const b of it) tf.dispose([b.xs, b.ys as tf.Tensor]);
        });
      } finally {
        it.dispose();
      }
    };
    const plain = new ImageDataGenerator({ rescale: 1 / 255 });
    const aug = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
    const rows: Array<[string, Measure]> = [];
    rows.push(['no augmentation, main thread', await measureEpoch('iterator, no augmentation, main thread', plain, 0)]);
    rows.push([`no augmentation, ${workers} workers`, await measureEpoch(`iterator, no augmentation, ${workers} workers`, plain, workers)]);
    rows.push(['augmentation, main thread', await measureEpoch('iterator, walkthrough augmentation, main thread', aug, 0)]);
    rows.push([`augmentation, ${workers} workers`, await measureEpoch(`iterator, walkthrough augmentation, ${workers} workers`, aug, workers)]);
    console.log('ratios vs the sharp-only baseline (img/s ratio; CPU per image ratio):');
    for (const [label, m] of rows) console.log(`  ${label.padEnd(34)} ${(m.rate / baseline.rate).toFixed(2)}×  CPU ${(m.cpuMs / baseline.cpuMs).toFixed(2)}×`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
