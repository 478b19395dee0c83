/**
 * Error classes of the applications area: pretrained weights that cannot be obtained, and weight
 * files that do not fit the model. Each sets `name` and carries the URL or path it is about.
 */

import { TransferlabError } from '../util/errors';

/** Pretrained weights could not be downloaded or found in the cache (typically: offline). */
export class WeightsUnavailableError extends TransferlabError {
  /** Where the weights were requested from. */
  readonly url: string;
  /** Where the cached copy was looked for (Keras's layout: `~/.keras/models/<file>`). */
  readonly cachePath: string;
  constructor(url: string, cachePath: string, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? ` (${options.cause.message})` : '';
    const file = cachePath.split(/[\\/]/).pop() ?? cachePath;
    super(
      `Could not obtain the pretrained weights: downloading ${url} failed${cause} and no valid copy is cached at ${cachePath}. ` +
        `To work offline, copy ${file} (the file Keras downloads) to ${cachePath}, ` +
        `or pass its location explicitly: weights: '/path/to/${file}'. ` +
        `Use weights: null for random initialization.`,
      options,
    );
    this.url = url;
    this.cachePath = cachePath;
  }
}

/**
 * A Keras `.h5` weights file is unreadable or does not match the model: missing, not HDF5 (an HTML
 * page or empty file), no `layer_names`, a listed group or dataset missing; a layer count, a layer's
 * weight count or a weight's shape that differs from the model; a **layer-class mismatch** (a saved
 * layer whose Keras name, read from its weight names, says it is of another class than the model's
 * layer at its position, e.g. `dense_1` where the model has a Conv2D); or a **creation-order
 * mismatch** (saved and model layers of one class both numbered the Keras way, with the numbers
 * running in different orders: two same-shaped parallel convolutions swapped). `layer` names the
 * model layer concerned; the message names the file's layer too.
 */
export class WeightsFormatError extends TransferlabError {
  /** The `.h5` file. */
  readonly path: string;
  /** The model layer concerned, when one is. */
  readonly layer?: string;
  constructor(message: string, path: string, layer?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
    this.layer = layer;
  }
}
