/**
 * What a `DirectoryIterator` asks of the generator that made it, as Keras's iterator calls
 * `image_data_generator.get_random_transform(...)`, `.apply_transform(...)` and `.standardize(...)`:
 * the generator draws the parameters, compiles its own per-image work (the one `applyTransform` of
 * `image-transform.ts`, with the rescale folded in where `standardize` is plain rescaling) and
 * standardizes what could not be compiled. The iterator reads none of the generator's settings.
 * It depends on this contract only, not on `ImageDataGenerator`, so the generator can create
 * iterators (`flowFromDirectory`) without an import cycle. `ImageDataGenerator` implements it.
 */
import type { ImageArray } from './image-array';
import type { ImageTransform, TransformParams } from './image-transform';
import type { Random } from '../util/random';

export type { TransformParams } from './image-transform';

/** The part of an `ImageDataGenerator` a `DirectoryIterator` uses (see the module comment). */
export interface ImageAugmenter {
  /** Fraction of each class kept for `subset: 'validation'`. */
  readonly validationSplit: number;
  /** True when no random augmentation is configured. */
  readonly deterministic: boolean;
  /** A stable description of `standardize`, for cache keys. */
  readonly standardizeKey: string;
  /** Draws the parameters of one random transformation (Keras `get_random_transform`). */
  getRandomTransform(imgShape: readonly number[], seed?: number | Random): TransformParams;
  /**
   * The per-image work for `params` on an image of `imgShape`: `apply_transform`, plus the rescale
   * of `standardize` when {@link standardizeCompiled} (plain data, run by `applyImageTransform`).
   */
  compileTransform(params: TransformParams, imgShape: readonly number[]): ImageTransform;
  /** True when `compileTransform` includes all of `standardize`; false when `standardize` must still run here (a preprocessing function). */
  readonly standardizeCompiled: boolean;
  /** Applies the preprocessing function and `rescale` to one image (Keras `standardize`). */
  standardize(x: ImageArray): ImageArray;
}
