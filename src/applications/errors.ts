/**
 * Error classes of the applications area: pretrained weights that cannot be obtained, and weight
 * files that do not fit the model. Each sets `name` and carries the URL or path it is about.
 */

/** Pretrained weights could not be downloaded or found in the cache (typically: offline). */
export class WeightsUnavailableError extends Error {
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
    this.name = 'WeightsUnavailableError';
    this.url = url;
    this.cachePath = cachePath;
  }
}

/** A Keras `.h5` weights file is unreadable or does not match the model (layer or weight counts, shapes). */
export class WeightsFormatError extends Error {
  /** The `.h5` file. */
  readonly path: string;
  /** The model layer concerned, when one is. */
  readonly layer?: string;
  constructor(message: string, path: string, layer?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WeightsFormatError';
    this.path = path;
    this.layer = layer;
  }
}
