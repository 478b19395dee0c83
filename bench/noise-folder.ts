/**
 * A folder of deterministic noise PNGs (256×256 RGB) in four class sub-folders, for benchmarks
 * that need real files to decode: the content does not matter, only the decode and model work.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

/** Writes `count` images as `<dir>/class_<i % 4>/img_<i>.png`, the same bytes on every run. */
export async function makeNoiseImageFolder(dir: string, count: number): Promise<void> {
  let s = 7;
  for (let i = 0; i < count; i++) {
    const cls = path.join(dir, `class_${i % 4}`);
    await fs.promises.mkdir(cls, { recursive: true });
    const raw = Buffer.alloc(256 * 256 * 3);
    for (let j = 0; j < raw.length; j++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      raw[j] = (s >> 16) & 255;
    }
    await sharp(raw, { raw: { width: 256, height: 256, channels: 3 } }).png().toFile(path.join(cls, `img_${String(i).padStart(4, '0')}.png`));
  }
}
