/**
 * Base class of training callbacks and the list that drives them.
 *
 * Port of Keras's `keras/src/callbacks/callback.py` and `callback_list.py`: the same hooks
 * (camelCase, async as in TF.js), `setModel`/`setParams`, and `this.model.stopTraining` as
 * Keras's `self.model.stop_training`. `this.model` is a {@link TrainingContext}: the model being
 * trained plus the optimizer and the run's controls.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Logs } from '../types';

/** The `params` Keras gives callbacks (`verbose`, `epochs`, `steps`), plus ours. */
export interface TrainingParams {
  /** 0 silent, 1 progress bar, 2 one line per epoch. */
  verbose: number;
  /** Index of the epoch after the last one (`fit`'s `epochs`). */
  epochs: number;
  /** Training batches per epoch. */
  steps: number;
  /** Validation batches per evaluation, when validating. */
  validationSteps?: number;
  /** First epoch (0-based) of this call. */
  initialEpoch: number;
  /** Keys the epoch logs can hold: the loss and metric names, their `val_` forms when validating, `learning_rate`. */
  logKeys?: string[];
  [key: string]: unknown;
}

/**
 * What callbacks see as `this.model`: Keras's `self.model` for the parts callbacks use.
 */
export interface TrainingContext {
  /** The model being trained (the whole model, not the split tail). */
  readonly layersModel: tf.LayersModel;
  /** The optimizer applying the updates; its learning rate is adjustable (see setLearningRate). */
  readonly optimizer: tf.Optimizer;
  /** Set to true to stop after the current batch (Keras `model.stop_training`). */
  stopTraining: boolean;
  /** Set in `onTrainBegin` to start at another epoch (what BackupAndRestore does on resume). */
  initialEpoch: number;
  /** All callbacks of this run, in call order (History and ProgbarLogger included). */
  readonly callbacks: readonly Callback[];
  /** Copies of all model weights (`model.weights` order); the caller disposes them. */
  getWeights(): tf.Tensor[];
  /** Assigns all model weights by position (does not dispose the inputs). */
  setWeights(weights: tf.Tensor[]): void;
}

/**
 * Base class of callbacks. Override the hooks you need; all are async and receive the same
 * (mutable) logs object other callbacks see, as in Keras.
 *
 * @example
 * class PrintLoss extends Callback {
 *   override async onEpochEnd(epoch: number, logs?: Logs) { console.log(epoch, logs?.loss); }
 * }
 */
export class Callback {
  /** The training context; null until `setModel`. */
  model: TrainingContext | null = null;
  /** Parameters of the run; null until `setParams`. */
  params: TrainingParams | null = null;
  /**
   * True for callbacks that restore state in `onTrainBegin` (BackupAndRestore): `fit` calls
   * their `onTrainBegin` after every other callback's, so restored state is not reset afterwards.
   */
  readonly restoresState: boolean = false;

  /** Stores the training context (Keras `set_model`). */
  setModel(model: TrainingContext): void {
    this.model = model;
  }
  /** Stores the run parameters (Keras `set_params`). */
  setParams(params: TrainingParams): void {
    this.params = params;
  }
  /** JSON-serialisable state to back up (BackupAndRestore), or null when stateless. */
  getState(): Record<string, unknown> | null {
    return null;
  }
  /** Restores state produced by {@link getState}. */
  setState(_state: Record<string, unknown>): void {}

  /** Called once before training. */
  async onTrainBegin(_logs?: Logs): Promise<void> {}
  /** Called once after training, with the last epoch's logs. */
  async onTrainEnd(_logs?: Logs): Promise<void> {}
  /** Called at the start of every epoch (0-based). */
  async onEpochBegin(_epoch: number, _logs?: Logs): Promise<void> {}
  /** Called at the end of every epoch with the epoch's logs (training and `val_` metrics). */
  async onEpochEnd(_epoch: number, _logs?: Logs): Promise<void> {}
  /** Called before each training batch (0-based within the epoch). */
  async onTrainBatchBegin(_batch: number, _logs?: Logs): Promise<void> {}
  /** Called after each training batch with running means of the epoch's metrics so far. */
  async onTrainBatchEnd(_batch: number, _logs?: Logs): Promise<void> {}
  /** Called before an evaluation. */
  async onTestBegin(_logs?: Logs): Promise<void> {}
  /** Called after an evaluation with its logs (without `val_` prefix). */
  async onTestEnd(_logs?: Logs): Promise<void> {}
  /** Called before each evaluation batch. */
  async onTestBatchBegin(_batch: number, _logs?: Logs): Promise<void> {}
  /** Called after each evaluation batch. */
  async onTestBatchEnd(_batch: number, _logs?: Logs): Promise<void> {}
  /** Called before a prediction run. */
  async onPredictBegin(_logs?: Logs): Promise<void> {}
  /** Called after a prediction run. */
  async onPredictEnd(_logs?: Logs): Promise<void> {}
  /** Called before each prediction batch. */
  async onPredictBatchBegin(_batch: number, _logs?: Logs): Promise<void> {}
  /** Called after each prediction batch. */
  async onPredictBatchEnd(_batch: number, _logs?: Logs): Promise<void> {}
}

type Hook = Exclude<{ [K in keyof Callback]: Callback[K] extends (...a: never[]) => Promise<void> ? K : never }[keyof Callback], undefined>;

/** Calls a hook on every callback, in order, awaiting each (Keras `CallbackList`). */
export async function callHook(callbacks: readonly Callback[], hook: Hook, ...args: unknown[]): Promise<void> {
  for (const cb of callbacks) await (cb[hook] as (...a: unknown[]) => Promise<void>).apply(cb, args);
}
