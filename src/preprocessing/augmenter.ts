/**
 * What a `DirectoryIterator` asks of the generator that made it, as Keras's iterator calls
 * `image_data_generator.get_random_transform(...)` and `.standardize(...)` and reads its
 * `fill_mode`. The iterator depends on this contract only, not on `ImageDataGenerator`, so the
 * generator can create iterators (`flowFromDirectory`) without an import cycle.
 * `ImageDataGenerator` implements it.
 */
import type * as tf from '@tensorflow/tfjs';
import type { FillMode, ImageArray } from './affine';
import type { Random } from '../util/random';

/** Parameters of one random transformation, as Keras `get_random_transform` returns them. */
export interface TransformParams {
  /** Rotation, degrees. */
  theta: number;
  /** Shift drawn from `heightShiftRange` (pixels); applied along columns, as Keras 3 does. */
  tx: number;
  /** Shift drawn from `widthShiftRange` (pixels); applied along rows, as Keras 3 does. */
  ty: number;
  /** Shear, degrees. */
  shear: number;
  /** Zoom along columns. */
  zx: number;
  /** Zoom along rows. */
  zy: number;
  /** Flip left–right. */
  flipHorizontal: boolean;
  /** Flip top–bottom. */
  flipVertical: boolean;
  /** Channel shift, or null. */
  channelShiftIntensity: number | null;
  /** Brightness factor, or null. */
  brightness: number | null;
}

/** The part of an `ImageDataGenerator` a `DirectoryIterator` uses (see the module comment). */
export interface ImageAugmenter {
  /** Points outside the input are filled per Keras's `fill_mode`. */
  readonly fillMode: FillMode;
  /** Value used for `fillMode: 'constant'`. */
  readonly cval: number;
  /** Multiplier applied last by `standardize`, or null. */
  readonly rescale: number | null;
  /** Applied to each image after augmentation, before `rescale`, or null. */
  readonly preprocessingFunction: ((x: tf.Tensor3D) => tf.Tensor3D) | null;
  /** Fraction of each class kept for `subset: 'validation'`. */
  readonly validationSplit: number;
  /** True when no random augmentation is configured. */
  readonly deterministic: boolean;
  /** A stable description of `standardize`, for cache keys. */
  readonly standardizeKey: string;
  /** Draws the parameters of one random transformation (Keras `get_random_transform`). */
  getRandomTransform(imgShape: readonly number[], seed?: number | Random): TransformParams;
  /** Applies the preprocessing function and `rescale` to one image (Keras `standardize`). */
  standardize(x: ImageArray): ImageArray;
}
