/**
 * EarlyStopping. Port of Keras's `keras/src/callbacks/early_stopping.py` (Keras 3).
 */
import * as tf from '@tensorflow/tfjs';
import { Callback } from './callback';
import { decodeNumber, encodeNumber, printMsg, warn } from './util';
import { TrainingError } from '../errors';
import type { Logs } from '../types';
import { checkInteger, checkNumber } from '../../util/validate';

/** Options of {@link EarlyStopping}; names and defaults as Keras. */
export interface EarlyStoppingArgs {
  /** Quantity to monitor. Default `'val_loss'`. */
  monitor?: string;
  /** Minimum change that counts as an improvement (absolute value is used). Default 0. */
  minDelta?: number;
  /** Epochs with no improvement after which training stops. Default 0. */
  patience?: number;
  /** 0 quiet, 1 prints when stopping and restoring. Default 0. */
  verbose?: number;
  /** `'auto'` (from the metric: losses min, accuracies max), `'min'` or `'max'`. Default `'auto'`. */
  mode?: 'auto' | 'min' | 'max';
  /** Value the monitored quantity must beat; until then the patience counter keeps running. Default null. */
  baseline?: number | null;
  /** Restore the weights of the best epoch when training ends. Default false. */
  restoreBestWeights?: boolean;
  /** Warm-up epochs before improvements are tracked. Default 0. */
  startFromEpoch?: number;
}

/** Direction of a metric by name for `mode: 'auto'` (Keras asks the metric object; we know ours). */
function directionOf(metric: string): 'less' | 'greater' | null {
  if (metric === 'loss' || metric.endsWith('crossentropy') || metric.endsWith('_error')) return 'less';
  if (metric.includes('acc') || ['auc', 'precision', 'recall', 'f1_score', 'fbeta_score'].includes(metric)) return 'greater';
  return null;
}

/**
 * Stops training when a monitored metric has stopped improving (sets `model.stopTraining`).
 *
 * @example
 * new EarlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true });
 */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly verbose: number;
  readonly baseline: number | null;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  readonly mode: 'auto' | 'min' | 'max';
  /** Signed by direction once the monitor op is known (negative for min), as Keras. */
  minDelta: number;
  /** Epochs since the last improvement. */
  wait = 0;
  /** Epoch at which training was stopped (0 when not stopped). */
  stoppedEpoch = 0;
  /** Best monitored value (±Infinity until seen). */
  best = Infinity;
  /** Epoch of the best value. */
  bestEpoch = 0;
  private op: 'less' | 'greater' | null = null;
  private bestWeights: tf.Tensor[] | null = null;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    this.patience = checkInteger('patience', args.patience ?? 0, 0);
    this.verbose = checkInteger('verbose', args.verbose ?? 0, 0);
    this.baseline = args.baseline ?? null;
    this.minDelta = Math.abs(checkNumber('minDelta', args.minDelta ?? 0));
    this.restoreBestWeights = args.restoreBestWeights ?? false;
    this.startFromEpoch = checkInteger('startFromEpoch', args.startFromEpoch ?? 0, 0);
    let mode = args.mode ?? 'auto';
    if (!['auto', 'min', 'max'].includes(mode)) {
      warn(`EarlyStopping mode ${mode} is unknown, fallback to auto mode.`);
      mode = 'auto';
    }
    this.mode = mode;
  }

  private setMonitorOp(): void {
    if (this.mode === 'min') this.op = 'less';
    else if (this.mode === 'max') this.op = 'greater';
    else this.op = directionOf(this.monitor.replace(/^val_/, ''));
    if (this.op === null) {
      throw new TrainingError(`EarlyStopping callback received monitor=${this.monitor} but transferlab isn't able to automatically determine whether that metric should be maximized or minimized. Pass \`mode: 'max'\` in order to do early stopping based on the highest metric value, or pass \`mode: 'min'\` in order to use the lowest value.`);
    }
    if (this.op === 'less') this.minDelta *= -1;
    this.best = this.op === 'less' ? Infinity : -Infinity;
  }

  private isImprovement(value: number, reference: number): boolean {
    const v = value - this.minDelta;
    return this.op === 'less' ? v < reference : v > reference;
  }

  private setBestWeights(weights: tf.Tensor[] | null): void {
    if (this.bestWeights) tf.dispose(this.bestWeights);
    this.bestWeights = weights;
  }

  override async onTrainBegin(): Promise<void> {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.setBestWeights(null);
    this.bestEpoch = 0;
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.op === null) this.setMonitorOp();
    const current = this.getMonitorValue(logs);
    if (current === undefined || epoch < this.startFromEpoch) return;
    if (this.restoreBestWeights && this.bestWeights === null && this.model) {
      this.setBestWeights(this.model.getWeights());
      this.bestEpoch = epoch;
    }
    this.wait += 1;
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights && this.model) this.setBestWeights(this.model.getWeights());
      if (this.baseline === null || this.isImprovement(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      if (this.model) this.model.stopTraining = true;
    }
  }

  override async onTrainEnd(): Promise<void> {
    if (this.stoppedEpoch > 0 && this.verbose > 0) printMsg(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== null && this.model) {
      if (this.verbose > 0) printMsg(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      this.model.setWeights(this.bestWeights);
      this.setBestWeights(null);
    }
  }

  /** Returns `logs[monitor]`, warning (as Keras) when it is missing. */
  getMonitorValue(logs?: Logs): number | undefined {
    const value = logs?.[this.monitor];
    if (value === undefined) warn(`Early stopping conditioned on metric \`${this.monitor}\` which is not available. Available metrics are: ${Object.keys(logs ?? {}).join(',')}`);
    return value;
  }

  /** State for BackupAndRestore. The best weights themselves are not backed up. */
  override getState(): Record<string, unknown> {
    return { wait: this.wait, stoppedEpoch: this.stoppedEpoch, best: encodeNumber(this.best), bestEpoch: this.bestEpoch, op: this.op, minDelta: this.minDelta };
  }

  override setState(state: Record<string, unknown>): void {
    this.wait = state.wait as number;
    this.stoppedEpoch = state.stoppedEpoch as number;
    this.best = decodeNumber(state.best);
    this.bestEpoch = state.bestEpoch as number;
    this.op = state.op as 'less' | 'greater' | null;
    this.minDelta = state.minDelta as number;
  }
}
