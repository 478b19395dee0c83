/**
 * Generation speed of the embedded chest-CT phantom (src/data/phantom.ts).
 *
 * Measures, in one run: the small set (perClass 8, 96 images), the full-size set (1000 images,
 * the real counts), and two baselines over images of the same size distribution: rendering alone
 * (JS, no encoding) and sharp encoding blank images of the same sizes and PNG/JPEG mix (no
 * rendering), so the phantom's cost reads as a ratio to what encoding alone costs on this machine.
 *
 * Wall seconds depend on machine load; process CPU seconds (all threads) are reported beside them.
 *
 * Usage: npx tsc -p tsconfig.test.json && node .build/bench/phantom.js [--small-only]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { chestCtPhantom } from '../src/data/phantom';
import { renderPhantomSlice } from '../src/data/phantom-render';
import { createRandom } from '../src/util/random';

function sizes(n: number, seed: number): { width: number; height: number; jpeg: boolean }[] {
  const rng = createRandom(seed);
  return Array.from({ length: n }, () => {
    const width = Math.round(200 + 320 * Math.pow(rng.next(), 0.678));
    return { width, height: Math.round(width * rng.uniform(0.6, 0.8)), jpeg: rng.next() < 0.2 };
  });
}

async function encodeBlank(list: ReturnType<typeof sizes>, concurrency: number): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const { width, height, jpeg } = list[next++];
      const img = sharp(Buffer.alloc(width * height, 40), { raw: { width, height, channels: 1 } }).toColourspace('b-w');
      await (jpeg ? img.jpeg({ quality: 90 }) : img.png({ compressionLevel: 6 })).toBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - start) / 1000;
}

function renderOnly(list: ReturnType<typeof sizes>): number {
  const start = performance.now();
  list.forEach(({ width, height }, i) => renderPhantomSlice(createRandom(i), 'large.cell.carcinoma', width, height));
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  const smallOnly = process.argv.includes('--small-only');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-bench-phantom-'));
  const rows: { name: string; images: number; seconds: number; cpu: number; zipMiB?: number }[] = [];
  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const c = process.cpuUsage(since);
    return (c.user + c.system) / 1e6;
  };
  try {
    await chestCtPhantom({ dest: path.join(dir, 'warm'), perClass: 1, quiet: true }); // JIT + sharp warm-up
    const runs: [string, number | undefined][] = [['phantom small (perClass 8)', 8]];
    if (!smallOnly) runs.push(['phantom full (real counts)', undefined]);
    for (const [name, perClass] of runs) {
      const c0 = process.cpuUsage();
      const res = await chestCtPhantom({ dest: path.join(dir, name.replace(/\W+/g, '-')), perClass, quiet: true });
      rows.push({ name, images: res.images, seconds: res.seconds, cpu: cpuSeconds(c0), zipMiB: fs.statSync(res.zipPath!).size / 2 ** 20 });
      fs.rmSync(path.dirname(res.zipPath!), { recursive: true, force: true });
    }
    const n = smallOnly ? 96 : 1000;
    const list = sizes(n, 1);
    let c0 = process.cpuUsage();
    const render = renderOnly(list);
    rows.push({ name: 'baseline: render only (no encode)', images: n, seconds: render, cpu: cpuSeconds(c0) });
    c0 = process.cpuUsage();
    const blank = await encodeBlank(list, 4);
    rows.push({ name: 'baseline: sharp encode blank, same sizes', images: n, seconds: blank, cpu: cpuSeconds(c0) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = rows.find((r) => r.name.startsWith('baseline: sharp'))!;
  const basePerImage = base.seconds / base.images;
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}, sharp ${sharp.versions.sharp}`);
  for (const r of rows) {
    const perImage = r.seconds / r.images;
    console.log(
      `${r.name.padEnd(42)} ${String(r.images).padStart(5)} images ${r.seconds.toFixed(2).padStart(7)} s ` +
        `${(r.images / r.seconds).toFixed(1).padStart(7)} img/s  ×${(perImage / basePerImage).toFixed(2)} blank-encode wall  ` +
        `cpu ${r.cpu.toFixed(2)} s (×${(r.cpu / r.images / (base.cpu / base.images)).toFixed(2)})` +
        (r.zipMiB === undefined ? '' : `  zip ${r.zipMiB.toFixed(1)} MiB`),
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
