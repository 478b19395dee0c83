/**
 * TerminateOnNaN. Port of Keras's `keras/src/callbacks/terminate_on_nan.py`.
 */
import { Callback } from './callback';
import { printMsg } from './util';
import { TrainingError } from '../errors';
import type { Logs } from '../types';

/** Options of {@link TerminateOnNaN}. */
export interface TerminateOnNaNArgs {
  /** Throw a TrainingError at once (no `onTrainEnd` for other callbacks, backups are kept) instead of stopping gracefully. Default false. */
  raiseError?: boolean;
}

/**
 * Stops training when a batch's loss is NaN or ±Infinity. The message names the epoch (1-based,
 * as printed by the progress bar) and the batch (0-based, as Keras).
 *
 * @example
 * new TerminateOnNaN(); // prints "Epoch 3, batch 5: Invalid loss, terminating training"
 */
export class TerminateOnNaN extends Callback {
  readonly raiseError: boolean;
  private epoch = 0;

  constructor(args: TerminateOnNaNArgs = {}) {
    super();
    this.raiseError = args.raiseError ?? false;
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.epoch = epoch;
  }

  override async onTrainBatchEnd(batch: number, logs?: Logs): Promise<void> {
    const loss = logs?.loss;
    if (loss === undefined || Number.isFinite(loss)) return;
    if (this.raiseError) {
      throw new TrainingError(`NaN or Inf loss encountered at epoch ${this.epoch + 1}, batch ${batch}. Loss value: ${loss}. Terminating training immediately.`);
    }
    printMsg(`Epoch ${this.epoch + 1}, batch ${batch}: Invalid loss, terminating training`);
    if (this.model) this.model.stopTraining = true;
  }
}
