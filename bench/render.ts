// CPU per image of the step every image of a batch goes through in an image worker: read the file,
// decode it, resize it to the target size and write it rescaled into the float batch
// (`renderImageFile`, what `image-worker.ts` runs), one image at a time in this thread, on the
// accelerate bench's folders (256×256 RGB noise PNGs, rendered to 224×224 with rescale 1/255; no
// augmentation: prediction's and validation's path). With `--augment`, the walkthrough's
// augmentation too (shear 0.2, zoom 0.2, horizontal flip), drawn once per image and seeded.
//
// Prints the minimum and the median over BENCH_ROUNDS rounds (default 12) of the process's CPU
// time per image. To compare two commits, run it from each (e.g. a worktree of the older one)
// alternately, several times: the machine drifts between runs.
//
// Run: npx tsc -p tsconfig.test.json && node .build/bench/render.js [--augment]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageDataGenerator } from '../src/preprocessing';
import { resolveLoadOptions } from '../src/preprocessing/image-io';
import { renderImageFile } from '../src/preprocessing/image-kernel';
import { compileTransform } from '../src/preprocessing/image-transform';
import { envInt } from './env';
import { makeNoiseImageFolder } from './noise-folder';

const ROUNDS = envInt('BENCH_ROUNDS', 12);
const IMAGES = envInt('BENCH_IMAGES', 64);
const SIZE = 224;

async function main(): Promise<void> {
  const augment = process.argv.includes('--augment');
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-render-'));
  try {
    await makeNoiseImageFolder(dir, IMAGES);
    const files = fs.readdirSync(dir).flatMap((c) => fs.readdirSync(path.join(dir, c)).map((f) => path.join(dir, c, f)));
    const load = resolveLoadOptions({ targetSize: [SIZE, SIZE] });
    const gen = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
    const transforms = files.map((_, i) => (augment ? gen.compileTransform(gen.getRandomTransform([SIZE, SIZE, 3], 1000 + i), [SIZE, SIZE, 3]) : compileTransform(null, SIZE, SIZE, 'nearest', 0, 1 / 255)));
    const out = new Float32Array(SIZE * SIZE * 3);
    const perImage: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = process.cpuUsage();
      for (let i = 0; i < files.length; i++) await renderImageFile({ ...(transforms[i] as ReturnType<typeof compileTransform>), path: files[i] as string, load }, out, 0, true);
      const used = process.cpuUsage(before);
      perImage.push((used.user + used.system) / 1000 / files.length);
    }
    perImage.sort((a, b) => a - b);
    const median = ROUNDS % 2 === 1 ? (perImage[(ROUNDS - 1) / 2] as number) : ((perImage[ROUNDS / 2 - 1] as number) + (perImage[ROUNDS / 2] as number)) / 2;
    console.log(`render ${files.length} PNGs (256×256 RGB → ${SIZE}×${SIZE}, rescale${augment ? ', shear/zoom/flip' : ''}), ${ROUNDS} rounds: CPU per image min ${(perImage[0] as number).toFixed(3)} ms, median ${median.toFixed(3)} ms`);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

void main();
