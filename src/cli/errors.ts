// Errors of the notebook runner (`transferlab run`). A failing cell is not an error: runNotebook
// returns a result with `ok: false`. These classes are for problems before or around execution.

import { TransferlabError } from '../util/errors';

export { ParameterError } from '../runtime/parameter-error';

/** No Python with Jupyter's client libraries was found, or the Python driver failed. */
export class JupyterUnavailableError extends TransferlabError {
  /** The Python interpreter concerned, when one was chosen. */
  readonly python?: string;

  constructor(message: string, python?: string) {
    super(message);
    this.python = python;
  }
}

/** A notebook file cannot be read, parsed or written. */
export class NotebookFileError extends TransferlabError {
  /** The file concerned. */
  readonly path: string;

  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}
