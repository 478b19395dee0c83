/**
 * Errors of the preprocessing area. Each carries the file it is about, so a failure in the middle of an
 * epoch always names the image that caused it.
 */

import { TransferlabError } from '../util/errors';

/** Why an image could not be decoded. */
export type ImageDecodeProblem = 'unreadable' | 'empty' | 'unsupported-format' | 'corrupt' | 'too-large';

/**
 * An image file could not be read or decoded (missing, zero bytes, not an image, corrupt or truncated
 * data, or over the pixel limit).
 *
 * @example
 * try { await loadImage('x.jpg'); } catch (e) { if (e instanceof ImageDecodeError) console.log(e.path, e.problem); }
 */
export class ImageDecodeError extends TransferlabError {
  /** The file that failed. */
  readonly path: string;
  /** A short machine-readable reason. */
  readonly problem: ImageDecodeProblem;

  constructor(path: string, problem: ImageDecodeProblem, detail: string, options?: { cause?: unknown }) {
    super(`Cannot decode image ${path}: ${detail}`, options);
    this.path = path;
    this.problem = problem;
  }
}

/** A dataset folder could not be listed (missing, not a folder, unreadable). */
export class DirectoryScanError extends TransferlabError {
  /** The folder that failed. */
  readonly path: string;

  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super(`Cannot read image folder ${path}: ${detail}`, options);
    this.path = path;
  }
}

/**
 * The images that directory iterators find differ from the images an archive extraction wrote
 * (leftovers of an earlier run in the folder, or files missing), see `checkExtractedImages`.
 */
export class ExtractedImagesMismatchError extends TransferlabError {
  /** The extraction's destination folder. */
  readonly path: string;
  /** Images the extraction wrote under the iterators' folders. */
  readonly extracted: number;
  /** Images the iterators found. */
  readonly found: number;

  constructor(message: string, details: { path: string; extracted: number; found: number }) {
    super(message);
    this.path = details.path;
    this.extracted = details.extracted;
    this.found = details.found;
  }
}

/**
 * A training source and its validation or evaluation source label different class sets (or the
 * same names with different indices), so scores would compare mismatched labels. Carries both
 * class lists; the message shows the name-prefix alignment and how to fix it.
 */
export class ClassMismatchError extends TransferlabError {
  /** Class names of the reference (training) source, index = label. */
  readonly referenceClasses: string[];
  /** Class names of the other source, index = label. */
  readonly otherClasses: string[];

  constructor(message: string, referenceClasses: string[], otherClasses: string[]) {
    super(message);
    this.referenceClasses = referenceClasses;
    this.otherClasses = otherClasses;
  }
}
