/** Error classes of the training area. */

import { TransferlabError } from '../util/errors';

/** A training or evaluation run was configured wrongly or cannot proceed (e.g. a shuffling source given to `predictIterator`). */
export class TrainingError extends TransferlabError {}

/** A checkpoint or backup file could not be written or read. Carries the path. */
export class CheckpointError extends TransferlabError {
  /** The checkpoint file concerned. */
  readonly path: string;
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}
