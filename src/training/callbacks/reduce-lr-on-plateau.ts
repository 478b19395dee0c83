/**
 * ReduceLROnPlateau. Port of Keras's `keras/src/callbacks/reduce_lr_on_plateau.py`.
 */
import { Callback } from './callback';
import { decodeNumber, encodeNumber, printMsg, warn } from './util';
import { getLearningRate, setLearningRate } from '../learning-rate';
import type { Logs } from '../types';
import { checkInteger, checkNumber, invalidParameterError } from '../../util/validate';

/** Options of {@link ReduceLROnPlateau}; names and defaults as Keras. */
export interface ReduceLROnPlateauArgs {
  /** Quantity to monitor. Default `'val_loss'`. */
  monitor?: string;
  /** Factor by which the rate is reduced: `newLr = lr * factor`. Default 0.1; must be < 1. */
  factor?: number;
  /** Epochs with no improvement after which the rate is reduced. Default 10. */
  patience?: number;
  /** 0 quiet, 1 prints a message on each reduction. Default 0. */
  verbose?: number;
  /** `'auto'` (max when the name contains "acc", else min), `'min'` or `'max'`. Default `'auto'`; unknown values warn and fall back to auto. */
  mode?: 'auto' | 'min' | 'max';
  /** Threshold for a new optimum. Default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction before resuming normal operation. Default 0. */
  cooldown?: number;
  /** Lower bound on the rate. Default 0. */
  minLr?: number;
}

/**
 * Reduces the learning rate when a metric has stopped improving. Like Keras 3, it writes the
 * epoch's rate (before any reduction) into the logs as `learning_rate`, so History records it.
 *
 * @throws TypeError when `factor >= 1` or a numeric option is invalid
 * @example
 * await fit(model, train, { validationData: val, epochs: 8, callbacks: [new ReduceLROnPlateau({ patience: 2 })] });
 */
export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly verbose: number;
  mode: 'auto' | 'min' | 'max';
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  /** Epochs since the last improvement. */
  wait = 0;
  /** Best value seen. */
  best = 0;
  /** Epochs left in the cooldown. */
  cooldownCounter = 0;
  private monitorOp: (a: number, b: number) => boolean = () => false;

  constructor(args: ReduceLROnPlateauArgs = {}) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    const factor = args.factor ?? 0.1;
    if (!(factor < 1.0)) throw invalidParameterError('factor', 'number < 1.0 (ReduceLROnPlateau does not support a factor >= 1.0)', factor);
    this.factor = checkNumber('factor', factor);
    this.patience = checkInteger('patience', args.patience ?? 10, 0);
    this.verbose = checkInteger('verbose', args.verbose ?? 0, 0);
    this.mode = args.mode ?? 'auto';
    this.minDelta = checkNumber('minDelta', args.minDelta ?? 1e-4);
    this.cooldown = checkInteger('cooldown', args.cooldown ?? 0, 0);
    this.minLr = checkNumber('minLr', args.minLr ?? 0, 0);
    this.reset();
  }

  private reset(): void {
    if (!['auto', 'min', 'max'].includes(this.mode)) {
      warn(`Learning rate reduction mode ${this.mode} is unknown, fallback to auto mode.`);
      this.mode = 'auto';
    }
    if (this.mode === 'min' || (this.mode === 'auto' && !this.monitor.includes('acc'))) {
      this.monitorOp = (a, b) => a < b - this.minDelta;
      this.best = Infinity;
    } else {
      this.monitorOp = (a, b) => a > b + this.minDelta;
      this.best = -Infinity;
    }
    this.cooldownCounter = 0;
    this.wait = 0;
  }

  /** True while in the cooldown after a reduction. */
  inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  override async onTrainBegin(): Promise<void> {
    this.reset();
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const l = logs ?? {};
    const optimizer = this.model?.optimizer;
    if (optimizer === undefined) return;
    l.learning_rate = getLearningRate(optimizer);
    const current = l[this.monitor];
    if (current === undefined || current === null) {
      warn(`Learning rate reduction is conditioned on metric \`${this.monitor}\` which is not available. Available metrics are: ${Object.keys(l).join(',')}.`);
      return;
    }
    if (this.inCooldown()) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.monitorOp(current, this.best)) {
      this.best = current;
      this.wait = 0;
    } else if (!this.inCooldown()) {
      this.wait += 1;
      if (this.wait >= this.patience) {
        const oldLr = getLearningRate(optimizer);
        if (oldLr > Math.fround(this.minLr)) {
          const newLr = Math.max(oldLr * this.factor, this.minLr);
          setLearningRate(optimizer, newLr);
          if (this.verbose > 0) printMsg(`\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${newLr}.`);
          this.cooldownCounter = this.cooldown;
          this.wait = 0;
        }
      }
    }
  }

  override getState(): Record<string, unknown> {
    return { wait: this.wait, best: encodeNumber(this.best), cooldownCounter: this.cooldownCounter };
  }

  override setState(state: Record<string, unknown>): void {
    this.wait = state.wait as number;
    this.best = decodeNumber(state.best);
    this.cooldownCounter = state.cooldownCounter as number;
  }
}
