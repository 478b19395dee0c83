/**
 * The one base class of transferlab's errors, in the spirit of ky's `source/errors`: every area's
 * error classes (`DownloadError`, `ArchiveError`, `ImageDecodeError`, `WeightsFormatError`,
 * `TrainingError`, `BackendError`, ...) extend it, so `name` is set in one place and one way (from
 * the class: a subclass never sets it), and `error instanceof TransferlabError` tells a failure this
 * library diagnosed from one it did not. Subclasses carry the path, URL, entry or layer they are about.
 *
 * Argument checks of `util/validate.ts` stay `TypeError`s, as sharp's do.
 */

/**
 * Base class of every error transferlab throws on purpose. `name` is the subclass's class name
 * (`'DownloadError'`, `'ArchiveError'`, ...).
 *
 * @example
 * try { await getFile(...); } catch (e) { if (e instanceof TransferlabError) console.log(e.name, e.message); }
 */
export class TransferlabError extends Error {
  /**
   * @param message - what was expected, what was received, and what to do
   * @param options - `cause`: the underlying error, when there is one
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A package that a feature needs is not installed (or not where Node can resolve it); the message
 * names the package, what needs it and the command that installs it.
 */
export class MissingPackageError extends TransferlabError {
  /**
   * @param packageName - the npm package (e.g. `'h5wasm'`)
   * @param message - what needs it and how to install it
   */
  constructor(readonly packageName: string, message: string) {
    super(message);
  }
}
