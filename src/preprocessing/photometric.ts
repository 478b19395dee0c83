/**
 * The photometric steps of Keras's `apply_transform`, ported from
 * `keras/src/legacy/preprocessing/image.py` (`apply_channel_shift`, `apply_brightness_shift`):
 * element-wise with the image's global min/max, no resampling (the geometric steps are in `affine.ts`).
 */
import type { ImageArray } from './image-array';

/** The smallest and largest value (numpy's `min()`/`max()` over all channels). */
function rangeOf(data: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/**
 * Keras `apply_channel_shift`: adds `intensity` to every channel, clipped to the image's own
 * `[min, max]` (taken over all channels before the shift).
 *
 * @param image - input (not modified)
 * @param intensity - value added
 * @returns a new image
 */
export function applyChannelShift(image: ImageArray, intensity: number): ImageArray {
  const { data } = image;
  const [min, max] = rangeOf(data);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] + intensity;
    out[i] = v < min ? min : v > max ? max : v;
  }
  return { ...image, data: out };
}

/**
 * Keras `apply_brightness_shift(x, brightness, scale=False)`, which goes through PIL: the image is cast
 * to 8 bits (truncating; min–max scaled to 0–255 first when it lies outside [0, 255]), blended with
 * black by PIL's `ImageEnhance.Brightness` (float32 factor, truncation, clipping to [0, 255]), and
 * mapped back to its original range when it had been scaled.
 *
 * @param image - input (not modified)
 * @param brightness - factor; 1 keeps the image, 0 gives black
 * @returns a new image
 */
export function applyBrightnessShift(image: ImageArray, brightness: number): ImageArray {
  const { data } = image;
  const [min, max] = rangeOf(data);
  const localScale = min < 0 || max > 255;
  const factor = Math.fround(brightness);
  const range = Math.fround(max - min);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    let v = data[i];
    if (localScale) {
      // array_to_img(scale=True): x - min, / max (if non-zero), * 255 — in float32 like numpy.
      v = Math.fround(v - min);
      if (range !== 0) v = Math.fround(v / range);
      v = Math.fround(v * 255);
    }
    const u8 = Math.trunc(v) & 0xff; // astype('uint8')
    const t = Math.fround(factor * u8);
    let res = t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
    if (localScale) res = Math.fround(Math.fround(res / 255) * range) + min;
    out[i] = res;
  }
  return { ...image, data: out };
}
