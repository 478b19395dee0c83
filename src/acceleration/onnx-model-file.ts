/**
 * Hands a TF.js model to ONNX Runtime through a temporary file: the ONNX encoding is streamed to
 * disk a layer's weights at a time (`emitOnnx`) and ONNX Runtime reads the file itself, so the
 * JavaScript side never holds the model's bytes (for InceptionV3's prefix, 82 MB that would
 * otherwise stay in memory until a garbage collection, once on the main thread and once in the
 * worker thread that opens the session). Where no temporary file can be written, the bytes are
 * made in memory instead. No Keras original.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { OnnxConversionError } from './errors';
import { emitOnnx, toOnnx } from './to-onnx';

/** A converted model, ready for `InferenceSession.create`. */
export interface OnnxModelSource {
  /** The path of the temporary `.onnx` file, or the bytes when no file could be written. */
  model: string | Uint8Array;
  /** The first 32 hex digits of the SHA-256 of the encoding (the same for a file and for bytes). */
  fingerprint: string;
  /** Removes the temporary file (once the session is open); safe to call twice. */
  dispose(): void;
}

const STAGING_BYTES = 1 << 20;

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Converts `model` to ONNX into a temporary file (in `os.tmpdir()`), or into memory when that fails.
 *
 * @param model - a convertible model (see `toOnnx`); only read
 * @returns the file (or bytes), its fingerprint, and `dispose` to remove the file
 * @throws OnnxConversionError naming the first layer that cannot be converted
 * @example
 * const source = onnxModelSource(prefix);
 * try { session = await ort.InferenceSession.create(source.model as string); } finally { source.dispose(); }
 */
export function onnxModelSource(model: tf.LayersModel): OnnxModelSource {
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-onnx-'));
    const file = path.join(dir, 'model.onnx');
    const hash = createHash('sha256');
    const fd = fs.openSync(file, 'w');
    try {
      const staging = new Uint8Array(STAGING_BYTES);
      let used = 0;
      emitOnnx(model, (chunk) => {
        hash.update(chunk);
        if (used + chunk.length > STAGING_BYTES) {
          writeAll(fd, staging.subarray(0, used));
          used = 0;
        }
        if (chunk.length > STAGING_BYTES) writeAll(fd, chunk);
        else {
          staging.set(chunk, used);
          used += chunk.length;
        }
      });
      writeAll(fd, staging.subarray(0, used));
    } finally {
      fs.closeSync(fd);
    }
    const done = dir;
    return { model: file, fingerprint: hash.digest('hex').slice(0, 32), dispose: () => fs.rmSync(done, { recursive: true, force: true }) };
  } catch (error) {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    if (error instanceof OnnxConversionError) throw error;
    // No temporary file (read-only or full temporary directory): the bytes in memory.
    const bytes = toOnnx(model);
    return { model: bytes, fingerprint: createHash('sha256').update(bytes).digest('hex').slice(0, 32), dispose: () => undefined };
  }
}
