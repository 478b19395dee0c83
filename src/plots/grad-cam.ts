/**
 * Grad-CAM overlays: each image in grey with its heat map in a jet palette on top (the Keras
 * example superimposes the same way), the true lesion box outlined when known, and the predicted
 * class with its probability as the caption — drawn through the image grid, like the other grids.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradCamImages, GradCamResult, HeatmapBox } from '../training/grad-cam';
import { checkInteger, checkNumber, invalidParameterError } from '../util/validate';
import { displayImageGrid, gridImageBytes, type GridImage } from './image-grid';

/** Options of {@link gradCamOverlays} and {@link displayGradCam}. */
export interface GradCamOverlayArgs {
  /** Images to draw, by position in the batch. Default: all (at most 16). */
  indices?: number[];
  /** Class names by index, for the captions. Default: the indices. */
  classNames?: string[];
  /** True class of each image: the caption adds it. Default none. */
  labels?: ArrayLike<number>;
  /** True box of each image in input pixels (`null`: none), outlined in green. Default none. */
  boxes?: ReadonlyArray<HeatmapBox | null>;
  /** Weight of the heat colours over the grey image, in [0, 1]. Default 0.45. */
  alpha?: number;
  /** Value range of the images' pixels. Default: guessed as the image grid does ([0, 1] after `rescale: 1/255`). */
  valueRange?: [number, number];
}

/** Options of {@link displayGradCam}: the overlays' and the grid's. */
export interface DisplayGradCamArgs extends GradCamOverlayArgs {
  /** Tiles per row. Default 4. */
  columns?: number;
  /** Magnification of each tile. Default 2. */
  scale?: number;
  /** Whether to display the PNG (false only builds it). Default true. */
  show?: boolean;
}

/** The jet palette at t ∈ [0, 1]: blue → cyan → yellow → red. */
function jet(t: number): [number, number, number] {
  const c = (v: number) => Math.max(0, Math.min(1, v));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

function imageOf(images: GradCamImages, i: number): GridImage {
  if ('xs' in images) {
    const [, h, w, c] = images.shape;
    return { data: images.xs.subarray(i * h * w * c, (i + 1) * h * w * c), height: h, width: w, channels: c };
  }
  const [, h, w, c] = images.shape;
  return { data: tf.tidy(() => images.slice([i, 0, 0, 0], [1, -1, -1, -1]).dataSync() as Float32Array), height: h, width: w, channels: c };
}

/**
 * Builds one RGB tile per chosen image: grey image, heat map blended in, true box outlined,
 * caption `predicted p%` and, on a second line, `true <class>`.
 *
 * @param images - the images `gradCam` explained
 * @param cam - its result
 * @param args - see {@link GradCamOverlayArgs}
 * @returns tiles for `displayImageGrid`
 * @throws TypeError for indices out of range or a map of another size
 * @example
 * const tiles = tl.gradCamOverlays(test, cam, { indices: [0, 5], classNames: ['adeno', 'large', 'normal', 'squam'] });
 */
export function gradCamOverlays(images: GradCamImages, cam: GradCamResult, args: GradCamOverlayArgs = {}): GridImage[] {
  const n = cam.heatmaps.length;
  const indices = args.indices ?? Array.from({ length: Math.min(16, n) }, (_, i) => i);
  const alpha = checkNumber('alpha', args.alpha ?? 0.45, 0, 1);
  const [, h, w] = images.shape;
  if (h !== cam.height || w !== cam.width) throw invalidParameterError('cam', `maps of ${h}×${w} (the images' size)`, `${cam.height}×${cam.width}`);
  return indices.map((i) => {
    checkInteger('indices[]', i, 0, n - 1);
    const img = imageOf(images, i);
    const grey = gridImageBytes(img, i, args.valueRange);
    const map = cam.heatmaps[i];
    const rgb = new Uint8Array(h * w * 3);
    for (let p = 0; p < h * w; p++) {
      let g = 0;
      for (let c = 0; c < Math.min(3, img.channels); c++) g += grey[p * img.channels + c];
      g /= Math.min(3, img.channels) * 255;
      const [r, gg, b] = jet(map[p]);
      const a = alpha * Math.sqrt(map[p]); // cold areas stay mostly grey
      rgb[p * 3] = Math.round(255 * ((1 - a) * g + a * r));
      rgb[p * 3 + 1] = Math.round(255 * ((1 - a) * g + a * gg));
      rgb[p * 3 + 2] = Math.round(255 * ((1 - a) * g + a * b));
    }
    const box = args.boxes?.[i];
    if (box) {
      const x0 = Math.max(0, Math.min(w - 1, Math.floor(box.x0)));
      const x1 = Math.max(0, Math.min(w - 1, Math.ceil(box.x1) - 1));
      const y0 = Math.max(0, Math.min(h - 1, Math.floor(box.y0)));
      const y1 = Math.max(0, Math.min(h - 1, Math.ceil(box.y1) - 1));
      const dot = (x: number, y: number) => rgb.set([40, 220, 60], (y * w + x) * 3);
      for (let x = x0; x <= x1; x++) { dot(x, y0); dot(x, y1); }
      for (let y = y0; y <= y1; y++) { dot(x0, y); dot(x1, y); }
    }
    const name = (c: number) => args.classNames?.[c] ?? String(c);
    const predicted = cam.classIndices[i];
    const out = cam.outputs[i];
    const predictedOut = out.indexOf(Math.max(...out));
    const shown = predicted === predictedOut ? `${name(predicted)} ${(100 * out[predicted]).toFixed(0)}%` : `${name(predicted)} (explained)`;
    const truth = args.labels ? `\ntrue ${name(args.labels[i])}` : '';
    return { data: rgb, height: h, width: w, channels: 3, title: `${shown}${truth}` };
  });
}

/**
 * Shows Grad-CAM overlays as one image grid (PNG), see {@link gradCamOverlays}.
 *
 * @param images - the images `gradCam` explained
 * @param cam - its result
 * @param args - see {@link DisplayGradCamArgs}
 * @returns the PNG bytes
 * @example
 * await tl.displayGradCam(test, cam, { indices: wrong.slice(0, 4), classNames, labels: test.labels, boxes });
 */
export async function displayGradCam(images: GradCamImages, cam: GradCamResult, args: DisplayGradCamArgs = {}): Promise<Buffer> {
  const tiles = gradCamOverlays(images, cam, args);
  return displayImageGrid(tiles, { columns: args.columns ?? Math.min(4, tiles.length), scale: args.scale ?? 2, show: args.show ?? true });
}
