/**
 * A grid of images with captions as one PNG (the walkthrough's `plt.subplot` grid of sample
 * scans and predictions), composed with sharp so it needs no browser.
 */
import sharp from 'sharp';
import { displayBundle, escapeHtml } from '../runtime/display';
import { checkInteger, checkNumber, invalidParameterError, isPlainObject } from '../util/validate';

/** One image of the grid: interleaved (HWC) pixels. */
export interface GridImage {
  /**
   * Pixels, `height * width * channels` values. Uint8Array: 0–255. Float32Array: see
   * {@link ImageGridArgs.valueRange}; by default `[0, 1]` (after `rescale: 1/255`), `[-1, 1]` when
   * a value is negative (InceptionV3 `preprocessInput`), `[0, 255]` when a value exceeds 1.
   */
  data: Float32Array | Uint8Array;
  height: number;
  width: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** Caption drawn under the tile; `\n` starts another line. */
  title?: string;
}

/** Options of {@link displayImageGrid}. */
export interface ImageGridArgs {
  /** Tiles per row, ≥ 1. Default `min(4, images.length)`. */
  columns?: number;
  /** Magnification of each tile (nearest neighbour when > 1), 0.1–16. Default 1. */
  scale?: number;
  /** Value range of Float32Array pixels, mapped to 0–255 and clipped. Default: guessed per image (see {@link GridImage.data}). */
  valueRange?: [number, number];
  /** Whether to display the PNG (false only builds it). Default true. */
  show?: boolean;
}

/**
 * A tile's pixels as bytes 0–255, as the grid draws them (Float32 values mapped from
 * `range`, or the guessed range of {@link GridImage.data}). Internal to plots.
 */
export function gridImageBytes(img: GridImage, index: number, range: [number, number] | undefined): Buffer {
  const expected = img.height * img.width * img.channels;
  if (img.data.length !== expected) {
    throw invalidParameterError(`images[${index}].data`, `${expected} values (height × width × channels)`, `${img.data.length} values`);
  }
  if (img.data instanceof Uint8Array) return Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  let [lo, hi] = range ?? [0, 1];
  if (range === undefined) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of img.data) { if (v < min) min = v; if (v > max) max = v; }
    if (min < 0) [lo, hi] = [-1, 1];
    else if (max > 1) [lo, hi] = [0, 255];
  }
  const out = Buffer.alloc(expected);
  const k = 255 / (hi - lo);
  for (let i = 0; i < expected; i++) out[i] = Math.max(0, Math.min(255, Math.round(((img.data[i] as number) - lo) * k)));
  return out;
}

/**
 * Draws images in a grid with captions and shows it as one PNG (`image/png` + `text/plain`).
 *
 * @param images - the tiles, see {@link GridImage}
 * @param args - see {@link ImageGridArgs}
 * @returns the PNG bytes (RGB, white background)
 * @throws TypeError on an empty list, bad sizes/channels, or data of the wrong length
 * @example
 * const png = await displayImageGrid([{ data: pixels, height: 224, width: 224, channels: 3, title: 'normal' }],
 *   { columns: 4, scale: 0.5 });
 */
export async function displayImageGrid(images: GridImage[], args: ImageGridArgs = {}): Promise<Buffer> {
  if (!Array.isArray(images) || images.length === 0) throw invalidParameterError('images', 'non-empty array of images', images);
  const columns = checkInteger('columns', args.columns ?? Math.min(4, images.length), 1);
  const scale = checkNumber('scale', args.scale ?? 1, 0.1, 16);
  if (args.valueRange !== undefined && (!Array.isArray(args.valueRange) || args.valueRange.length !== 2 || !(args.valueRange[1] > args.valueRange[0]))) {
    throw invalidParameterError('valueRange', '[min, max] with max > min', args.valueRange);
  }
  images.forEach((img, i) => {
    if (!isPlainObject(img)) throw invalidParameterError(`images[${i}]`, 'object with data, height, width, channels', img);
    checkInteger(`images[${i}].height`, img.height, 1);
    checkInteger(`images[${i}].width`, img.width, 1);
    if (![1, 3, 4].includes(img.channels)) throw invalidParameterError(`images[${i}].channels`, 'one of 1, 3, 4', img.channels);
    if (!(img.data instanceof Float32Array || img.data instanceof Uint8Array)) {
      throw invalidParameterError(`images[${i}].data`, 'Float32Array or Uint8Array', img.data);
    }
  });

  const tileW = Math.max(...images.map((img) => Math.max(1, Math.round(img.width * scale))));
  const tileH = Math.max(...images.map((img) => Math.max(1, Math.round(img.height * scale))));
  const captionLines = Math.max(0, ...images.map((img) => (img.title ? img.title.split('\n').length : 0)));
  const captionH = captionLines > 0 ? 6 + 14 * captionLines : 0;
  const gap = 6;
  const rows = Math.ceil(images.length / columns);
  const width = columns * tileW + (columns + 1) * gap;
  const height = rows * (tileH + captionH) + (rows + 1) * gap;

  const tiles = await Promise.all(images.map(async (img, i) => {
    const w = Math.max(1, Math.round(img.width * scale));
    const h = Math.max(1, Math.round(img.height * scale));
    const input = sharp(gridImageBytes(img, i, args.valueRange), { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 } });
    const resized = w === img.width && h === img.height ? input : input.resize(w, h, { kernel: scale >= 1 ? 'nearest' : 'lanczos3' });
    const png = await resized.png().toBuffer();
    const col = i % columns;
    const row = Math.floor(i / columns);
    const left = gap + col * (tileW + gap) + Math.floor((tileW - w) / 2);
    const top = gap + row * (tileH + captionH + gap) + Math.floor((tileH - h) / 2);
    return { input: png, left, top };
  }));

  const captions = images.map((img, i) => {
    if (!img.title) return '';
    const col = i % columns;
    const row = Math.floor(i / columns);
    const x = gap + col * (tileW + gap) + tileW / 2;
    const y = gap + row * (tileH + captionH + gap) + tileH + 15;
    const lines = img.title.split('\n').map((line, k) => `<tspan x="${x}" dy="${k === 0 ? 0 : 14}">${escapeHtml(line)}</tspan>`).join('');
    return `<text x="${x}" y="${y}" text-anchor="middle">${lines}</text>`;
  }).join('');
  const overlays = [...tiles];
  if (captionH > 0) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#222222">${captions}</svg>`;
    overlays.push({ input: Buffer.from(svg), left: 0, top: 0 });
  }
  const png = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(overlays).removeAlpha().png().toBuffer();
  if (args.show ?? true) {
    const names = images.map((img) => (img.title ?? '').replace(/\n/g, ' · ')).filter(Boolean);
    displayBundle({
      'image/png': png,
      'text/plain': `Image grid: ${images.length} images, ${columns} columns${names.length ? ` (${names.join(', ')})` : ''}`,
    });
  }
  return png;
}
