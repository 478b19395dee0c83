/**
 * A decoder for the plainest PNGs — 8-bit greyscale or RGB, not interlaced, no transparency, no
 * colour profile, valid checksums — in this thread, with Node's zlib: the same bytes libvips
 * (through sharp) gives for such a file, at a fraction of its cost (measured here on 256×256 RGB
 * PNGs through `decodeImage`, one at a time: 0.14–0.27 ms of CPU per image against 1.10–1.47 ms through sharp, whose
 * decode also hops onto libuv's thread pool). Prediction over a folder decodes every image
 * once per pass, on the same two cores as ONNX Runtime, so each millisecond here is taken from
 * the model.
 *
 * Anything else returns null and the caller decodes with sharp, which also reports every error:
 * this module never decides that a file is broken, so its errors and messages stay sharp's. A file
 * takes the fast path only when every chunk is well formed, its CRC matches, the chunks are among
 * those that cannot change the pixels (below), the IDAT chunks are consecutive, the zlib stream
 * inflates to exactly the rows the header announces, and every row's filter byte is valid.
 * No Keras original (Keras decodes with PIL).
 */
import { crc32, inflateSync } from 'node:zlib';
import type { RawImage } from './resize';

/**
 * Chunks besides IHDR, IDAT and IEND that leave a greyscale or RGB image's decoded pixels as they
 * are in libvips (a test checks each against sharp): text, physical size, time, and the sRGB
 * intent and gamma, which libvips records but does not apply. Any other chunk — iCCP (sharp converts
 * through the profile), tRNS (alpha), eXIf (orientation), PLTE, unknown ones — means sharp decodes.
 */
const PLAIN_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt', 'pHYs', 'tIME', 'sRGB', 'gAMA']);

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes `buf` when it is a plain PNG (see the module's comment), else returns null.
 *
 * @param buf - the file's bytes
 * @param maxPixels - refuse (return null for) images with more pixels than this; default 2³¹ − 1
 * @returns the pixels, row-major, 1 channel (greyscale) or 3 (RGB), or null: decode with sharp
 * @example
 * const img = decodePlainPng(fs.readFileSync('scan.png'));
 * if (img === null) console.log('not a plain PNG: decode it with sharp');
 */
export function decodePlainPng(buf: Buffer, maxPixels = 2 ** 31 - 1): RawImage<Uint8Array> | null {
  if (buf.length < 8 + 25 + 12 || !buf.subarray(0, 8).equals(SIGNATURE)) return null;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  let idatEnded = false;
  let pos = 8;
  for (let index = 0; ; index++) {
    if (pos + 12 > buf.length) return null;
    const len = buf.readUInt32BE(pos);
    if (len > 0x7fffffff || pos + 12 + len > buf.length) return null;
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== buf.readUInt32BE(pos + 8 + len)) return null;
    pos += 12 + len;
    if (index === 0) {
      if (type !== 'IHDR' || len !== 13) return null;
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colorType, compression, filter, interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (width === 0 || height === 0 || width * height > maxPixels) return null;
      if (depth !== 8 || (colorType !== 0 && colorType !== 2) || compression !== 0 || filter !== 0 || interlace !== 0) return null;
      channels = colorType === 0 ? 1 : 3;
      continue;
    }
    if (type === 'IDAT') {
      if (idatEnded) return null;
      idat.push(data);
      continue;
    }
    if (idat.length > 0) idatEnded = true;
    if (type === 'IEND') {
      if (len !== 0 || idat.length === 0 || pos !== buf.length) return null;
      break;
    }
    if (!PLAIN_CHUNKS.has(type)) return null;
  }
  const stride = width * channels;
  const expected = height * (stride + 1);
  let raw: Buffer;
  try {
    // One output chunk of exactly the expected size: zlib then writes the rows in place (its
    // default 16 KiB chunks are joined by a copy at the end; measured here on a 256×256 RGB image:
    // 0.07 ms instead of 0.15 ms).
    raw = inflateSync(idat.length === 1 ? (idat[0] as Buffer) : Buffer.concat(idat), { maxOutputLength: expected, chunkSize: Math.max(64, expected) });
  } catch {
    return null; // corrupt, or more data than the rows: sharp says which
  }
  if (raw.length !== expected) return null;
  const out = new Uint8Array(height * stride);
  return unfilter(raw, out, height, stride, channels) ? { data: out, width, height, channels } : null;
}

/**
 * Reverses PNG's per-row filters (None, Sub, Up, Average, Paeth; filter method 0) from `raw` (each
 * row led by its filter byte) into `out`. Returns false on an unknown filter byte.
 */
function unfilter(raw: Buffer, out: Uint8Array, height: number, stride: number, bpp: number): boolean {
  let p = 0;
  for (let y = 0, o = 0; y < height; y++, o += stride) {
    const filter = raw[p++] as number;
    const up = o - stride; // the previous row in `out` (unused on the first row)
    const first = y === 0;
    switch (filter) {
      case 0:
        out.set(raw.subarray(p, p + stride), o);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) out[o + i] = raw[p + i] as number;
        for (let i = bpp; i < stride; i++) out[o + i] = ((raw[p + i] as number) + (out[o + i - bpp] as number)) & 255;
        break;
      case 2:
        if (first) out.set(raw.subarray(p, p + stride), o);
        else for (let i = 0; i < stride; i++) out[o + i] = ((raw[p + i] as number) + (out[up + i] as number)) & 255;
        break;
      case 3:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? (out[o + i - bpp] as number) : 0;
          const b = first ? 0 : (out[up + i] as number);
          out[o + i] = ((raw[p + i] as number) + ((a + b) >> 1)) & 255;
        }
        break;
      case 4:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? (out[o + i - bpp] as number) : 0;
          const b = first ? 0 : (out[up + i] as number);
          const c = first || i < bpp ? 0 : (out[up + i - bpp] as number);
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          out[o + i] = ((raw[p + i] as number) + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
        }
        break;
      default:
        return false;
    }
    p += stride;
  }
  return true;
}
