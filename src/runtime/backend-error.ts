import { TransferlabError } from '../util/errors';

/**
 * Error raised when a requested TensorFlow.js backend cannot be used (unknown name, package not
 * installed, failed to initialize, or a conflicting second request after the backend was chosen).
 */
export class BackendError extends TransferlabError {
  /** The backend the error is about ('tensorflow-gpu', 'tensorflow', 'wasm', 'cpu' or the name received). */
  readonly backend: string;

  /**
   * @param message - what was expected, what happened, and what to do
   * @param backend - the backend concerned
   */
  constructor(message: string, backend: string) {
    super(message);
    this.backend = backend;
  }
}
