import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ReduceLROnPlateau } from '../../src/training/callbacks/reduce-lr-on-plateau';
import { EarlyStopping } from '../../src/training/callbacks/early-stopping';
import { ModelCheckpoint, formatCheckpointPath } from '../../src/training/callbacks/model-checkpoint';
import { TerminateOnNaN } from '../../src/training/callbacks/terminate-on-nan';
import { checkpointFs, loadWeightsFile, loadModelFile } from '../../src/training/checkpoint-file';
import { getLearningRate } from '../../src/training/learning-rate';
import { captureConsole, handContext, tinyModel, weightValues } from './helpers';

async function drive(cb: ReduceLROnPlateau | EarlyStopping, values: number[], key = 'val_loss'): Promise<Array<Record<string, number>>> {
  await cb.onTrainBegin();
  const logs: Array<Record<string, number>> = [];
  for (let e = 0; e < values.length; e++) {
    const l = { loss: 1, [key]: values[e] };
    await cb.onEpochEnd(e, l);
    logs.push(l);
    if (cb.model?.stopTraining) break;
  }
  return logs;
}

test('ReduceLROnPlateau reduces after `patience` epochs without a minDelta improvement, then cools down, never below minLr', async () => {
  const model = tinyModel('none');
  const opt = tf.train.adam(0.1);
  const cb = new ReduceLROnPlateau({ patience: 2, factor: 0.5, cooldown: 1, minLr: 0.02, minDelta: 0.01 });
  cb.setModel(handContext(model, opt));
  // 1.0 best; 0.995 is within minDelta (no improvement); ...
  const logs = await drive(cb, [1.0, 0.995, 0.999, 0.998, 0.997, 0.996, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95]);
  const lrs = logs.map((l) => l.learning_rate);
  const f = Math.fround;
  // learning_rate in the logs is the rate used in that epoch (written before any reduction), as Keras 3.
  // The cooldown counter is decremented before the comparison, so counting resumes the epoch after a reduction.
  assert.deepEqual(lrs, [f(0.1), f(0.1), f(0.1), f(0.05), f(0.05), f(0.025), f(0.025), f(0.025), f(0.025), f(0.02), f(0.02), f(0.02)]);
  assert.equal(getLearningRate(opt), f(0.02));
  // At minLr no further reduction happens and wait keeps growing, as in Keras.
  assert.deepEqual(cb.getState(), { wait: 3, best: 0.9, cooldownCounter: 0 });
});

test('ReduceLROnPlateau uses max mode for accuracy, warns on a missing metric and rejects factor >= 1', async () => {
  const opt = tf.train.sgd(1);
  const cb = new ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1 });
  cb.setModel(handContext(tinyModel('none'), opt));
  await drive(cb, [0.5, 0.6, 0.55], 'val_accuracy');
  assert.equal(getLearningRate(opt), Math.fround(0.1));
  const { warn } = await captureConsole(() => cb.onEpochEnd(3, { loss: 1 }));
  assert.match(warn[0], /Learning rate reduction is conditioned on metric `val_accuracy` which is not available\. Available metrics are: loss,learning_rate\./);
  assert.throws(() => new ReduceLROnPlateau({ factor: 1 }), /Expected number < 1\.0 \(ReduceLROnPlateau does not support a factor >= 1\.0\) for factor but received 1 of type number/);
});

test('EarlyStopping stops when patience runs out and respects minDelta', async () => {
  const cb = new EarlyStopping({ patience: 2, minDelta: 0.05 });
  const ctx = handContext(tinyModel('none'), tf.train.sgd(0.1));
  cb.setModel(ctx);
  const logs = await drive(cb, [1.0, 0.97, 0.96, 0.9, 0.89, 0.88, 0.5]);
  // 0.97/0.96 are not improvements by 0.05 → stop at epoch 2; Keras counts wait before comparing.
  assert.equal(logs.length, 3);
  assert.equal(cb.stoppedEpoch, 2);
  assert.equal(ctx.stopTraining, true);
  const { log } = await captureConsole(async () => {
    const v = new EarlyStopping({ patience: 0, verbose: 1 });
    v.setModel(handContext(tinyModel('none'), tf.train.sgd(0.1)));
    await drive(v, [1, 2]);
    await v.onTrainEnd();
  });
  assert.deepEqual(log, ['Epoch 2: early stopping']);
});

test('EarlyStopping keeps waiting until the baseline is beaten', async () => {
  const cb = new EarlyStopping({ patience: 3, baseline: 0.5 });
  const ctx = handContext(tinyModel('none'), tf.train.sgd(0.1));
  cb.setModel(ctx);
  // Improvements that do not beat the baseline do not reset wait: the first non-improving epoch stops.
  const logs = await drive(cb, [0.9, 0.8, 0.85, 0.84]);
  assert.equal(logs.length, 3);
  assert.equal(cb.stoppedEpoch, 2);
  const accuracy = new EarlyStopping({ monitor: 'val_accuracy', patience: 1 });
  accuracy.setModel(handContext(tinyModel('none'), tf.train.sgd(0.1)));
  assert.equal((await drive(accuracy, [0.5, 0.6, 0.7, 0.65, 0.64], 'val_accuracy')).length, 4);
  const unknown = new EarlyStopping({ monitor: 'val_something' });
  unknown.setModel(handContext(tinyModel('none'), tf.train.sgd(0.1)));
  await assert.rejects(unknown.onEpochEnd(0, { val_something: 1 }), /isn't able to automatically determine whether that metric should be maximized or minimized/);
});

test('EarlyStopping restores the best epoch\'s weights at the end without leaking tensors', async () => {
  const model = tinyModel('none');
  const cb = new EarlyStopping({ patience: 1, restoreBestWeights: true });
  cb.setModel(handContext(model, tf.train.sgd(0.1)));
  const before = tf.memory().numTensors;
  await cb.onTrainBegin();
  const bump = (v: number) => model.setWeights(model.weights.map((w) => tf.fill(w.shape as number[], v)));
  bump(1);
  await cb.onEpochEnd(0, { val_loss: 0.5 });
  const best = weightValues(model);
  bump(2);
  await cb.onEpochEnd(1, { val_loss: 0.6 });
  assert.equal(cb.model?.stopTraining, true);
  await cb.onTrainEnd();
  assert.deepEqual(weightValues(model), best);
  assert.ok(tf.memory().numTensors <= before + model.weights.length * 2, 'only the fill tensors of the test remain');
});

test('ModelCheckpoint formats file names like Python and saves only improvements with saveBestOnly', async () => {
  assert.equal(formatCheckpointPath('w.{epoch:02d}-{val_loss:.2f}.tlw', { epoch: 3, val_loss: 0.12345 }), 'w.03-0.12.tlw');
  assert.equal(formatCheckpointPath('{epoch}-{loss:.3e}', { epoch: 12, loss: 0.00012 }), '12-1.200e-04');
  assert.throws(() => formatCheckpointPath('{val_acc}', { epoch: 1 }), /Failed to format this callback filepath: "\{val_acc\}"\. Reason: 'val_acc' is not available/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
  try {
    const model = tinyModel('none');
    const cb = new ModelCheckpoint({ filepath: path.join(dir, 'best-{epoch:02d}.tlw'), saveBestOnly: true, saveWeightsOnly: true });
    cb.setModel(handContext(model, tf.train.sgd(0.1)));
    for (const [e, v] of [0.9, 0.8, 0.85, 0.7].entries()) await cb.onEpochEnd(e, { val_loss: v });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['best-01.tlw', 'best-02.tlw', 'best-04.tlw']);
    const fresh = tinyModel('none', 9);
    loadWeightsFile(fresh, path.join(dir, 'best-04.tlw'));
    assert.deepEqual(weightValues(fresh), weightValues(model));
    // Full-model checkpoints load back as a model.
    const full = new ModelCheckpoint({ filepath: path.join(dir, 'model.tlm') });
    full.setModel(handContext(model, tf.train.sgd(0.1)));
    await full.onEpochEnd(0, { val_loss: 1 });
    const loaded = await loadModelFile(path.join(dir, 'model.tlm'));
    assert.deepEqual(weightValues(loaded), weightValues(model));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ModelCheckpoint writes atomically: a crash mid-write leaves the previous checkpoint loadable', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
  const original = checkpointFs.write;
  try {
    const model = tinyModel('none');
    const file = path.join(dir, 'latest.tlw');
    const cb = new ModelCheckpoint({ filepath: file, saveWeightsOnly: true });
    cb.setModel(handContext(model, tf.train.sgd(0.1)));
    await cb.onEpochEnd(0, { val_loss: 1 });
    const saved = weightValues(model);
    model.setWeights(model.weights.map((w) => tf.zeros(w.shape as number[])));
    checkpointFs.write = (fd, data) => {
      fs.writeSync(fd, data, 0, Math.floor(data.length / 2)); // half the bytes reach the disk...
      throw new Error('simulated crash'); // ...then the process "dies"
    };
    await assert.rejects(cb.onEpochEnd(1, { val_loss: 0.5 }), (err: Error) => err.name === 'CheckpointError' && /simulated crash.*previous file, if any, is unchanged/.test(err.message));
    checkpointFs.write = original;
    assert.deepEqual(fs.readdirSync(dir), ['latest.tlw'], 'the temporary file is removed');
    const fresh = tinyModel('none', 5);
    loadWeightsFile(fresh, file);
    assert.deepEqual(weightValues(fresh), saved);
    // A truncated file (e.g. copied mid-write by hand) is reported clearly.
    const truncated = path.join(dir, 'truncated.tlw');
    fs.writeFileSync(truncated, fs.readFileSync(file).subarray(0, 200));
    assert.throws(() => loadWeightsFile(fresh, truncated), /truncated|corrupt manifest/);
  } finally {
    checkpointFs.write = original;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('TerminateOnNaN stops on a NaN or infinite loss and names the epoch and batch', async () => {
  const ctx = handContext(tinyModel('none'), tf.train.sgd(0.1));
  const cb = new TerminateOnNaN();
  cb.setModel(ctx);
  await cb.onEpochBegin(2);
  await cb.onTrainBatchEnd(4, { loss: 0.3 });
  assert.equal(ctx.stopTraining, false);
  const { log } = await captureConsole(() => cb.onTrainBatchEnd(5, { loss: NaN }));
  assert.deepEqual(log, ['Epoch 3, batch 5: Invalid loss, terminating training']);
  assert.equal(ctx.stopTraining, true);
  const strict = new TerminateOnNaN({ raiseError: true });
  strict.setModel(ctx);
  await assert.rejects(strict.onTrainBatchEnd(0, { loss: Infinity }), /NaN or Inf loss encountered at epoch 1, batch 0\. Loss value: Infinity/);
});
