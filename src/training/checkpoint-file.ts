/**
 * Checkpoint files: one file holding a JSON manifest followed by raw tensor data, written
 * atomically (temporary file in the same folder, fsync, rename) so a crash mid-save leaves the
 * previous checkpoint intact and loadable. Used by ModelCheckpoint and BackupAndRestore.
 *
 * Layout: 8 bytes magic `TLCKPT01`, uint32 LE manifest length, manifest (UTF-8 JSON), data.
 * TF.js's `file://` handler needs tfjs-node, which is optional; this format needs only `fs`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CheckpointError } from './errors';

const MAGIC = 'TLCKPT01';

/** One stored tensor. */
export interface StoredTensor {
  /** Group, e.g. `'model'`, `'optimizer'`. */
  group: string;
  /** Name (weight name or optimizer slot name). */
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

/** Manifest of a checkpoint file. */
export interface CheckpointManifest {
  format: 'transferlab-checkpoint';
  version: 1;
  /** `'weights'` (weights only), `'model'` (topology + weights) or `'backup'` (BackupAndRestore). */
  kind: 'weights' | 'model' | 'backup';
  /** Free-form JSON (topology, epoch, callback states, ...). */
  meta: Record<string, unknown>;
  tensors: Array<{ group: string; name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; byteLength: number }>;
}

/**
 * File-system operations used for writing, replaceable in tests to simulate a crash mid-write.
 * @internal
 */
export const checkpointFs = {
  /** Writes `data` to an open file descriptor. */
  write: (fd: number, data: Uint8Array): void => {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
  },
};

/** Serialises a manifest and tensors into one buffer. */
export function encodeCheckpoint(kind: CheckpointManifest['kind'], meta: Record<string, unknown>, tensors: StoredTensor[]): Buffer {
  let offset = 0;
  const entries = tensors.map((t) => {
    const e = { group: t.group, name: t.name, shape: t.shape, dtype: t.dtype, offset, byteLength: t.data.byteLength };
    offset += t.data.byteLength;
    return e;
  });
  const manifest: CheckpointManifest = { format: 'transferlab-checkpoint', version: 1, kind, meta, tensors: entries };
  const header = Buffer.from(JSON.stringify(manifest), 'utf8');
  const out = Buffer.alloc(8 + 4 + header.length + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  let pos = 12 + header.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Reads a checkpoint file.
 *
 * @throws CheckpointError when the file is missing, truncated or not a checkpoint
 */
export function readCheckpoint(file: string): { manifest: CheckpointManifest; tensors: StoredTensor[] } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new CheckpointError(`Cannot read checkpoint ${file}: ${(err as Error).message}`, file, { cause: err });
  }
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new CheckpointError(`Expected a transferlab checkpoint (magic ${MAGIC}) in ${file}, but the file starts with ${JSON.stringify(buf.toString('latin1', 0, Math.min(8, buf.length)))}. Was it written by another tool?`, file);
  }
  const headerLength = buf.readUInt32LE(8);
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as CheckpointManifest;
  } catch (err) {
    throw new CheckpointError(`Checkpoint ${file} has a corrupt manifest (${(err as Error).message}); the file is probably truncated.`, file, { cause: err });
  }
  const base = 12 + headerLength;
  const tensors = manifest.tensors.map((e) => {
    if (base + e.offset + e.byteLength > buf.length) {
      throw new CheckpointError(`Checkpoint ${file} is truncated: tensor '${e.name}' needs bytes up to ${base + e.offset + e.byteLength} but the file has ${buf.length}.`, file);
    }
    const bytes = new Uint8Array(e.byteLength);
    buf.copy(bytes, 0, base + e.offset, base + e.offset + e.byteLength);
    const data = e.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return { group: e.group, name: e.name, shape: e.shape, dtype: e.dtype, data };
  });
  return { manifest, tensors };
}

/**
 * Writes `data` to `file` atomically: a temporary file in the same folder is written and fsynced,
 * then renamed over `file`. On failure the temporary file is removed and `file` is untouched.
 *
 * @throws CheckpointError when writing fails
 */
export function writeFileAtomic(file: string, data: Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w');
    checkpointFs.write(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new CheckpointError(`Could not write checkpoint ${file}: ${(err as Error).message}. The previous file, if any, is unchanged.`, file, { cause: err });
  }
}

/** Reads tensors' values into {@link StoredTensor}s (synchronously; small models and checkpoints). */
export function storeTensors(group: string, named: Array<{ name: string; tensor: tf.Tensor }>): StoredTensor[] {
  return named.map(({ name, tensor }) => {
    const dtype = tensor.dtype === 'int32' || tensor.dtype === 'bool' ? 'int32' : 'float32';
    const raw = tensor.dataSync();
    const data = dtype === 'int32' ? Int32Array.from(raw as ArrayLike<number>) : Float32Array.from(raw as ArrayLike<number>);
    return { group, name, shape: tensor.shape.slice(), dtype, data };
  });
}

/** Creates a tensor from a stored one; the caller disposes it. */
export function toTensor(t: StoredTensor): tf.Tensor {
  return tf.tensor(t.data, t.shape, t.dtype);
}

/** The model's weights (trainable and not, in `model.weights` order) as stored tensors. */
export function storeModelWeights(model: tf.LayersModel, group = 'model'): StoredTensor[] {
  return storeTensors(group, model.weights.map((w) => ({ name: w.originalName ?? w.name, tensor: w.read() })));
}

/**
 * Assigns stored weights to `model` by position, checking count and shapes.
 *
 * @throws CheckpointError when the count or a shape differs
 */
export function assignModelWeights(model: tf.LayersModel, stored: StoredTensor[], file: string): void {
  const weights = model.weights;
  if (stored.length !== weights.length) {
    throw new CheckpointError(`Checkpoint ${file} holds ${stored.length} weights but model '${model.name}' has ${weights.length}. Load it into the same architecture it was saved from.`, file);
  }
  stored.forEach((s, i) => {
    const shape = weights[i].shape;
    if (shape.length !== s.shape.length || shape.some((d, j) => d !== s.shape[j])) {
      throw new CheckpointError(`Weight ${i} ('${weights[i].name}') of model '${model.name}' has shape [${shape.join(', ')}] but checkpoint ${file} stores [${s.shape.join(', ')}] for '${s.name}'.`, file);
    }
  });
  const tensors = stored.map(toTensor);
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Saves a model's weights to one checkpoint file, atomically.
 *
 * @param model - the model
 * @param file - destination path (parent folders are created)
 * @throws CheckpointError when writing fails (the previous file stays loadable)
 * @example
 * saveWeightsFile(model, 'checkpoints/best.weights.tlw');
 */
export function saveWeightsFile(model: tf.LayersModel, file: string): void {
  writeFileAtomic(file, encodeCheckpoint('weights', { modelName: model.name }, storeModelWeights(model)));
}

/**
 * Loads weights saved by {@link saveWeightsFile} (or a full-model checkpoint) into `model`.
 *
 * @throws CheckpointError when the file is unreadable or does not match the model
 * @example
 * loadWeightsFile(model, 'checkpoints/best.weights.tlw');
 */
export function loadWeightsFile(model: tf.LayersModel, file: string): void {
  const { tensors } = readCheckpoint(file);
  assignModelWeights(model, tensors.filter((t) => t.group === 'model'), file);
}

/**
 * Saves a model (topology JSON and weights) to one checkpoint file, atomically.
 *
 * @param model - the model
 * @param file - destination path (parent folders are created)
 * @param extra - more JSON to keep in the manifest's `meta` (e.g. class names); default none
 * @throws CheckpointError when writing fails
 * @example
 * saveModelFile(model, 'checkpoints/model.tlm');
 */
export function saveModelFile(model: tf.LayersModel, file: string, extra: Record<string, unknown> = {}): void {
  const topology = model.toJSON(null, false) as object;
  writeFileAtomic(file, encodeCheckpoint('model', { ...extra, modelName: model.name, modelTopology: topology }, storeModelWeights(model)));
}

/**
 * Loads a model saved by {@link saveModelFile}, with the manifest's `meta`. Custom layers must be
 * registered with `tf.serialization.registerClass` before loading.
 *
 * @returns a new model (the caller disposes it) and the manifest's meta
 * @throws CheckpointError when the file is unreadable or holds only weights
 */
export async function loadModelFileWithMeta(file: string): Promise<{ model: tf.LayersModel; meta: Record<string, unknown> }> {
  const { manifest, tensors } = readCheckpoint(file);
  if (manifest.kind !== 'model') {
    throw new CheckpointError(`Checkpoint ${file} holds ${manifest.kind} only, not a model; build the model and use loadWeightsFile instead.`, file);
  }
  const model = await tf.models.modelFromJSON({ modelTopology: manifest.meta.modelTopology } as Parameters<typeof tf.models.modelFromJSON>[0]);
  try {
    assignModelWeights(model, tensors.filter((t) => t.group === 'model'), file);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, meta: manifest.meta };
}

/**
 * Loads a model saved by {@link saveModelFile}. Custom layers must be registered with
 * `tf.serialization.registerClass` before loading.
 *
 * @returns a new model; the caller disposes it
 * @throws CheckpointError when the file is unreadable or holds only weights
 */
export async function loadModelFile(file: string): Promise<tf.LayersModel> {
  return (await loadModelFileWithMeta(file)).model;
}
