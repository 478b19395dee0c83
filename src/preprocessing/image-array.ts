/**
 * The plain image type of the preprocessing area: interleaved channels-last float32 values, what
 * the transforms (`affine.ts`, `photometric.ts`) and `ImageDataGenerator` work on.
 */

/** An image as interleaved channels-last float data: `data[(row * width + col) * channels + ch]`. */
export interface ImageArray {
  /** Pixel values, length `height * width * channels`. */
  data: Float32Array;
  /** Number of rows. */
  height: number;
  /** Number of columns. */
  width: number;
  /** Number of channels (1 grayscale, 3 RGB, 4 RGBA). */
  channels: number;
}
