/**
 * ModelCheckpoint. Port of Keras's `keras/src/callbacks/model_checkpoint.py`, writing our
 * checkpoint files (see checkpoint-file.ts) atomically instead of `.keras`/`.weights.h5`.
 */
import { Callback, type TrainingParams } from './callback';
import { decodeNumber, encodeNumber, isAccuracyLike, printMsg, pythonExp, warn } from './util';
import { saveModelFile, saveWeightsFile } from '../checkpoint-file';
import { CheckpointError } from '../errors';
import type { Logs } from '../types';
import { checkInteger, invalidParameterError } from '../../util/validate';

/** Options of {@link ModelCheckpoint}; names and defaults as Keras. */
export interface ModelCheckpointArgs {
  /**
   * Where to save; may contain Python-style fields filled from the epoch (1-based), the batch and
   * the logs, e.g. `'ckpt/weights.{epoch:02d}-{val_loss:.2f}.tlw'`. Required.
   */
  filepath: string;
  /** Quantity compared for `saveBestOnly`. Default `'val_loss'`. */
  monitor?: string;
  /** 0 quiet, 1 prints a message on each save. Default 0. */
  verbose?: number;
  /** Save only when the monitored quantity improves. Default false. */
  saveBestOnly?: boolean;
  /** Save weights only (else topology + weights, loadable with `loadModelFile`). Default false. */
  saveWeightsOnly?: boolean;
  /** `'auto'` (max when the name contains "acc"), `'min'` or `'max'`. Default `'auto'`. */
  mode?: 'auto' | 'min' | 'max';
  /** `'epoch'` or a number of batches between saves. Default `'epoch'`. */
  saveFreq?: 'epoch' | number;
  /** Value the monitored quantity must beat for the first save (best-only). Default none. */
  initialValueThreshold?: number;
}

/**
 * Formats a Python `str.format` template with named fields (`{epoch:02d}`, `{val_loss:.2f}`,
 * `{loss:.4e}`, `{epoch}`), as Keras formats checkpoint paths.
 *
 * @throws CheckpointError when a field is not available
 */
export function formatCheckpointPath(template: string, values: Record<string, number>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_m, name: string, spec: string | undefined) => {
    const v = values[name];
    if (v === undefined) {
      throw new CheckpointError(`Failed to format this callback filepath: "${template}". Reason: '${name}' is not available; available fields: ${Object.keys(values).join(', ')}.`, template);
    }
    if (!spec) return Number.isInteger(v) ? String(v) : String(v);
    const m = /^(0?)(\d*)(?:\.(\d+))?([dfe])?$/.exec(spec);
    if (!m) throw new CheckpointError(`Failed to format this callback filepath: "${template}". Reason: unsupported format spec '${spec}'.`, template);
    const [, zero, width, precision, type] = m;
    let s: string;
    if (type === 'd') s = String(Math.trunc(v));
    else if (type === 'e') s = pythonExp(v, precision === undefined ? 6 : Number(precision));
    else if (type === 'f' || precision !== undefined) s = v.toFixed(precision === undefined ? 6 : Number(precision));
    else s = String(v);
    const w = width ? Number(width) : 0;
    if (s.length < w) {
      const neg = s.startsWith('-');
      s = zero ? (neg ? '-' : '') + (neg ? s.slice(1) : s).padStart(w - (neg ? 1 : 0), '0') : s.padStart(w, ' ');
    }
    return s;
  });
}

/**
 * Saves the model (or its weights) at some frequency, optionally only when the monitored metric
 * improves. Each write is atomic: a crash mid-save leaves the previous checkpoint loadable.
 *
 * @throws TypeError when `saveFreq` is neither `'epoch'` nor a positive integer
 * @example
 * new ModelCheckpoint({ filepath: 'ckpt/best.tlw', monitor: 'val_accuracy', saveBestOnly: true, saveWeightsOnly: true });
 */
export class ModelCheckpoint extends Callback {
  readonly filepath: string;
  readonly monitor: string;
  readonly verbose: number;
  readonly saveBestOnly: boolean;
  readonly saveWeightsOnly: boolean;
  readonly saveFreq: 'epoch' | number;
  /** Best monitored value so far. */
  best: number;
  private readonly greater: boolean;
  private currentEpoch = 0;
  private batchesSinceSave = 0;
  private lastBatchSeen = 0;

  constructor(args: ModelCheckpointArgs) {
    super();
    if (typeof args?.filepath !== 'string' || args.filepath === '') throw invalidParameterError('filepath', 'non-empty string', args?.filepath);
    this.filepath = args.filepath;
    this.monitor = args.monitor ?? 'val_loss';
    this.verbose = checkInteger('verbose', args.verbose ?? 0, 0);
    this.saveBestOnly = args.saveBestOnly ?? false;
    this.saveWeightsOnly = args.saveWeightsOnly ?? false;
    const saveFreq = args.saveFreq ?? 'epoch';
    if (saveFreq !== 'epoch' && !(Number.isInteger(saveFreq) && (saveFreq as number) > 0)) {
      throw invalidParameterError('saveFreq', "'epoch' or a positive integer", saveFreq);
    }
    this.saveFreq = saveFreq;
    let mode = args.mode ?? 'auto';
    if (!['auto', 'min', 'max'].includes(mode)) {
      warn(`ModelCheckpoint mode '${mode}' is unknown, fallback to auto mode.`);
      mode = 'auto';
    }
    this.greater = mode === 'max' || (mode === 'auto' && isAccuracyLike(this.monitor));
    this.best = args.initialValueThreshold ?? (this.greater ? -Infinity : Infinity);
  }

  /**
   * Stores the run parameters and checks the file template against the fields the run's logs
   * will have (`epoch`, `batch` with a numeric `saveFreq`, and `params.logKeys`), so that a
   * template naming an unknown field fails when `fit` starts instead of at the first save.
   *
   * @throws CheckpointError when the template names a field the run will not log, or has an unsupported format spec
   */
  override setParams(params: TrainingParams): void {
    super.setParams(params);
    if (params.logKeys === undefined) return;
    const fields: Record<string, number> = { epoch: 1 };
    for (const k of params.logKeys) fields[k] = 1;
    if (this.saveFreq !== 'epoch') fields.batch = 1;
    try {
      formatCheckpointPath(this.filepath, fields);
    } catch (err) {
      if (err instanceof CheckpointError) {
        err.message = `${err.message} (checked when fit starts, before any training)`;
      }
      throw err;
    }
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.currentEpoch = epoch;
  }

  override async onTrainBatchEnd(batch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') return;
    this.batchesSinceSave += batch <= this.lastBatchSeen ? batch + 1 : batch - this.lastBatchSeen;
    this.lastBatchSeen = batch;
    if (this.batchesSinceSave >= this.saveFreq) {
      this.batchesSinceSave = 0;
      this.save(this.currentEpoch, batch, logs ?? {});
    }
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') this.save(epoch, null, logs ?? {});
  }

  private save(epoch: number, batch: number | null, logs: Logs): void {
    const model = this.model?.layersModel;
    if (!model) return;
    const fields: Record<string, number> = { ...logs, epoch: epoch + 1 };
    if (batch !== null && !('batch' in logs)) fields.batch = batch + 1;
    const file = formatCheckpointPath(this.filepath, fields);
    const write = (): void => (this.saveWeightsOnly ? saveWeightsFile(model, file) : saveModelFile(model, file));
    if (this.saveBestOnly) {
      const current = logs[this.monitor];
      if (current === undefined) {
        warn(`Can save best model only with ${this.monitor} available, skipping.`);
        return;
      }
      if (this.greater ? current > this.best : current < this.best) {
        if (this.verbose > 0) printMsg(`\nEpoch ${epoch + 1}: ${this.monitor} improved from ${this.best.toFixed(5)} to ${current.toFixed(5)}, saving model to ${file}`);
        write();
        this.best = current;
      } else if (this.verbose > 0) {
        printMsg(`\nEpoch ${epoch + 1}: ${this.monitor} did not improve from ${this.best.toFixed(5)}`);
      }
      return;
    }
    if (this.verbose > 0) printMsg(`\nEpoch ${epoch + 1}: saving model to ${file}`);
    write();
  }

  override getState(): Record<string, unknown> {
    return { best: encodeNumber(this.best) };
  }

  override setState(state: Record<string, unknown>): void {
    this.best = decodeNumber(state.best);
  }
}
