/**
 * BackupAndRestore. Port of Keras's `keras/src/callbacks/backup_and_restore.py`, extended to what
 * a faithful resume needs in TF.js: besides the model weights and the epoch, the backup holds the
 * optimizer state, the learning rate, every callback's state (ReduceLROnPlateau's wait/best/
 * cooldown, EarlyStopping's best/wait, ...) and the History so far, in one atomically written file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Callback } from './callback';
import { warn } from './util';
import { encodeCheckpoint, readCheckpoint, storeModelWeights, writeFileAtomic, assignModelWeights } from '../checkpoint-file';
import { getLearningRate, setLearningRate } from '../learning-rate';
import { restoreOptimizerState, storeOptimizerState } from '../optimizer-state';
import { checkBoolean, invalidParameterError } from '../../util/validate';

/** Options of {@link BackupAndRestore}; names and defaults as Keras. */
export interface BackupAndRestoreArgs {
  /** Folder for the backup file (`backup.tlckpt`); created when missing. Required. */
  backupDir: string;
  /** `'epoch'` or a number of batches between backups. Default `'epoch'`. */
  saveFreq?: 'epoch' | number;
  /** Delete the backup when training finishes (not when it crashes). Default true. */
  deleteCheckpoint?: boolean;
}

/** File name of the backup inside `backupDir`. */
export const BACKUP_FILE_NAME = 'backup.tlckpt';

/**
 * Backs up the training state so a killed `fit` resumes where it stopped: re-run the same `fit`
 * call with the same `backupDir` and it continues at the first unfinished epoch with the same
 * weights, optimizer state, learning rate, callback state and history. A backup taken mid-epoch
 * (`saveFreq` in batches) resumes at the start of that epoch, as Keras.
 *
 * @throws TypeError when `backupDir` is empty or `saveFreq` invalid
 * @example
 * await fit(model, train, { epochs: 8, callbacks: [new BackupAndRestore({ backupDir: 'backup' })] });
 */
export class BackupAndRestore extends Callback {
  readonly backupDir: string;
  readonly saveFreq: 'epoch' | number;
  readonly deleteCheckpoint: boolean;
  override readonly restoresState = true;
  private currentEpoch = 0;
  private batchesSinceSave = 0;
  private lastBatchSeen = 0;

  constructor(args: BackupAndRestoreArgs) {
    super();
    if (typeof args?.backupDir !== 'string' || args.backupDir === '') throw invalidParameterError('backupDir', 'non-empty string', args?.backupDir);
    this.backupDir = args.backupDir;
    const saveFreq = args.saveFreq ?? 'epoch';
    if (saveFreq !== 'epoch' && !(Number.isInteger(saveFreq) && (saveFreq as number) > 0)) {
      throw invalidParameterError('saveFreq', "'epoch' or a positive integer", saveFreq);
    }
    this.saveFreq = saveFreq;
    this.deleteCheckpoint = checkBoolean('deleteCheckpoint', args.deleteCheckpoint ?? true);
  }

  /** Path of the backup file. */
  get backupPath(): string {
    return path.join(this.backupDir, BACKUP_FILE_NAME);
  }

  override async onTrainBegin(): Promise<void> {
    const ctx = this.model;
    if (!ctx || !fs.existsSync(this.backupPath)) return;
    const { manifest, tensors } = readCheckpoint(this.backupPath);
    const meta = manifest.meta as { epoch: number; learningRate: number; callbacks: Array<{ index: number; className: string; state: Record<string, unknown> }> };
    assignModelWeights(ctx.layersModel, tensors.filter((t) => t.group === 'model'), this.backupPath);
    await restoreOptimizerState(ctx.optimizer, tensors);
    setLearningRate(ctx.optimizer, meta.learningRate);
    for (const entry of meta.callbacks) {
      const cb = ctx.callbacks[entry.index];
      if (cb && cb.constructor.name === entry.className) cb.setState(entry.state);
      else warn(`BackupAndRestore: callback #${entry.index} (${entry.className}) of the backup is not at the same place in this run; its state was not restored. Pass the same callbacks in the same order to resume exactly.`);
    }
    this.currentEpoch = meta.epoch;
    ctx.initialEpoch = meta.epoch;
  }

  override async onEpochEnd(epoch: number): Promise<void> {
    this.currentEpoch = epoch + 1;
    this.lastBatchSeen = 0;
    if (this.saveFreq === 'epoch') await this.save();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.currentEpoch = epoch;
  }

  override async onTrainBatchEnd(batch: number): Promise<void> {
    if (this.saveFreq === 'epoch') return;
    this.batchesSinceSave += batch <= this.lastBatchSeen ? batch + 1 : batch - this.lastBatchSeen;
    this.lastBatchSeen = batch;
    if (this.batchesSinceSave >= this.saveFreq) {
      this.batchesSinceSave = 0;
      await this.save();
    }
  }

  private async save(): Promise<void> {
    const ctx = this.model;
    if (!ctx) return;
    const callbacks = ctx.callbacks
      .map((cb, index) => ({ index, className: cb.constructor.name, state: cb === this ? null : cb.getState() }))
      .filter((e) => e.state !== null);
    const meta = { epoch: this.currentEpoch, learningRate: getLearningRate(ctx.optimizer), callbacks };
    const tensors = [...storeModelWeights(ctx.layersModel), ...(await storeOptimizerState(ctx.optimizer))];
    writeFileAtomic(this.backupPath, encodeCheckpoint('backup', meta, tensors));
  }

  override async onTrainEnd(): Promise<void> {
    if (!this.deleteCheckpoint) return;
    fs.rmSync(this.backupPath, { force: true });
    try {
      fs.rmdirSync(this.backupDir);
    } catch {
      // Not empty or already gone: leave the user's folder alone.
    }
  }
}
