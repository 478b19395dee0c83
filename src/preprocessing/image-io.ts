/**
 * Image decoding with sharp, in the manner of Keras `keras/src/utils/image_utils.py` (`load_img`,
 * `img_to_array`): decode, convert the colour mode, then resize with PIL's exact resampling. The
 * plainest PNGs (8-bit grey or RGB, see `png-fast.ts`) are decoded in this thread instead, to the
 * same bytes; every other file, and every error, is sharp's.
 *
 * What matches Keras/PIL exactly: the 8-bit colour conversions (RGB→L uses PIL's
 * `L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16`; L→RGB replicates; RGBA→RGB and RGBA→L drop alpha,
 * they do not composite), and the resize (see `resize.ts`), done after the conversion as PIL does.
 *
 * Where we differ from Keras, on purpose:
 * - EXIF orientation is applied (`autoOrient`, default true); PIL's `load_img` ignores it.
 * - 16-bit images are scaled to 0–255 (`v / 257`, float, not clipped or quantised); Keras keeps
 *   0–65535 for 16-bit grayscale and PIL truncates 16-bit RGB to its high byte.
 * - CMYK is converted to sRGB by libvips (with its ICC fallback), not PIL's naive formula.
 * - `background` (opt-in) composites transparent pixels onto a colour instead of dropping alpha.
 */
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import sharp from 'sharp';
import { BIG_DECODE_PIXELS, acquireBigDecode } from './decode-gate';
import { checkInteger, checkOneOf, invalidParameterError } from '../util/validate';
import { ImageDecodeError } from './errors';
import { decodePlainPng } from './png-fast';
import { INTERPOLATIONS, type Box, type Interpolation, type NearestSampling, type RawImage, nearestSampling, resizeLikePil } from './resize';
import type { ImageArray } from './affine';

/** Keras colour modes. */
export type ColorMode = 'grayscale' | 'rgb' | 'rgba';

/** The colour modes Keras accepts. */
export const COLOR_MODES: readonly ColorMode[] = ['grayscale', 'rgb', 'rgba'];

/** Keras's white-listed image extensions (`Iterator.white_list_formats`), matched case-insensitively. */
export const ALLOWED_FORMATS: readonly string[] = ['png', 'jpg', 'jpeg', 'bmp', 'ppm', 'tif', 'tiff'];

/** Default for {@link LoadImageOptions.limitInputPixels}: 0x3FFF × 0x3FFF, sharp's own default. */
export const DEFAULT_PIXEL_LIMIT = 0x3fff * 0x3fff;

/**
 * Default for {@link LoadImageOptions.maxDecodePixels}, derived from this machine's memory: up to
 * 64 decodes can be in flight (8 worker threads × 8 jobs), so each may use 1/64 of the RAM, at
 * about 12 bytes a pixel (RGB as float32 while resizing); clamped to 16–64 million pixels.
 */
export const DEFAULT_MAX_DECODE_PIXELS = Math.min(64 * 2 ** 20, Math.max(16 * 2 ** 20, Math.floor(os.totalmem() / 64 / 12)));

/** Channels per colour mode. */
export function channelsOf(colorMode: ColorMode): number {
  return colorMode === 'grayscale' ? 1 : colorMode === 'rgb' ? 3 : 4;
}

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** `'rgb'` (default), `'grayscale'` or `'rgba'`, as Keras `color_mode`. */
  colorMode?: ColorMode;
  /** `[height, width]` to resize to; default: keep the decoded size. */
  targetSize?: [number, number] | null;
  /** Resampling filter, Keras names; default `'nearest'` (as Keras). */
  interpolation?: Interpolation;
  /** Centre-crop to the target aspect ratio before resizing (Keras `keep_aspect_ratio`); default false. */
  keepAspectRatio?: boolean;
  /** Apply the EXIF orientation tag; default true (Keras/PIL does not). */
  autoOrient?: boolean;
  /**
   * Composite transparency onto this colour (any sharp colour: `'#ffffff'`, `{ r, g, b }`) for
   * `'rgb'`/`'grayscale'`; default none: alpha is dropped, as PIL `convert('RGB')` does.
   */
  background?: string | { r: number; g: number; b: number };
  /** Refuse images with more pixels than this (sharp `limitInputPixels`); default 0x3FFF² (≈268 M). */
  limitInputPixels?: number;
  /**
   * With a `targetSize`, an image with more pixels than this is reduced while it is decoded
   * (libvips shrink-on-load, so the full-size pixels never sit in memory) to at most about this
   * many pixels and no less than `targetSize`, then resized PIL-exactly from there: its values are
   * then close to, not bit-identical with, Keras's. Smaller images are untouched. Default
   * {@link DEFAULT_MAX_DECODE_PIXELS} (from the machine's memory). Images with more than
   * {@link BIG_DECODE_PIXELS} source pixels also wait for one of a few process-wide decode slots.
   */
  maxDecodePixels?: number;
}

/** A decoded image: interleaved channels-last float values in 0–255. */
export interface LoadedImage extends ImageArray {
  /** The file it came from. */
  path: string;
}

/** {@link LoadImageOptions} validated and with every default filled in (plain data: it crosses to worker threads). */
export type ResolvedLoadOptions = Required<Omit<LoadImageOptions, 'background' | 'targetSize'>> & {
  targetSize: [number, number] | null;
  background: LoadImageOptions['background'] | null;
};

/** Validates and fills {@link LoadImageOptions}. */
export function resolveLoadOptions(options: LoadImageOptions = {}): ResolvedLoadOptions {
  const colorMode = checkOneOf('colorMode', options.colorMode ?? 'rgb', COLOR_MODES);
  const interpolation = checkOneOf('interpolation', options.interpolation ?? 'nearest', INTERPOLATIONS);
  const ts = options.targetSize ?? null;
  if (ts !== null) {
    if (!Array.isArray(ts) || ts.length !== 2) throw invalidParameterError('targetSize', '[height, width] pair of positive integers', ts);
    checkInteger('targetSize[0]', ts[0], 1);
    checkInteger('targetSize[1]', ts[1], 1);
  }
  return {
    colorMode,
    interpolation,
    targetSize: ts === null ? null : [ts[0], ts[1]],
    keepAspectRatio: options.keepAspectRatio ?? false,
    autoOrient: options.autoOrient ?? true,
    background: options.background ?? null,
    limitInputPixels: checkInteger('limitInputPixels', options.limitInputPixels ?? DEFAULT_PIXEL_LIMIT, 1),
    maxDecodePixels: checkInteger('maxDecodePixels', options.maxDecodePixels ?? DEFAULT_MAX_DECODE_PIXELS, 1),
  };
}

function classify(path: string, err: unknown): ImageDecodeError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) {
    return new ImageDecodeError(path, 'unsupported-format', `the content is not a supported image format (${msg}). Check the file is really an image; remove it or re-export it as PNG/JPEG.`, { cause: err });
  }
  if (/pixel limit/i.test(msg)) {
    return new ImageDecodeError(path, 'too-large', `the image exceeds the pixel limit (${msg}). Raise limitInputPixels if the file is trusted.`, { cause: err });
  }
  return new ImageDecodeError(path, 'corrupt', `the image data is corrupt or truncated (${msg}). Re-download or remove the file.`, { cause: err });
}

/** The Keras `keep_aspect_ratio` crop box (left, top, right, bottom) for a `width × height` source. */
export function aspectCropBox(width: number, height: number, targetHeight: number, targetWidth: number): Box {
  const cropHeight = Math.min(height, Math.floor((width * targetHeight) / targetWidth));
  const cropWidth = Math.min(width, Math.floor((height * targetWidth) / targetHeight));
  const top = Math.floor((height - cropHeight) / 2);
  const left = Math.floor((width - cropWidth) / 2);
  return [left, top, left + cropWidth, top + cropHeight];
}

/** PIL `convert` between L, LA, RGB and RGBA (8-bit exact; float for 16-bit sources). */
export function convertChannels<T extends Uint8Array | Float32Array>(src: RawImage<T>, colorMode: ColorMode, isFloat: boolean): RawImage<T> {
  const inCh = src.channels;
  const outCh = channelsOf(colorMode);
  const n = src.width * src.height;
  if (inCh === outCh) return src;
  const out = (isFloat ? new Float32Array(n * outCh) : new Uint8Array(n * outCh)) as T;
  const d = src.data;
  const maxAlpha = isFloat ? 255 : 255;
  for (let i = 0; i < n; i++) {
    const s = i * inCh;
    const o = i * outCh;
    const grey = inCh <= 2;
    if (outCh === 1) {
      if (grey) out[o] = d[s];
      else if (isFloat) out[o] = 0.299 * d[s] + 0.587 * d[s + 1] + 0.114 * d[s + 2];
      else out[o] = (d[s] * 19595 + d[s + 1] * 38470 + d[s + 2] * 7471 + 0x8000) >>> 16;
    } else {
      const r = d[s];
      const g = grey ? d[s] : d[s + 1];
      const b = grey ? d[s] : d[s + 2];
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      if (outCh === 4) out[o + 3] = inCh === 2 ? d[s + 1] : inCh === 4 ? d[s + 3] : maxAlpha;
    }
  }
  return { data: out, height: src.height, width: src.width, channels: outCh };
}

/**
 * Reads and decodes one image file like Keras `load_img` + `img_to_array`.
 *
 * @param path - image file (PNG, JPEG, BMP, TIFF, WebP, GIF... anything sharp decodes)
 * @param options - see {@link LoadImageOptions}
 * @returns `{ data: Float32Array (0–255), height, width, channels, path }`
 * @throws {ImageDecodeError} for a missing, empty, non-image, corrupt, truncated or oversized file
 * @throws {TypeError} for invalid options
 * @example
 * const img = await loadImage('ct/normal/1.png', { colorMode: 'rgb', targetSize: [224, 224] });
 */
export async function loadImage(path: string, options: LoadImageOptions = {}): Promise<LoadedImage> {
  const opts = resolveLoadOptions(options);
  let img = await decodeImage(path, opts);
  img = convertChannels(img as RawImage<Uint8Array | Float32Array>, opts.colorMode, img.data instanceof Float32Array) as typeof img;
  img = resizeToTarget(img, opts);
  const data = img.data instanceof Float32Array ? img.data : new Float32Array(img.data);
  return { data, height: img.height, width: img.width, channels: img.channels, path };
}

/**
 * Resizes to `opts.targetSize` (PIL-exact, with the `keepAspectRatio` crop), or returns `img` itself when
 * it already has that size or no size is asked for.
 */
export function resizeToTarget<T extends RawImage<Uint8Array> | RawImage<Float32Array>>(img: T, opts: ResolvedLoadOptions): T {
  if (opts.targetSize === null) return img;
  const [th, tw] = opts.targetSize;
  if (img.width === tw && img.height === th) return img;
  return resizeLikePil(img as RawImage<Uint8Array | Float32Array>, tw, th, opts.interpolation, targetBox(img, opts)) as T;
}

/** The source box {@link resizeToTarget} resizes: the `keepAspectRatio` crop, or the whole image. */
function targetBox(img: { width: number; height: number }, opts: ResolvedLoadOptions): Box | undefined {
  const [th, tw] = opts.targetSize as [number, number];
  return opts.keepAspectRatio ? aspectCropBox(img.width, img.height, th, tw) : undefined;
}

/**
 * The resize {@link resizeToTarget} would do, as a {@link NearestSampling} to fold into the final
 * write, when it is a nearest one (`interpolation: 'nearest'`, Keras's default) that changes the
 * size; null when there is nothing to resize or the filter blends pixels.
 *
 * @param img - the decoded image's dimensions and channels
 * @param opts - resolved load options
 * @returns the sampling, or null: call {@link resizeToTarget}
 */
export function nearestTargetSampling(img: { width: number; height: number; channels: number }, opts: ResolvedLoadOptions): NearestSampling | null {
  if (opts.targetSize === null || opts.interpolation !== 'nearest') return null;
  const [th, tw] = opts.targetSize;
  if (img.width === tw && img.height === th) return null;
  return nearestSampling(img, tw, th, targetBox(img, opts));
}

/**
 * Reads and decodes a file with sharp, before any colour-mode conversion or resizing: 8-bit images as
 * `Uint8Array` (1 channel for grey sources, 3 or 4 for colour, 2 for grey + alpha kept for `'rgba'`),
 * 16-bit ones as `Float32Array` scaled by 1/257. Orientation and `background` are applied here.
 *
 * @param path - image file
 * Images over `opts.maxDecodePixels` are reduced on load when a `targetSize` is set (see
 * {@link LoadImageOptions.maxDecodePixels}); big ones wait for a process-wide decode slot.
 *
 * @param path - image file, as printed in messages
 * @param opts - resolved options (`autoOrient`, `background`, `colorMode`, `limitInputPixels`,
 *   `maxDecodePixels`, `targetSize` are used)
 * @param readSync - read the file synchronously (cheaper in CPU; for worker threads); default false
 * @param file - the path as bytes, for a name that is not valid UTF-8 (read instead of `path`); default null
 * @returns the decoded pixels
 * @throws {ImageDecodeError} naming the file
 */
export async function decodeImage(path: string, opts: ResolvedLoadOptions, readSync = false, file: Uint8Array | null = null): Promise<RawImage<Uint8Array> | RawImage<Float32Array>> {
  let buf: Buffer;
  const source = file === null ? path : Buffer.from(file);
  try {
    buf = readSync ? readFileSync(source) : await fs.readFile(source);
  } catch (err) {
    throw new ImageDecodeError(path, 'unreadable', `the file cannot be read (${(err as Error).message}).`, { cause: err });
  }
  if (buf.length === 0) throw new ImageDecodeError(path, 'empty', 'the file is empty (0 bytes). Re-download or remove it.');
  const sharpOpts = { limitInputPixels: opts.limitInputPixels, failOn: 'truncated' as const };
  let header = sniffHeader(buf);
  let meta: sharp.Metadata | undefined;
  const readMeta = async (): Promise<sharp.Metadata> => {
    try {
      return await openImage(buf, sharpOpts).metadata();
    } catch (err) {
      throw classify(path, err);
    }
  };
  if (header === null) {
    meta = await readMeta();
    header = { is16: meta.depth === 'ushort', channels: meta.channels ?? 3, hasAlpha: meta.hasAlpha === true, width: meta.width ?? 0, height: meta.height ?? 0 };
  }
  const pixels = header.width * header.height;
  if (pixels > opts.limitInputPixels) {
    throw new ImageDecodeError(path, 'too-large', `the image has ${header.width}×${header.height} = ${pixels} pixels, over limitInputPixels (${opts.limitInputPixels}). Raise limitInputPixels if the file is trusted.`);
  }
  // Oversized for the target: reduce while decoding, so the full-size pixels never sit in memory.
  let shrinkTo: [number, number] | null = null;
  if (opts.targetSize !== null && pixels > opts.maxDecodePixels) {
    meta ??= await readMeta();
    let [w, h] = [meta.width ?? header.width, meta.height ?? header.height];
    if (opts.autoOrient && (meta.orientation ?? 1) >= 5) [w, h] = [h, w];
    const [th, tw] = opts.targetSize;
    const byBudget = Math.ceil(Math.sqrt((w * h) / opts.maxDecodePixels));
    const byTarget = Math.max(1, Math.floor(Math.min(w / tw, h / th)));
    const k = Math.max(1, Math.min(byBudget, byTarget));
    if (k > 1) shrinkTo = [Math.max(1, Math.round(w / k)), Math.max(1, Math.round(h / k))];
  }
  const release = pixels > BIG_DECODE_PIXELS ? await acquireBigDecode() : null;
  try {
    return await decodePixels(buf, path, header, opts, sharpOpts, shrinkTo);
  } finally {
    release?.();
  }
}

let sharpCacheOff = false;

/**
 * `sharp(buf, options)`, the one way this module opens an image: libvips's operation cache is
 * turned off first, once per process. The cache keeps up to 50 MB of results keyed on the input
 * buffer, and every decode here has a new buffer, so it never hits. Measured on 256 PNGs of
 * 256×256 (8 decodes at a time): 0.62–0.84 ms of CPU per image against 0.75–0.90 with the cache.
 * The setting is libvips's, for the whole process; calling `sharp.cache(...)` afterwards sets it again.
 */
function openImage(buf: Buffer, options: sharp.SharpOptions): sharp.Sharp {
  if (!sharpCacheOff) {
    sharpCacheOff = true;
    sharp.cache(false);
  }
  return sharp(buf, options);
}

async function decodePixels(
  buf: Buffer,
  path: string,
  header: Header,
  opts: ResolvedLoadOptions,
  sharpOpts: sharp.SharpOptions,
  shrinkTo: [number, number] | null,
): Promise<RawImage<Uint8Array> | RawImage<Float32Array>> {
  const { is16, hasAlpha } = header;
  if (!is16 && !hasAlpha && shrinkTo === null) {
    // The plainest PNGs decode here, to the bytes sharp gives (see png-fast.ts); null for all else.
    const plain = decodePlainPng(buf, opts.limitInputPixels);
    if (plain !== null) return plain;
  }
  const srcGrey = header.channels <= 2;
  let pipe = openImage(buf, sharpOpts);
  if (opts.autoOrient) pipe = pipe.rotate();
  if (shrinkTo !== null) pipe = pipe.resize({ width: shrinkTo[0], height: shrinkTo[1], fit: 'fill' });
  const flatten = hasAlpha && opts.background !== null && opts.colorMode !== 'rgba';
  if (flatten) pipe = pipe.flatten({ background: opts.background as sharp.Color });
  // Keep grey sources single-channel (drops alpha) unless RGBA output needs the alpha channel.
  const keepGrey = srcGrey && !(opts.colorMode === 'rgba' && hasAlpha);
  pipe = pipe.toColourspace(keepGrey ? (is16 ? 'grey16' : 'b-w') : is16 ? 'rgb16' : 'srgb');
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await pipe.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw classify(path, err);
  }
  const { width, height, channels } = raw.info;
  if (is16) {
    const u16 = new Uint16Array(raw.data.buffer, raw.data.byteOffset, raw.data.length / 2);
    const f = new Float32Array(u16.length);
    for (let i = 0; i < u16.length; i++) f[i] = u16[i] / 257;
    return { data: f, width, height, channels };
  }
  return { data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length), width, height, channels };
}

/** What `decodeImage` needs to know before decoding: sample depth, channel count and alpha, as sharp's metadata. */
interface Header {
  is16: boolean;
  channels: number;
  hasAlpha: boolean;
  /** Stored width and height (before EXIF orientation). */
  width: number;
  height: number;
}

/**
 * Reads depth, channels, alpha and the stored size from the first bytes of the two formats of the chest-CT dataset,
 * only in the cases where they are unambiguous (and equal to what sharp's `metadata()` reports):
 * 8-bit PNG of colour type grey/RGB without a `tRNS` chunk, grey+alpha or RGBA; baseline/progressive
 * 8-bit JPEG with 1 or 3 components. Anything else returns null and the caller asks sharp.
 * Saves a second libvips open per image.
 */
export function sniffHeader(buf: Buffer): Header | null {
  if (buf.length >= 33 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a && buf.toString('latin1', 12, 16) === 'IHDR') {
    const depth = buf[24];
    const colorType = buf[25];
    if (depth !== 8) return null;
    const channels = colorType === 0 ? 1 : colorType === 2 ? 3 : colorType === 4 ? 2 : colorType === 6 ? 4 : 0;
    if (channels === 0) return null;
    if (colorType === 0 || colorType === 2) {
      // A tRNS chunk (before IDAT) gives grey/RGB an alpha channel.
      let pos = 8;
      for (;;) {
        if (pos + 8 > buf.length) return null;
        const len = buf.readUInt32BE(pos);
        const type = buf.toString('latin1', pos + 4, pos + 8);
        if (type === 'tRNS') return null;
        if (type === 'IDAT') break;
        pos += 12 + len;
      }
    }
    return { is16: false, channels, hasAlpha: channels === 2 || channels === 4, width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  }
  if (buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8) {
    let pos = 2;
    while (pos + 9 < buf.length) {
      if (buf[pos] !== 0xff) return null;
      const marker = buf[pos + 1];
      if (marker === 0xff) {
        pos += 1;
        continue;
      }
      const len = buf.readUInt16BE(pos + 2);
      if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
        const precision = buf[pos + 4];
        const components = buf[pos + 9];
        if (precision !== 8 || (components !== 1 && components !== 3)) return null;
        return { is16: false, channels: components, hasAlpha: false, width: buf.readUInt16BE(pos + 7), height: buf.readUInt16BE(pos + 5) };
      }
      if (marker === 0xda || marker === 0xd9 || (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)) return null;
      pos += 2 + len;
    }
  }
  return null;
}

/**
 * Checks that a file decodes, without keeping the pixels (a full decode, so truncation is caught).
 *
 * @param path - image file, as printed in messages
 * @param limitInputPixels - refuse images with more pixels; default 0x3FFF²
 * @param file - the path as bytes, for a name that is not valid UTF-8; default null
 * @returns `null` when it decodes, else the {@link ImageDecodeError}
 */
export async function checkImage(path: string, limitInputPixels = DEFAULT_PIXEL_LIMIT, file: Uint8Array | null = null): Promise<ImageDecodeError | null> {
  let release: (() => void) | null = null;
  try {
    let buf: Buffer;
    try {
      buf = await fs.readFile(file === null ? path : Buffer.from(file));
    } catch (err) {
      return new ImageDecodeError(path, 'unreadable', `the file cannot be read (${(err as Error).message}).`, { cause: err });
    }
    if (buf.length === 0) return new ImageDecodeError(path, 'empty', 'the file is empty (0 bytes). Re-download or remove it.');
    const meta = await openImage(buf, { limitInputPixels, failOn: 'truncated' }).metadata();
    if ((meta.width ?? 0) * (meta.height ?? 0) > BIG_DECODE_PIXELS) release = await acquireBigDecode();
    await openImage(buf, { limitInputPixels, failOn: 'truncated' }).raw().toBuffer();
    return null;
  } catch (err) {
    return err instanceof ImageDecodeError ? err : classify(path, err);
  } finally {
    release?.();
  }
}

/** True when `filename` has one of Keras's allowed extensions (case-insensitive, after a dot). */
export function hasAllowedExtension(filename: string): boolean {
  const dot = filename.lastIndexOf('.');
  if (dot < 0) return false;
  return ALLOWED_FORMATS.includes(filename.slice(dot + 1).toLowerCase());
}
