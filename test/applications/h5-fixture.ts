// Writes .h5 weight files for tests as Keras 2 wrote them (h5py under Keras's
// `save_weights_to_hdf5_group`), with h5wasm directly (not through the loader):
// - h5py's library bounds ('earliest'; h5wasm 0.10 defaults to 'v108': superblock 2 and
//   checksummed object headers): superblock 0, version-1 object headers;
// - root attributes `layer_names` (numpy `S<n>`: a fixed-length, null-padded ASCII string array,
//   n = the longest name in bytes), `backend` and `keras_version` (fixed-length scalars, `S<n>`);
// - one group per layer with attribute `weight_names` (`S<n>` array of `<layer>/<weight>:0`, in
//   the layer's order; an empty float64 array for a layer without weights, as h5py stores `[]`)
//   and float32 datasets at `<layer>/<layer>/<weight>:0`.
//
// h5wasm 0.10 writes fixed-length strings only as 'A<n>' (HDF5 C string: ASCII, NULLTERM) or
// 'S<n>' (Fortran string: UTF-8, SPACEPAD); it has no NULLPAD. Its 'A<n>' bytes are h5py's bytes
// (each string zero-filled to n), only the padding flag in the datatype differs. So after writing,
// the flag of each of these attributes is set to NULLPAD in place: one byte of the datatype that
// follows the attribute's name in its (version 1) attribute message; version-1 object headers
// carry no checksum. Every attribute written must be found exactly once.
import * as fs from 'node:fs';
import { loadH5wasm, type H5Group } from '../../src/applications/h5';

export interface FixtureWeight {
  name: string; // e.g. 'kernel:0'; stored as `<layer>/<name>`
  shape: number[];
  data: Float32Array;
}
export interface FixtureLayer {
  name: string;
  weights: FixtureWeight[];
}
export interface WriteKerasH5Options {
  /** Split `layer_names` into `layer_names0`, `layer_names1` (as Keras does past 64 KB). Default false. */
  chunkLayerNames?: boolean;
  /** Root attribute `backend`. Default 'tensorflow'. */
  backend?: string;
  /** Root attribute `keras_version`. Default '2.1.5'. */
  kerasVersion?: string;
}

/** HDF5 datatype message of a fixed-length string: version 1, class 3 (string). */
const STRING_TYPE_VERSION_CLASS = 0x13;
/** Its first bit-field byte: padding in bits 0-3 (0 NULLTERM, 1 NULLPAD), character set in 4-7 (0 ASCII). */
const NULLPAD_ASCII = 0x01;

interface WrittenString {
  name: string;
  size: number;
}

function writeFixedStrings(owner: H5Group, name: string, values: string | string[], written: WrittenString[]): void {
  const list = typeof values === 'string' ? [values] : values;
  const size = Math.max(1, ...list.map((v) => Buffer.byteLength(v)));
  owner.create_attribute(name, values, typeof values === 'string' ? [] : [values.length], `A${size}`);
  written.push({ name, size });
}

/** Sets the padding of every attribute in `written` from NULLTERM to NULLPAD, in the file's bytes. */
function markNullPadded(path: string, written: WrittenString[]): void {
  const bytes = fs.readFileSync(path);
  for (const name of new Set(written.map((w) => w.name))) {
    const expected = new Map<number, number>();
    for (const w of written) if (w.name === name) expected.set(w.size, (expected.get(w.size) ?? 0) + 1);
    const found = new Map<number, number>();
    // Attribute message v1: version 1, reserved, name size (with NUL), datatype size 8, dataspace size;
    // then the name, NUL-padded to a multiple of 8; then the datatype.
    const field = Buffer.alloc(Math.ceil((name.length + 1) / 8) * 8);
    field.write(name, 'latin1');
    const head = Buffer.from([1, 0, (name.length + 1) & 0xff, (name.length + 1) >> 8, 8, 0]);
    for (let at = bytes.indexOf(field); at >= 0; at = bytes.indexOf(field, at + 1)) {
      if (at < 8 || !bytes.subarray(at - 8, at - 2).equals(head)) continue;
      const type = at + field.length;
      if (bytes[type] !== STRING_TYPE_VERSION_CLASS || bytes[type + 1] !== 0 || bytes[type + 2] !== 0 || bytes[type + 3] !== 0) continue;
      const size = bytes.readUInt32LE(type + 4);
      if (!expected.has(size)) continue;
      bytes[type + 1] = NULLPAD_ASCII;
      found.set(size, (found.get(size) ?? 0) + 1);
    }
    for (const [size, count] of expected) {
      if (found.get(size) !== count) {
        throw new Error(`h5-fixture: expected ${count} '${name}' attribute(s) of S${size} in ${path} but found ${found.get(size) ?? 0}`);
      }
    }
  }
  fs.writeFileSync(path, bytes);
}

/** Writes `layers` (in the saving model's order) to a new `.h5` file at `path`, as Keras 2 did. */
export async function writeKerasH5(path: string, layers: FixtureLayer[], opts: WriteKerasH5Options = {}): Promise<void> {
  const h5 = await loadH5wasm();
  const written: WrittenString[] = [];
  const file = new h5.File(path, 'w', { libver: ['earliest', 'latest'] });
  try {
    const names = layers.map((l) => l.name);
    if (opts.chunkLayerNames) {
      // np.array_split keeps the array's dtype: both chunks are S<longest name>.
      const size = Math.max(...names.map((n) => Buffer.byteLength(n)));
      const half = Math.ceil(names.length / 2);
      for (const [chunk, part] of [names.slice(0, half), names.slice(half)].entries()) {
        file.create_attribute(`layer_names${chunk}`, part, [part.length], `A${size}`);
        written.push({ name: `layer_names${chunk}`, size });
      }
    } else {
      writeFixedStrings(file, 'layer_names', names, written);
    }
    writeFixedStrings(file, 'backend', opts.backend ?? 'tensorflow', written);
    writeFixedStrings(file, 'keras_version', opts.kerasVersion ?? '2.1.5', written);
    for (const layer of layers) {
      const group = file.create_group(layer.name);
      if (layer.weights.length === 0) {
        group.create_attribute('weight_names', [], [0], '<d');
        continue;
      }
      writeFixedStrings(group, 'weight_names', layer.weights.map((w) => `${layer.name}/${w.name}`), written);
      const inner = group.create_group(layer.name);
      for (const w of layer.weights) inner.create_dataset({ name: w.name, data: w.data, shape: w.shape, dtype: '<f' });
    }
  } finally {
    file.close();
  }
  markNullPadded(path, written);
}

/** Rewrites the root attribute `layer_names` of a file from {@link writeKerasH5} (e.g. to reorder layers). */
export async function rewriteLayerNames(path: string, names: string[]): Promise<void> {
  const h5 = await loadH5wasm();
  const written: WrittenString[] = [];
  const file = new h5.File(path, 'a', { libver: ['earliest', 'latest'] });
  try {
    file.delete_attribute('layer_names');
    writeFixedStrings(file, 'layer_names', names, written);
  } finally {
    file.close();
  }
  markNullPadded(path, written);
}

/**
 * A deterministic value for element `j` of weight `i` of weighted layer `k` (i < 4, k < 2048):
 * exact in float32, different for every tensor and for neighbouring elements.
 */
export function fixtureValue(k: number, i: number, j: number): number {
  return k * 4 + i + (j % 4096) / 4096;
}
