// Training faults (issue 15: R8 and the late validation): mismatched class sets between a training
// source and its validation or evaluation source, and configuration that used to fail only at the
// end of epoch 1. Real image folders through flowFromDirectory, a real (tiny) model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { ImageDataGenerator } from '../../src/preprocessing/image-data-generator';
import { ClassMismatchError } from '../../src/preprocessing/errors';
import { fit } from '../../src/training/fit';
import { evaluate, predictIterator } from '../../src/training/evaluate';
import { Callback } from '../../src/training/callbacks/callback';
import { ModelCheckpoint } from '../../src/training/callbacks/model-checkpoint';
import { CheckpointError } from '../../src/training/errors';
import type { Batch, BatchSource } from '../../src/training/types';
import { ArraySource, tinyModel } from '../training/helpers';

function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-hostile-train-'));
  return fn(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

async function folder(root: string, classes: Record<string, number>): Promise<void> {
  for (const [cls, n] of Object.entries(classes)) {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = await sharp(Buffer.alloc(8 * 8 * 3, 30 * i + 5), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
      fs.writeFileSync(path.join(root, cls, `${i}.png`), px);
    }
  }
}

function compiled(): tf.LayersModel {
  const model = tinyModel('multi');
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Counts batches drawn from a source. */
function counting(source: BatchSource): BatchSource & { drawn: number } {
  const out = Object.create(source) as BatchSource & { drawn: number };
  out.drawn = 0;
  out.next = async (): Promise<Batch> => {
    out.drawn++;
    return source.next();
  };
  return out;
}

class EpochCounter extends Callback {
  epochs = 0;
  override async onEpochBegin(): Promise<void> {
    this.epochs++;
  }
}

test('R8: train {a, b, empty} with validation {a, b, onlytest}: fit refuses before any epoch, naming both sides', async () => {
  await withTmp(async (dir) => {
    await folder(path.join(dir, 'train'), { a: 3, b: 3, empty: 0 });
    await folder(path.join(dir, 'valid'), { a: 2, b: 2, onlytest: 2 });
    const gen = new ImageDataGenerator({ rescale: 1 / 255 });
    const flow = { targetSize: [8, 8] as [number, number], batchSize: 4, workers: 0, verbose: false, seed: 1 };
    const train = gen.flowFromDirectory(path.join(dir, 'train'), flow);
    const valid = gen.flowFromDirectory(path.join(dir, 'valid'), { ...flow, shuffle: false });
    const model = compiled();
    const counter = new EpochCounter();
    try {
      await assert.rejects(fit(model, train, { validationData: valid, epochs: 1, verbose: 0, accelerate: false, callbacks: [counter] }), (err: unknown) => {
        assert.ok(err instanceof ClassMismatchError, String(err));
        assert.match(err.message, /classes only in validationData: onlytest; classes only in the training data: empty/);
        assert.match(err.message, /classes: \['a', 'b', 'empty'\]/);
        return true;
      });
      assert.equal(counter.epochs, 0);
      // Trained on train, the model refuses to be scored on the mismatched folder; an explicit labelMap is accepted.
      await fit(model, train, { epochs: 1, verbose: 0, accelerate: false });
      await assert.rejects(evaluate(model, valid, { accelerate: false }), ClassMismatchError);
      await assert.rejects(predictIterator(model, valid, { accelerate: false }), ClassMismatchError);
      const res = await predictIterator(model, valid, { accelerate: false, labelMap: [0, 1, 2] });
      assert.equal(res.predictions.length, 6);
    } finally {
      train.dispose();
      valid.dispose();
      model.dispose();
    }
  });
});

test('R8: differently named classes that pair by prefix with the same indices are printed, and training goes on', async () => {
  class Renamed extends ArraySource {
    override readonly classNames = ['red_left', 'green_right', 'blue_upper'];
  }
  const model = compiled();
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warned.push(a.join(' '));
  try {
    const h = await fit(model, new ArraySource(12, 6), { validationData: new Renamed(6, 6), epochs: 1, verbose: 0, accelerate: false });
    assert.equal(h.epoch.length, 1);
    const note = warned.find((w) => w.startsWith('Note: the class folders of validationData are named differently')) ?? '';
    assert.match(note, /red_left\s+0\s+→\s+red\s+0/);
  } finally {
    console.warn = warn;
    model.dispose();
  }
});

test('epochs: -1 and a ModelCheckpoint template naming an unknown field fail when fit starts, before any batch', async () => {
  await withTmp(async (dir) => {
    const model = compiled();
    try {
      const src = counting(new ArraySource(12, 6));
      await assert.rejects(fit(model, src, { epochs: -1, verbose: 0, accelerate: false }), /Expected non-negative integer for epochs but received -1/);
      const ckpt = new ModelCheckpoint({ filepath: path.join(dir, 'ck-{epoch:02d}-{val_acc:.2f}.tlw'), saveWeightsOnly: true });
      const t0 = Date.now();
      await assert.rejects(fit(model, src, { epochs: 2, verbose: 0, accelerate: false, validationData: new ArraySource(6, 6), callbacks: [ckpt] }), (err: unknown) => {
        assert.ok(err instanceof CheckpointError, String(err));
        assert.match(err.message, /'val_acc' is not available; available fields: epoch, loss, accuracy, val_loss, val_accuracy, learning_rate/);
        assert.match(err.message, /checked when fit starts/);
        return true;
      });
      assert.ok(Date.now() - t0 < 2000);
      const badSpec = new ModelCheckpoint({ filepath: path.join(dir, 'ck-{epoch:x}.tlw') });
      await assert.rejects(fit(model, src, { epochs: 1, verbose: 0, accelerate: false, callbacks: [badSpec] }), /unsupported format spec 'x'/);
      assert.equal(src.drawn, 0, 'no batch was drawn');
      assert.deepEqual(fs.readdirSync(dir), [], 'no checkpoint written');
    } finally {
      model.dispose();
    }
  });
});
