/**
 * Fixtures for the image worker pool's tests: a temporary folder of solid-colour PNGs (image i has
 * red = i, so an answer can be checked against its file) and the plain render job of one file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { resolveLoadOptions } from '../../src/preprocessing/image-io';
import type { ImageJob } from '../../src/preprocessing/image-kernel';

/** Writes `count` PNGs of `width`×`height` (image i coloured (i, 2i, 3i)), runs `fn` on their paths, removes them. */
export async function withImages(count: number, fn: (files: string[]) => Promise<void>, width = 64, height = 48): Promise<void> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-pool-'));
  try {
    const files: string[] = [];
    for (let i = 0; i < count; i++) {
      const file = path.join(dir, `img_${i}.png`);
      await sharp({ create: { width, height, channels: 3, background: { r: i, g: 2 * i, b: 3 * i } } }).png().toFile(file);
      files.push(file);
    }
    await fn(files);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** A job that only loads `file` and resizes it to `size`×`size` (no augmentation, no rescale). */
export function plainJob(file: string, size = 32): ImageJob {
  return { path: file, load: resolveLoadOptions({ targetSize: [size, size] }), matrix: null, fillMode: 'nearest', cval: 0, flipHorizontal: false, flipVertical: false, channelShiftIntensity: null, brightness: null, rescale: null };
}
