/**
 * The History callback, always added by `fit`. Port of Keras's `keras/src/callbacks/history.py`.
 */
import { Callback } from './callback';
import type { Logs } from '../types';

/**
 * Records every epoch's logs: `history.history.loss[i]`, `history.history.val_accuracy[i]`, ...
 * `fit` returns it.
 *
 * @example
 * const history = await fit(model, train, { epochs: 8, validationData: val });
 * history.history.val_accuracy; // one number per epoch
 */
export class History extends Callback {
  /** Metric name → one value per epoch. */
  history: Record<string, number[]> = {};
  /** The epoch indices recorded (0-based). */
  epoch: number[] = [];

  override async onTrainBegin(): Promise<void> {
    this.epoch = [];
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs ?? {})) (this.history[k] ??= []).push(v);
  }

  override getState(): Record<string, unknown> {
    return { history: this.history, epoch: this.epoch };
  }

  override setState(state: Record<string, unknown>): void {
    this.history = structuredClone(state.history as Record<string, number[]>);
    this.epoch = [...(state.epoch as number[])];
  }
}
