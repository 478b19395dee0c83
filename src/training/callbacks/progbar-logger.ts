/**
 * ProgbarLogger. Port of Keras's `keras/src/callbacks/progbar_logger.py` (and the epoch-end line
 * of `keras/src/utils/progbar.py`), drawn with the runtime's `createProgress`: a bar on a
 * terminal, one updating output per epoch in a notebook, plain lines in a batch log.
 */
import { Callback, type TrainingParams } from './callback';
import { formatLogValue } from './util';
import { createProgress, type Progress, type ProgressMode } from '../../runtime/progress';
import type { Logs } from '../types';

/** Options of {@link ProgbarLogger}. */
export interface ProgbarLoggerArgs {
  /** Force a progress mode (see runtime `createProgress`); default: chosen from where the code runs. */
  mode?: ProgressMode;
  /** Stream for bars and lines. Default `process.stdout` (Keras prints to stdout). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** Formats logs as Keras's Progbar: `loss: 0.4213 - accuracy: 0.8125 - learning_rate: 1.0000e-04`. */
export function formatLogs(logs: Logs | undefined): string {
  return Object.entries(logs ?? {})
    .map(([k, v]) => `${k}: ${formatLogValue(v)}`)
    .join(' - ');
}

/** Keras's per-step time: ` 600ms/step`, ` 2s/step`, ` 40us/step`. */
function formatPerStep(seconds: number): string {
  if (seconds >= 1 || seconds === 0) return `${seconds.toFixed(0)}s/step`;
  if (seconds >= 1e-3) return `${(seconds * 1e3).toFixed(0)}ms/step`;
  return `${(seconds * 1e6).toFixed(0)}us/step`;
}

/**
 * Prints training progress: `verbose: 1` a live bar per epoch, `verbose: 2` one line per epoch
 * (`20/20 - 12s - 600ms/step - loss: 0.4213 - accuracy: 0.8125 - val_loss: ... - learning_rate: 1.0000e-04`),
 * preceded by `Epoch 1/8` when there is more than one epoch. `fit` adds one when `verbose > 0`.
 *
 * @example
 * await fit(model, train, { epochs: 8, verbose: 2 });
 */
export class ProgbarLogger extends Callback {
  private readonly args: ProgbarLoggerArgs;
  private verbose = 1;
  private epochs = 1;
  private target = 0;
  private progress: Progress | null = null;
  private started = 0;
  private seen = 0;

  constructor(args: ProgbarLoggerArgs = {}) {
    super();
    this.args = args;
  }

  private get stream(): NodeJS.WritableStream {
    return this.args.stream ?? process.stdout;
  }

  override setParams(params: TrainingParams): void {
    super.setParams(params);
    this.verbose = params.verbose;
    this.epochs = params.epochs;
    this.target = params.steps;
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.started = Date.now();
    this.seen = 0;
    const header = this.epochs > 1 ? `Epoch ${epoch + 1}/${this.epochs}` : '';
    if (this.verbose === 1) {
      this.progress = createProgress({ label: header || 'Training', total: this.target, mode: this.args.mode, stream: this.args.stream ?? process.stdout });
    } else if (this.verbose === 2 && header) {
      this.stream.write(`${header}\n`);
    }
  }

  override async onTrainBatchEnd(batch: number, logs?: Logs): Promise<void> {
    this.seen = batch + 1;
    if (this.verbose === 1) this.progress?.update(this.seen, formatLogs(logs));
  }

  override async onEpochEnd(_epoch: number, logs?: Logs): Promise<void> {
    const elapsed = (Date.now() - this.started) / 1000;
    if (this.verbose === 1) {
      this.progress?.finish(formatLogs(logs));
      this.progress = null;
    } else if (this.verbose === 2) {
      const target = this.target || this.seen;
      const digits = String(target).length;
      const parts = [`${String(this.seen).padStart(digits, ' ')}/${target}`, `${elapsed.toFixed(0)}s`, formatPerStep(this.seen > 0 ? elapsed / this.seen : 0)];
      const values = formatLogs(logs);
      if (values) parts.push(values);
      this.stream.write(`${parts.join(' - ')}\n`);
    }
  }
}
