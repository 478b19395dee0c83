/**
 * One image of a `DirectoryIterator` batch, from file to float pixels in a single pass: Keras
 * `load_img` + `img_to_array`, then the generator's compiled `apply_transform` (+ rescale) from
 * `image-transform.ts` — the same function `ImageDataGenerator.applyTransform` runs — written
 * straight into the caller's batch buffer. Runs in the main thread or in a worker thread
 * (`image-worker.ts`); a job is plain data, so both give the same bits.
 *
 * Less work, same values: a grey source asked for as RGB is resized and transformed on its one
 * channel and replicated at the end (PIL's L→RGB replicates, and every later step treats channels
 * alike and identically); the 8-bit resized pixels are sampled directly (no float copy); a nearest
 * resize is not done at all, but folded into the final write (the pixels it would pick are read
 * straight from the decoded image).
 */
import { ImageDecodeError } from './errors';
import { type ResolvedLoadOptions, channelsOf, convertChannels, decodeImage, nearestTargetSampling, resizeToTarget } from './image-io';
import { type ImageTransform, applyImageTransform } from './image-transform';
import type { RawImage } from './resize';

/** Everything needed to turn one file into its batch slot (structured-cloneable): the file, how to load it, and its compiled transformation. */
export interface ImageJob extends ImageTransform {
  /** The image file, as printed in messages. */
  path: string;
  /** The file's path as bytes, when its name is not valid UTF-8 (`path` then shows it with U+FFFD); null otherwise. */
  file?: Uint8Array | null;
  /** Resolved load options; `targetSize` must be set. */
  load: ResolvedLoadOptions;
}

/**
 * Decodes, resizes, transforms and rescales one image into `out[offset .. offset + h·w·c)`.
 *
 * @param job - see {@link ImageJob}
 * @param out - destination; default a new array of exactly one image
 * @param offset - first index written; default 0
 * @param readSync - read the file synchronously (worker threads); default false
 * @returns `out`
 * @throws {ImageDecodeError} naming the file when it cannot be decoded
 */
export async function renderImageFile(job: ImageJob, out?: Float32Array, offset = 0, readSync = false): Promise<Float32Array> {
  const raw = await decodeImage(job.path, job.load, readSync, job.file ?? null);
  return renderDecoded(raw, job, out, offset);
}

/** The synchronous part of {@link renderImageFile}, after decoding. */
export function renderDecoded(raw: RawImage<Uint8Array> | RawImage<Float32Array>, job: ImageJob, out?: Float32Array, offset = 0): Float32Array {
  const opts = job.load;
  if (opts.targetSize === null) throw new RangeError('renderDecoded needs a targetSize.');
  const [th, tw] = opts.targetSize;
  const outCh = channelsOf(opts.colorMode);
  const isFloat = raw.data instanceof Float32Array;
  let img = raw;
  // Replicating a grey channel commutes with everything below; other conversions happen first, as PIL.
  if (!(img.channels === 1 && outCh === 3)) img = convertChannels(img as RawImage<Uint8Array | Float32Array>, opts.colorMode, isFloat) as typeof img;
  // A nearest resize (Keras's default) is folded into the final write: one pass, no 8-bit copy.
  const sampling = nearestTargetSampling(img, opts) ?? undefined;
  if (sampling === undefined) img = resizeToTarget(img, opts);
  const [rh, rw] = sampling === undefined ? [img.height, img.width] : [sampling.rows.length, sampling.cols.length];
  if (rh !== th || rw !== tw) {
    throw new ImageDecodeError(job.path, 'corrupt', `decoded to ${rh}×${rw}×${img.channels}, expected ${th}×${tw}×${outCh}.`);
  }
  const size = th * tw * outCh;
  const dst = out ?? new Float32Array(size);
  if (dst.length < offset + size) throw new RangeError(`Output buffer of ${dst.length} values cannot hold an image of ${size} at ${offset}.`);
  applyImageTransform(img, job, { out: dst, offset, outChannels: outCh }, sampling);
  return dst;
}
