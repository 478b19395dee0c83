import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fit } from '../../src/training/fit';
import { Callback } from '../../src/training/callbacks/callback';
import { ReduceLROnPlateau } from '../../src/training/callbacks/reduce-lr-on-plateau';
import { ProgbarLogger } from '../../src/training/callbacks/progbar-logger';
import { getLearningRate, setLearningRate } from '../../src/training/learning-rate';
import { splitFrozenPrefix } from '../../src/training/prefix';
import type { Logs, PrefixEngine } from '../../src/training/types';
import { ArraySource, FROZEN_LAYERS, tinyModel, weightValues } from './helpers';

const compileArgs = { loss: 'categoricalCrossentropy', metrics: ['accuracy'] };

test('trains only the tail: frozen layers (and frozen BN statistics) stay bit-identical, tail weights change', async () => {
  const model = tinyModel('multi');
  model.getLayer('bn2').trainable = false; // a frozen BN inside the tail stays in inference mode
  model.compile({ optimizer: tf.train.adam(0.01), ...compileArgs });
  const before = weightValues(model);
  await fit(model, new ArraySource(12, 4), { epochs: 1, verbose: 0 });
  const after = weightValues(model);
  for (const key of Object.keys(before)) {
    const layer = key.split(':')[1].split('/')[0];
    const frozen = FROZEN_LAYERS.includes(layer) || layer === 'bn2';
    if (frozen) assert.deepEqual(after[key], before[key], `${key} should not change`);
    else assert.notDeepEqual(after[key], before[key], `${key} should change`);
  }
});

test('a short fit on a learnable toy problem lowers the loss and reports Keras history keys', async () => {
  const model = tinyModel('multi');
  model.compile({ optimizer: tf.train.adam(0.02), ...compileArgs });
  const history = await fit(model, new ArraySource(24, 8), {
    epochs: 4,
    validationData: new ArraySource(9, 3, 99),
    callbacks: [new ReduceLROnPlateau({ monitor: 'val_loss', patience: 1 })],
    verbose: 0,
  });
  assert.deepEqual(Object.keys(history.history).sort(), ['accuracy', 'learning_rate', 'loss', 'val_accuracy', 'val_loss']);
  for (const values of Object.values(history.history)) assert.equal(values.length, 4);
  assert.deepEqual(history.epoch, [0, 1, 2, 3]);
  assert.equal(history.params?.epochs, 4);
  assert.equal(history.params?.steps, 3);
  const loss = history.history.loss;
  assert.ok(loss[3] < loss[0], `loss should fall: ${loss.join(', ')}`);
  assert.equal(history.history.learning_rate[0], Math.fround(0.02));
  const lr = history.history.learning_rate;
  lr.slice(1).forEach((v, i) => assert.ok(v <= lr[i]));
});

test('does not leak tensors across batches and epochs', async () => {
  const model = tinyModel('multi');
  model.compile({ optimizer: tf.train.adam(0.01), ...compileArgs });
  const counts: { batch: number[]; epoch: number[] } = { batch: [], epoch: [] };
  class Count extends Callback {
    override async onTrainBatchEnd(): Promise<void> {
      counts.batch.push(tf.memory().numTensors);
    }
    override async onEpochEnd(): Promise<void> {
      counts.epoch.push(tf.memory().numTensors);
    }
  }
  const source = new ArraySource(12, 4);
  const before = tf.memory().numTensors;
  await fit(model, source, { epochs: 3, validationData: new ArraySource(6, 3), callbacks: [new Count()], verbose: 0 });
  assert.equal(counts.epoch[1], counts.epoch[0]);
  assert.equal(counts.epoch[2], counts.epoch[1]);
  // The batch started ahead holds its tensors until it is taken (whether it has arrived at a batch's
  // end depends on timing), so counts vary within an epoch by at most one batch; at an epoch's last
  // step nothing is ahead, and there the count must not change from epoch to epoch.
  const steps = 3;
  const last = [0, 1, 2].map((epoch) => counts.batch[epoch * steps + steps - 1] as number);
  assert.equal(new Set(last).size, 1, `batch counts ${counts.batch.join(',')}`);
  const oneBatch = 6; // a batch: the cut tensors (2 here), targets, and what TF.js keeps per pending batch
  assert.ok(counts.batch.every((n) => n >= (last[0] as number) && n <= (last[0] as number) + oneBatch), `batch counts ${counts.batch.join(',')}`);
  // Only the optimizer's slot variables remain.
  // A second fit (optimizer slots and TF.js caches now exist) leaves the count unchanged.
  const afterFirst = tf.memory().numTensors;
  assert.ok(afterFirst > before);
  await fit(model, source, { epochs: 2, validationData: new ArraySource(6, 3), verbose: 0 });
  assert.equal(tf.memory().numTensors, afterFirst);
});

test('trains the whole model when nothing is frozen, with the learning rate adjustable mid-training', async () => {
  const model = tinyModel('none');
  const optimizer = tf.train.adam(0.01);
  assert.equal(splitFrozenPrefix(model).prefix, null);
  class HalveRate extends Callback {
    override async onEpochEnd(): Promise<void> {
      setLearningRate(optimizer, getLearningRate(optimizer) / 2);
    }
  }
  const before = weightValues(model);
  await fit(model, new ArraySource(6, 3), { epochs: 2, optimizer, loss: 'categorical_crossentropy', callbacks: [new HalveRate()], verbose: 0 });
  assert.equal(getLearningRate(optimizer), Math.fround(0.0025));
  const after = weightValues(model);
  assert.notDeepEqual(after[Object.keys(after).find((k) => k.includes('c1'))!], before[Object.keys(before).find((k) => k.includes('c1'))!]);
});

test('uses a PrefixEngine for the frozen part and gets the same results as TF.js', async () => {
  const make = () => {
    const m = tinyModel('multi', 3);
    m.compile({ optimizer: tf.train.sgd(0.1), ...compileArgs });
    return m;
  };
  const a = make();
  const b = make();
  const calls: number[] = [];
  const prefix = splitFrozenPrefix(b).prefix!;
  const engine: PrefixEngine = {
    async predict(x, meta) {
      calls.push(meta?.filepaths?.length ?? -1);
      return prefix.predict(x) as tf.Tensor[];
    },
    describe: () => 'test engine',
    dispose: () => {},
  };
  const ha = await fit(a, new ArraySource(8, 4), { epochs: 2, verbose: 0 });
  const hb = await fit(b, new ArraySource(8, 4), { epochs: 2, verbose: 0, prefixEngine: engine });
  assert.deepEqual(calls, [4, 4, 4, 4]);
  assert.ok(Math.abs(ha.history.loss[1] - hb.history.loss[1]) < 1e-5);
});

test('prints Keras-style epoch lines with verbose 2', async () => {
  const model = tinyModel('multi');
  model.compile({ optimizer: tf.train.adam(1e-4), ...compileArgs });
  let out = '';
  const stream = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream;
  await fit(model, new ArraySource(6, 3), {
    epochs: 2,
    verbose: 2,
    validationData: new ArraySource(3, 3),
    callbacks: [new ReduceLROnPlateau(), new ProgbarLogger({ stream })],
  });
  const lines = out.trim().split('\n');
  assert.equal(lines[0], 'Epoch 1/2');
  assert.match(lines[1], /^2\/2 - \d+s - \d+(ms|s|us)\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4} - learning_rate: 1\.0000e-04$/);
  assert.equal(lines[2], 'Epoch 2/2');
});

test('stops after the batch where a callback sets stopTraining, and rejects sources without targets', async () => {
  const model = tinyModel('multi');
  model.compile({ optimizer: 'adam', ...compileArgs });
  const seen: number[] = [];
  class StopAtSecond extends Callback {
    override async onTrainBatchEnd(batch: number, logs?: Logs): Promise<void> {
      seen.push(batch);
      assert.ok(logs && 'loss' in logs && 'accuracy' in logs);
      if (batch === 1) this.model!.stopTraining = true;
    }
  }
  const h = await fit(model, new ArraySource(12, 3), { epochs: 3, callbacks: [new StopAtSecond()], verbose: 0 });
  assert.deepEqual(seen, [0, 1]);
  assert.equal(h.history.loss.length, 1);
  const noTargets = { length: 1, next: async () => ({ xs: tf.zeros([1, 8, 8, 3]) }) };
  const before = tf.memory().numTensors;
  await assert.rejects(fit(model, noTargets, { verbose: 0 }), /Expected training batches with targets/);
  assert.equal(tf.memory().numTensors, before);
});

test('seeds Dropout per step so two seeded runs repeat exactly, and restores the layer seeds afterwards', async () => {
  const make = () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, trainable: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dropout({ rate: 0.5 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: x });
  };
  const run = async () => {
    const m = make();
    const h = await fit(m, new ArraySource(6, 3), { epochs: 2, optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy', seed: 3, verbose: 0 });
    assert.equal((m.layers.find((l) => l.getClassName() === 'Dropout') as unknown as { seed?: number }).seed, undefined);
    return h.history.loss;
  };
  assert.deepEqual(await run(), await run());
});

test('shows a progress line per epoch with verbose 1 in a batch log', async () => {
  const model = tinyModel('multi');
  model.compile({ optimizer: tf.train.adam(1e-3), ...compileArgs });
  let out = '';
  const stream = { write: (s: string) => ((out += s), true), isTTY: false } as unknown as NodeJS.WritableStream;
  await fit(model, new ArraySource(6, 3), { epochs: 2, verbose: 1, callbacks: [new ProgbarLogger({ stream, mode: 'lines' })] });
  // A batch log gets a line when an epoch starts (then at most every 10 s) and one when it ends.
  const lines = out.trim().split('\n').filter((l) => l.includes('100%'));
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^Epoch 1\/2 \| 2\/2 \| 100% \| .* \| loss: \d\.\d{4} - accuracy: \d\.\d{4}$/);
  assert.match(lines[1], /^Epoch 2\/2 \| 2\/2 \| 100% /);
});
