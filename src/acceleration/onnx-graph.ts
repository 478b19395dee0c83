/**
 * An in-memory ONNX graph (nodes, float initializers, inputs, outputs) and its encoding as an
 * ONNX `ModelProto` (IR version 8, default-domain opset 17). Field numbers from onnx/onnx.proto3.
 * Float initializers may be given as functions that compute their values when the model is
 * encoded, one at a time, so converting a large model never holds all its weights twice.
 */
import { ProtoWriter, type ByteSink } from './protobuf';

/** ONNX IR version written into the model (ONNX 1.10+). */
export const ONNX_IR_VERSION = 8;
/** Opset of the default ('ai.onnx') domain. */
export const ONNX_OPSET = 17;

const FLOAT = 1; // TensorProto.DataType.FLOAT
const INT64 = 7; // TensorProto.DataType.INT64

/** An attribute value: int, string, ints, or `{ float }` for a float. */
export type OnnxAttribute = number | string | number[] | { float: number };

/** One operator node. */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, OnnxAttribute>;
}

/** A graph input or output: name and shape (strings are symbolic dims such as 'N'). */
export interface OnnxValueInfo {
  name: string;
  shape: Array<number | string>;
}

/** Float32 values, or a function that computes them (called at each encoding). */
export type FloatValues = Float32Array | (() => Float32Array);

interface Initializer {
  name: string;
  dims: number[];
  float?: FloatValues;
  int64?: number[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Collects the pieces of a graph and encodes them. Names must be unique; use {@link OnnxGraph.unique}. */
export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly used = new Set<string>();

  constructor(readonly name: string) {}

  /** Returns `base`, or `base_1`, `base_2`... the first name not yet used. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /**
   * Adds a float32 constant; returns its (unique) name.
   *
   * @param values - the values (kept by reference), or a function computing them when the model
   *   is encoded; either way `dims`' element count long
   */
  addFloat(base: string, dims: number[], values: FloatValues): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims: [...dims], float: values });
    return name;
  }

  /** Adds an int64 constant (shapes for Reshape); returns its name. */
  addInt64(base: string, values: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims: [values.length], int64: [...values] });
    return name;
  }

  /** Adds a node; returns its first output's (unique) name. */
  addNode(opType: string, inputs: string[], outputBase: string, attributes: Record<string, OnnxAttribute> = {}): string {
    const output = this.unique(outputBase);
    this.nodes.push({ opType, inputs, outputs: [output], name: this.unique(`${output}/${opType}`), attributes });
    return output;
  }

  /** Encodes the graph as an ONNX ModelProto, in one buffer. */
  encode(producerVersion: string): Uint8Array {
    return this.writer(producerVersion).finish();
  }

  /**
   * Encodes the graph as an ONNX ModelProto piece by piece into `sink` (the weights one
   * initializer at a time), without holding the whole encoding.
   *
   * @returns the encoded size in bytes
   */
  emit(producerVersion: string, sink: ByteSink): number {
    const w = this.writer(producerVersion);
    w.emit(sink);
    return w.size;
  }

  private writer(producerVersion: string): ProtoWriter {
    const w = new ProtoWriter();
    w.int(1, ONNX_IR_VERSION); // ir_version
    w.string(2, 'transferlab'); // producer_name
    w.string(3, producerVersion); // producer_version
    w.message(7, (g) => this.encodeGraph(g)); // graph
    w.message(8, (o) => { o.string(1, ''); o.int(2, ONNX_OPSET); }); // opset_import
    return w;
  }

  private encodeGraph(g: ProtoWriter): void {
    for (const node of this.nodes) g.message(1, (n) => encodeNode(n, node));
    g.string(2, this.name);
    for (const init of this.initializers) g.message(5, (t) => encodeTensor(t, init));
    for (const input of this.inputs) g.message(11, (v) => encodeValueInfo(v, input));
    for (const output of this.outputs) g.message(12, (v) => encodeValueInfo(v, output));
  }
}

function encodeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const i of node.inputs) w.string(1, i);
  for (const o of node.outputs) w.string(2, o);
  w.string(3, node.name);
  w.string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes)) w.message(5, (a) => encodeAttribute(a, name, value));
}

function encodeAttribute(w: ProtoWriter, name: string, value: OnnxAttribute): void {
  w.string(1, name);
  if (typeof value === 'number') {
    w.int(3, value); // i
    w.int(20, 2); // type INT
  } else if (typeof value === 'string') {
    w.bytes(4, new TextEncoder().encode(value)); // s
    w.int(20, 3); // type STRING
  } else if (Array.isArray(value)) {
    w.packedInts(8, value); // ints
    w.int(20, 7); // type INTS
  } else {
    w.float(2, value.float); // f
    w.int(20, 1); // type FLOAT
  }
}

function encodeTensor(w: ProtoWriter, t: Initializer): void {
  w.packedInts(1, t.dims); // dims
  w.int(2, t.float ? FLOAT : INT64); // data_type
  w.string(8, t.name); // name
  if (t.float) {
    const values = t.float;
    const count = t.dims.reduce((a, b) => a * b, 1);
    w.lazyBytes(9, count * 4, () => littleEndian(typeof values === 'function' ? values() : values, t.name, count)); // raw_data, little endian
  } else {
    const raw = new Uint8Array((t.int64 as number[]).length * 8);
    const view = new DataView(raw.buffer);
    (t.int64 as number[]).forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    w.bytes(9, raw);
  }
}

/** The bytes of `values` in little-endian order (a view, not a copy, on little-endian machines). */
function littleEndian(values: Float32Array, name: string, count: number): Uint8Array {
  // Internal invariant of the converter (dims and values come from the same weight): a plain Error.
  if (values.length !== count) throw new Error(`Internal error: initializer '${name}' has ${values.length} values for ${count} elements.`);
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return raw;
}

function encodeValueInfo(w: ProtoWriter, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) => type.message(1, (tensor) => { // TypeProto.tensor_type
    tensor.int(1, FLOAT); // elem_type
    tensor.message(2, (shape) => { // TensorShapeProto
      for (const d of info.shape) {
        shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      }
    });
  }));
}
