/**
 * Turning what a notebook has at hand — a batch tensor, or a list of image files — into tiles for
 * {@link displayImageGrid}.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { GridImage } from './image-grid';
import { checkInteger } from '../util/validate';
import { ImageDecodeError } from '../preprocessing/errors';

/** Options for {@link batchToGridImages}. */
export interface BatchToGridImagesArgs {
  /** At most this many images, from the start of the batch. Default: the whole batch. */
  limit?: number;
  /** Caption of each image, in batch order. Default none. */
  titles?: string[];
}

/**
 * Copies the first images of a `[batch, height, width, channels]` tensor into grid tiles. Pixel
 * values are kept as they are (the grid maps `[0, 1]`, `[-1, 1]` or `[0, 255]` to grey levels).
 *
 * @param xs - a rank-4 batch, e.g. `(await iterator.next()).xs`; not disposed (the caller owns it)
 * @param args - see {@link BatchToGridImagesArgs}
 * @returns one {@link GridImage} per image
 * @throws TypeError when `xs` is not rank 4
 * @example
 * const batch = await trainFlow.next();
 * await displayImageGrid(batchToGridImages(batch.xs, { limit: 8 }), { columns: 4 });
 */
export function batchToGridImages(xs: tf.Tensor, args: BatchToGridImagesArgs = {}): GridImage[] {
  if (xs.rank !== 4) throw new TypeError(`Expected a [batch, height, width, channels] tensor but received shape [${xs.shape.join(', ')}]`);
  const [batch, height, width, channels] = xs.shape as [number, number, number, number];
  const count = Math.min(batch, args.limit ?? batch);
  checkInteger('limit', count, 0);
  const values = xs.dataSync() as Float32Array;
  const size = height * width * channels;
  const out: GridImage[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ data: values.slice(i * size, (i + 1) * size), height, width, channels, title: args.titles?.[i] });
  }
  return out;
}

/** Options for {@link loadGridImages}. */
export interface LoadGridImagesArgs {
  /** Longest side of each tile in pixels. Default 160. */
  size?: number;
  /** Caption of each image. Default: none. */
  titles?: string[];
}

/**
 * Reads image files as grid tiles (greyscale or RGB as stored, resized to fit `size`).
 *
 * @param files - image paths
 * @param args - see {@link LoadGridImagesArgs}
 * @returns tiles with 0–255 pixels
 * @throws ImageDecodeError naming the file when sharp cannot decode it
 * @example
 * await displayImageGrid(await loadGridImages(worst.map((w) => w.filepath)), { columns: 4 });
 */
export async function loadGridImages(files: string[], args: LoadGridImagesArgs = {}): Promise<GridImage[]> {
  const size = checkInteger('size', args.size ?? 160, 1);
  return Promise.all(
    files.map(async (file, i) => {
      try {
        const { data, info } = await sharp(file).rotate().resize(size, size, { fit: 'inside' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), height: info.height, width: info.width, channels: info.channels, title: args.titles?.[i] };
      } catch (error) {
        throw new ImageDecodeError(file, 'unreadable', `could not read it for display: ${(error as Error).message}`, { cause: error });
      }
    }),
  );
}
