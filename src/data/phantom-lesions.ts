/**
 * The phantom's ground truth: `Data/lesions.json`, written by `chestCtPhantom` beside the split
 * folders, says where each image's finding was drawn. No real dataset gives this for free; with it
 * an explanation of a prediction (a Grad-CAM heat map) can be scored, not only looked at.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferlabError } from '../util/errors';
import type { LesionBox } from './phantom-render';

/** File name of the lesions file inside the phantom's `Data/` folder. */
export const PHANTOM_LESIONS_FILE = 'lesions.json';

/** A lesion's box in the stored image's pixels, as the renderer reports it (see `LesionBox`). */
export type PhantomLesionBox = LesionBox;

/** One image of the lesions file. */
export interface PhantomLesionEntry {
  /** The finding drawn (the class, in the phantom's short names). */
  finding: string;
  /** Stored image size in pixels. */
  width: number;
  height: number;
  /** Where it was drawn; `null` for a normal slice. */
  lesion: PhantomLesionBox | null;
}

/** The lesions file. */
export interface PhantomLesions {
  format: 'transferlab-phantom-lesions';
  version: 1;
  /** The dataset the phantom imitates. */
  dataset: string;
  /** The phantom's seed. */
  seed: number;
  /** How to read the boxes. */
  coordinates: string;
  /** Per image, keyed by its path relative to `Data/` with `/` separators (e.g. `test/normal/n12.png`). */
  images: Record<string, PhantomLesionEntry>;
}

/** A folder has no (readable) phantom lesions file, or an image is not listed in it. */
export class LesionsUnavailableError extends TransferlabError {
  /**
   * @param message - what is missing and what to do
   * @param path - the lesions file or image concerned
   */
  constructor(message: string, readonly path: string) {
    super(message);
  }
}

/**
 * Reads `lesions.json` from the phantom's `Data/` folder (the folder holding `train/`, `valid/`, `test/`).
 *
 * @param dataRoot - the extracted `Data/` folder
 * @returns the parsed file
 * @throws LesionsUnavailableError when the file is missing (real Kaggle data has none: only the
 *   phantom knows where its lesions are) or is not a lesions file
 * @example
 * const lesions = tl.readPhantomLesions(path.join(extracted.dest, 'Data'));
 */
export function readPhantomLesions(dataRoot: string): PhantomLesions {
  const file = path.join(dataRoot, PHANTOM_LESIONS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new LesionsUnavailableError(
      `Expected the phantom's lesion boxes in ${file} but ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is no such file' : `it cannot be read (${(err as Error).message})`}. ` +
        'Only the phantom (chestCtPhantom, extracted) carries ground-truth boxes; real Kaggle images have none, so explanations of them can be shown but not scored.',
      file,
    );
  }
  let parsed: PhantomLesions;
  try {
    parsed = JSON.parse(text) as PhantomLesions;
  } catch (err) {
    throw new LesionsUnavailableError(`Expected JSON in ${file} but it does not parse (${(err as Error).message}). Generate the phantom again.`, file);
  }
  if (parsed?.format !== 'transferlab-phantom-lesions' || typeof parsed.images !== 'object' || parsed.images === null) {
    throw new LesionsUnavailableError(`Expected a transferlab-phantom-lesions file in ${file} but found format ${JSON.stringify(parsed?.format)}. Generate the phantom again.`, file);
  }
  return parsed;
}

/** A box in some image's pixels: `x0 ≤ x < x1`, `y0 ≤ y < y1`. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The lesion box of one image file, optionally mapped to the size a model sees it at (a plain
 * resize to `targetSize`, as `flowFromDirectory` does without `keepAspectRatio`).
 *
 * @param lesions - from {@link readPhantomLesions}
 * @param dataRoot - the `Data/` folder the file lives under
 * @param filepath - the image file (absolute, or relative to the working folder)
 * @param targetSize - `[height, width]` the image is resized to; default the stored size
 * @returns the box, or `null` for a normal slice
 * @throws LesionsUnavailableError when the file is not under `dataRoot` or not listed
 * @example
 * const box = tl.lesionBoxOf(lesions, dataRoot, testFlow.filepaths[0], [64, 64]);
 */
export function lesionBoxOf(lesions: PhantomLesions, dataRoot: string, filepath: string, targetSize?: [number, number]): PixelBox | null {
  const rel = path.relative(path.resolve(dataRoot), path.resolve(filepath)).split(path.sep).join('/');
  const entry = lesions.images[rel];
  if (entry === undefined) {
    throw new LesionsUnavailableError(`Expected ${filepath} to be listed in ${path.join(dataRoot, PHANTOM_LESIONS_FILE)} (as '${rel}') but it is not. Read the lesions of the folder the image was extracted into.`, filepath);
  }
  if (entry.lesion === null) return null;
  const [th, tw] = targetSize ?? [entry.height, entry.width];
  const sx = tw / entry.width;
  const sy = th / entry.height;
  const { x0, y0, x1, y1 } = entry.lesion;
  return { x0: x0 * sx, y0: y0 * sy, x1: x1 * sx, y1: y1 * sy };
}
