/**
 * The one pool of spare pixel buffers: Float32Arrays that were filled, handed over and given back,
 * kept for the next array of the same length. A batch of decoded images (4.8 MB per chunk of 8 at
 * 224×224) is written into a new array, sent to ONNX Runtime's worker thread and dropped; a fresh
 * array costs a page fault per 4 KiB on first touch (≈ 1 ms per image here) and garbage for the
 * collector. The ONNX worker gives its input buffers back (`OnnxWorkerSession.run`), and the image
 * decoder takes them again (`DecodeQueue.decode`). Arrays taken from the pool hold old values:
 * only code that overwrites every element may take them. Holds at most {@link FLOAT_POOL_BYTES}.
 */

/** Upper bound of the bytes the pool keeps (older spares are dropped first): a batch of 32 decoded ahead and its chunks at 224×224. */
export const FLOAT_POOL_BYTES = 64 * 1024 * 1024;

const spares: Float32Array[] = [];
let bytes = 0;

/**
 * A Float32Array of `length` elements: a spare of that length (old contents) or a new, zeroed one.
 *
 * @param length - element count, integer ≥ 0
 * @returns an array the caller owns and must overwrite completely before reading
 */
export function takeFloat32(length: number): Float32Array {
  const i = spares.findIndex((a) => a.length === length);
  if (i < 0) return new Float32Array(length);
  const [array] = spares.splice(i, 1) as [Float32Array];
  bytes -= array.byteLength;
  return array;
}

/**
 * Gives an array back for reuse. Only arrays that fill their own buffer are kept (a view into a
 * larger buffer, or a detached one, is ignored); the caller must not touch it afterwards.
 *
 * @param array - an array nothing else refers to
 */
export function recycleFloat32(array: Float32Array): void {
  if (array.byteLength === 0 || array.byteOffset !== 0 || array.byteLength !== array.buffer.byteLength || array.byteLength > FLOAT_POOL_BYTES) return;
  if (array.buffer instanceof SharedArrayBuffer || spares.includes(array)) return;
  spares.push(array);
  bytes += array.byteLength;
  while (bytes > FLOAT_POOL_BYTES) bytes -= (spares.shift() as Float32Array).byteLength;
}

/** Bytes the pool holds now (for tests and memory reports). */
export function floatPoolBytes(): number {
  return bytes;
}
