/**
 * Converts an inference-only TF.js functional model (the frozen prefix of a transfer-learning
 * model: InceptionV3-style conv/BN/pool/concat blocks plus a small dense head) to ONNX, so it can
 * run on onnxruntime. Frozen BatchNormalization is folded into the preceding convolution:
 * w' = w·γ/√(var+ε), b' = (b−μ)·γ/√(var+ε)+β (γ = 1 with `scale: false`, β = 0 with `center: false`).
 *
 * Layout: Keras tensors are NHWC; ONNX's Conv/Pool are NCHW. The graph transposes once at each
 * 4-D input (NHWC→NCHW) and once at each 4-D output (NCHW→NHWC); inputs and outputs keep the
 * Keras shapes, names and a symbolic batch dimension 'N'. Keras's 'same' padding pads more at
 * the end, which is ONNX's SAME_UPPER; Keras's 'same' average pooling ignores the padding,
 * which is `count_include_pad = 0`.
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxConversionError } from './errors';
import { OnnxGraph, type OnnxAttribute } from './onnx-graph';

/** A converted tensor: its ONNX name and rank (rank-4 tensors are held as NCHW). */
interface Value {
  name: string;
  rank: number;
}

/** Layer classes the converter understands (custom classes match by their name's ending). */
export const ONNX_SUPPORTED_LAYERS: readonly string[] = [
  'InputLayer', 'Conv2D', 'BatchNormalization', 'Activation', 'MaxPooling2D', 'AveragePooling2D', 'Concatenate', 'Add',
  'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten', 'Dense', 'Dropout',
];

type Config = Record<string, unknown>;
type AnyLayer = tf.layers.Layer;

/**
 * The supported class a layer is converted as: its own class name, or for a custom class the
 * longest supported name its class name ends with (`'TransferlabBatchNormalization'` →
 * `'BatchNormalization'`); any other name unchanged.
 */
export function layerKind(layer: tf.layers.Layer): string {
  const name = layer.getClassName();
  if (ONNX_SUPPORTED_LAYERS.includes(name)) return name;
  // Custom classes ('TransferlabBatchNormalization'): the longest supported name they end with.
  const match = ONNX_SUPPORTED_LAYERS.filter((k) => name.endsWith(k)).sort((a, b) => b.length - a.length)[0];
  return match ?? name;
}

/** A Keras size or stride (a number, or `[h, w]`) as `[h, w]`. */
export function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/** A layer's weight: its shape, and a function reading its values (a fresh copy each call). */
interface WeightRef {
  shape: number[];
  read: () => Float32Array;
}

/** The weights of a layer, keyed by the last part of the variable name ('kernel', 'gamma'...), unread. */
function weightRefs(layer: AnyLayer): Map<string, WeightRef> {
  const out = new Map<string, WeightRef>();
  for (const w of layer.weights) {
    const key = weightKey(w);
    out.set(key, { shape: [...w.shape] as number[], read: () => w.read().dataSync() as Float32Array });
  }
  return out;
}

/** The key of a weight inside its layer: the last part of its name ('kernel', 'beta', 'moving_mean'...). */
export function weightKey(w: tf.LayerVariable): string {
  return (w.originalName ?? w.name).split('/').pop()?.replace(/_\d+$/, '').replace(/:\d+$/, '') ?? w.name;
}

/** Weights of a layer as Float32Arrays, keyed as in {@link weightRefs}. */
function weightsOf(layer: AnyLayer): Map<string, Float32Array> {
  return new Map([...weightRefs(layer)].map(([key, ref]) => [key, ref.read()]));
}

/** γ/√(var+ε) and β − μ·γ/√(var+ε) of a (frozen) BatchNormalization layer. */
function batchNormAffine(layer: AnyLayer): { scale: Float32Array; shift: Float32Array } {
  const config = layer.getConfig() as Config;
  const axis = config.axis;
  if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)))) {
    throw new OnnxConversionError(layer.name, layer.getClassName(), `only channels-last normalization (axis -1) is supported, got axis ${JSON.stringify(axis)}`);
  }
  const eps = Number(config.epsilon ?? 1e-3);
  const w = weightsOf(layer);
  const mean = w.get('moving_mean');
  const variance = w.get('moving_variance');
  if (!mean || !variance) throw new OnnxConversionError(layer.name, layer.getClassName(), 'moving_mean/moving_variance weights not found');
  const gamma = config.scale === false ? undefined : w.get('gamma');
  const beta = config.center === false ? undefined : w.get('beta');
  const scale = new Float32Array(mean.length);
  const shift = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    const s = (gamma ? (gamma[c] as number) : 1) / Math.sqrt((variance[c] as number) + eps);
    scale[c] = s;
    shift[c] = (beta ? (beta[c] as number) : 0) - (mean[c] as number) * s;
  }
  return { scale, shift };
}

/** Maps a Keras (NHWC) axis of a rank-`rank` tensor to our layout's axis. */
function toOnnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a] as number;
}

/**
 * The call of `layer` that belongs to `model`. A layer may have calls in other models too (the
 * tail of `splitFrozenPrefix` re-applies the original layers); only one call inside the model is
 * supported.
 *
 * @throws OnnxConversionError for a layer called more than once inside the model
 */
function nodeIn(model: tf.LayersModel, layer: AnyLayer): AnyLayer['inboundNodes'][number] | undefined {
  const keys = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  const mine = layer.inboundNodes.filter((_, i) => keys === undefined || keys.has(`${layer.name}_ib-${i}`));
  if (mine.length > 1) throw new OnnxConversionError(layer.name, layer.getClassName(), 'shared layers (called more than once) are not supported');
  return mine[0];
}

/**
 * The layers feeding `layer`'s call inside `model`, in input order.
 *
 * @throws OnnxConversionError for a layer called more than once inside the model, or not connected
 */
export function inboundLayersIn(model: tf.LayersModel, layer: tf.layers.Layer): tf.layers.Layer[] {
  const node = nodeIn(model, layer);
  if (node === undefined) throw new OnnxConversionError(layer.name, layer.getClassName(), 'the layer is not connected');
  return node.inboundLayers;
}

class Converter {
  readonly graph: OnnxGraph;
  private readonly values = new Map<string, Value>();
  private readonly consumers = new Map<string, AnyLayer[]>();
  private readonly folded = new Set<string>();

  constructor(private readonly model: tf.LayersModel) {
    this.graph = new OnnxGraph(model.name);
  }

  private fail(layer: AnyLayer, reason: string): never {
    throw new OnnxConversionError(layer.name, layer.getClassName(), reason);
  }

  private nodeOf(layer: AnyLayer): AnyLayer['inboundNodes'][number] | undefined {
    return nodeIn(this.model, layer);
  }

  private inputsOf(layer: AnyLayer): Value[] {
    const node = this.nodeOf(layer);
    if (!node) this.fail(layer, 'the layer is not connected');
    return node.inboundLayers.map((l) => {
      const v = this.values.get(l.name);
      if (!v) this.fail(layer, `its input '${l.name}' was not converted (nested models are not supported: convert a flat model)`);
      return v;
    });
  }

  private activation(layer: AnyLayer, value: Value, name: unknown, outName: string): Value {
    switch (name ?? 'linear') {
      case 'linear': return value;
      case 'relu': return { name: this.graph.addNode('Relu', [value.name], outName), rank: value.rank };
      case 'sigmoid': return { name: this.graph.addNode('Sigmoid', [value.name], outName), rank: value.rank };
      case 'tanh': return { name: this.graph.addNode('Tanh', [value.name], outName), rank: value.rank };
      case 'softmax': return { name: this.graph.addNode('Softmax', [value.name], outName, { axis: toOnnxAxis(-1, value.rank) }), rank: value.rank };
      default: return this.fail(layer, `activation '${String(name)}' is not supported (linear, relu, sigmoid, tanh, softmax are)`);
    }
  }

  convert(): void {
    const m = this.model;
    for (const layer of m.layers) {
      for (const l of this.nodeOf(layer)?.inboundLayers ?? []) {
        this.consumers.set(l.name, [...(this.consumers.get(l.name) ?? []), layer]);
      }
    }
    m.inputLayers.forEach((layer, i) => {
      const shape = m.inputs[i]?.shape ?? [];
      const name = this.graph.unique(layer.name);
      this.graph.inputs.push({ name, shape: shape.map((d, j) => d ?? (j === 0 ? 'N' : `${name}_dim${j}`)) });
      const value = shape.length === 4 ? this.graph.addNode('Transpose', [name], `${layer.name}/nchw`, { perm: [0, 3, 1, 2] }) : name;
      this.values.set(layer.name, { name: value, rank: shape.length });
    });
    const outputNames = new Set(m.outputLayers.map((l) => l.name));
    for (const layer of m.layers) {
      if (this.values.has(layer.name)) continue; // input layers, BN folded into a conv
      this.values.set(layer.name, this.layer(layer, outputNames));
    }
    m.outputLayers.forEach((layer, i) => {
      const v = this.values.get(layer.name) as Value;
      const shape = m.outputs[i]?.shape ?? [];
      const name = this.graph.unique(`${layer.name}:out`);
      const op = v.rank === 4 ? 'Transpose' : 'Identity';
      this.graph.nodes.push({ opType: op, inputs: [v.name], outputs: [name], name: this.graph.unique(`${name}/${op}`), attributes: v.rank === 4 ? { perm: [0, 2, 3, 1] } : {} });
      this.graph.outputs.push({ name, shape: shape.map((d, j) => d ?? (j === 0 ? 'N' : `${name}_dim${j}`)) });
    });
  }

  private layer(layer: AnyLayer, outputNames: Set<string>): Value {
    const config = layer.getConfig() as Config;
    const inputs = this.inputsOf(layer);
    const x = inputs[0] as Value;
    const out = layer.name;
    const g = this.graph;
    const need4d = (): void => { if (x.rank !== 4) this.fail(layer, `expected a 4-D input, got rank ${x.rank}`); };
    if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') this.fail(layer, "only dataFormat 'channelsLast' is supported");
    switch (layerKind(layer)) {
      case 'Conv2D': {
        need4d();
        const w = weightRefs(layer);
        const kernelRef = w.get('kernel');
        if (!kernelRef) this.fail(layer, 'kernel weight not found');
        const [kh, kw] = pair(config.kernelSize, 1);
        const filters = Number(config.filters);
        const cin = kernelRef.shape.reduce((a, b) => a * b, 1) / (kh * kw * filters);
        // Fold a following frozen BatchNormalization when it is the conv's only consumer.
        const next = this.consumers.get(layer.name) ?? [];
        const bn = next.length === 1 && layerKind(next[0] as AnyLayer) === 'BatchNormalization' && (config.activation ?? 'linear') === 'linear' && !outputNames.has(layer.name)
          ? (next[0] as AnyLayer) : undefined;
        const affine = bn ? batchNormAffine(bn) : undefined;
        // The weight is computed when the model is encoded (one layer's copy at a time).
        const weight = (): Float32Array => {
          const kernel = kernelRef.read();
          const out = new Float32Array(kernel.length);
          // Keras [kh, kw, in, out] → ONNX [out, in, kh, kw], scaled per output channel.
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < cin; c++) for (let o = 0; o < filters; o++) {
            out[((o * cin + c) * kh + i) * kw + j] = (kernel[((i * kw + j) * cin + c) * filters + o] as number) * (affine ? (affine.scale[o] as number) : 1);
          }
          return out;
        };
        const bias = new Float32Array(filters);
        const b = config.useBias === false ? undefined : w.get('bias')?.read();
        for (let o = 0; o < filters; o++) {
          bias[o] = ((b ? (b[o] as number) : 0) * (affine ? (affine.scale[o] as number) : 1)) + (affine ? (affine.shift[o] as number) : 0);
        }
        const [sh, sw] = pair(config.strides, 1);
        const [dh, dw] = pair(config.dilationRate, 1);
        const padding: Record<string, OnnxAttribute> = config.padding === 'same' ? { auto_pad: 'SAME_UPPER' } : config.padding === 'valid' ? { pads: [0, 0, 0, 0] } : this.fail(layer, `padding '${String(config.padding)}' is not supported`);
        const outName = bn ? bn.name : out;
        const conv = g.addNode('Conv', [x.name, g.addFloat(`${out}/W`, [filters, cin, kh, kw], weight), g.addFloat(`${out}/B`, [filters], bias)], outName, {
          kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], ...padding,
        });
        const value = this.activation(layer, { name: conv, rank: 4 }, config.activation, `${out}/act`);
        if (bn) {
          this.folded.add(bn.name);
          this.values.set(bn.name, value);
        }
        return value;
      }
      case 'BatchNormalization': {
        const { scale, shift } = batchNormAffine(layer);
        const dims = x.rank === 4 ? [scale.length, 1, 1] : [scale.length];
        const mul = g.addNode('Mul', [x.name, g.addFloat(`${out}/scale`, dims, scale)], `${out}/mul`);
        return { name: g.addNode('Add', [mul, g.addFloat(`${out}/shift`, dims, shift)], out), rank: x.rank };
      }
      case 'Activation':
        return this.activation(layer, x, config.activation, out);
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        need4d();
        const pool = pair(config.poolSize, 2);
        const strides = pair(config.strides ?? config.poolSize, 2);
        const avg = layerKind(layer) === 'AveragePooling2D';
        const padding: Record<string, OnnxAttribute> = config.padding === 'same' ? { auto_pad: 'SAME_UPPER' } : { pads: [0, 0, 0, 0] };
        return {
          name: g.addNode(avg ? 'AveragePool' : 'MaxPool', [x.name], out, { kernel_shape: pool, strides, ...padding, ...(avg ? { count_include_pad: 0 } : {}) }),
          rank: 4,
        };
      }
      case 'Concatenate':
        return { name: g.addNode('Concat', inputs.map((v) => v.name), out, { axis: toOnnxAxis(Number(config.axis ?? -1), x.rank) }), rank: x.rank };
      case 'Add': {
        let acc = x.name;
        inputs.slice(1).forEach((v, i) => { acc = g.addNode('Add', [acc, v.name], i === inputs.length - 2 ? out : `${out}/partial`); });
        return { name: acc, rank: x.rank };
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        need4d();
        if (config.keepDims === true) this.fail(layer, 'keepDims: true is not supported');
        const pooled = g.addNode(layerKind(layer) === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], `${out}/pool`);
        return { name: g.addNode('Flatten', [pooled], out, { axis: 1 }), rank: 2 };
      }
      case 'Flatten': {
        if (x.rank === 2) return x;
        // Keras flattens in NHWC order: transpose back before flattening.
        const nhwc = x.rank === 4 ? g.addNode('Transpose', [x.name], `${out}/nhwc`, { perm: [0, 2, 3, 1] }) : x.name;
        return { name: g.addNode('Flatten', [nhwc], out, { axis: 1 }), rank: 2 };
      }
      case 'Dense': {
        if (x.rank !== 2) this.fail(layer, `Dense on a rank-${x.rank} input is not supported; add Flatten or GlobalAveragePooling2D first`);
        const w = weightRefs(layer);
        const kernel = w.get('kernel');
        if (!kernel) this.fail(layer, 'kernel weight not found');
        const units = Number(config.units);
        const inputs2 = [x.name, g.addFloat(`${out}/W`, [kernel.shape.reduce((a, b) => a * b, 1) / units, units], kernel.read)];
        const b = config.useBias === false ? undefined : w.get('bias');
        if (b) inputs2.push(g.addFloat(`${out}/B`, [units], b.read));
        const y = g.addNode('Gemm', inputs2, (config.activation ?? 'linear') === 'linear' ? out : `${out}/linear`);
        return this.activation(layer, { name: y, rank: 2 }, config.activation, out);
      }
      case 'Dropout':
        return x;
      default:
        return this.fail(layer, `layer class not supported; supported: ${ONNX_SUPPORTED_LAYERS.join(', ')}`);
    }
  }
}

/** Options of {@link toOnnx}. */
export interface ToOnnxArgs {
  /** `producer_version` written into the model. Default `'0.1.0'`. */
  producerVersion?: string;
}

/**
 * Converts an inference-only functional TF.js model to an ONNX model (IR 8, opset 17).
 * Training-time behaviour is dropped: Dropout is the identity, BatchNormalization uses its moving
 * statistics. Inputs and outputs keep the Keras names and NHWC shapes with batch dimension 'N'
 * (output names are `<layer>:out`; read them from the session's `inputNames`/`outputNames`).
 *
 * @param model - a functional `tf.LayersModel` (a `tf.Sequential` works too) made of the layers in
 *   {@link ONNX_SUPPORTED_LAYERS}; not disposed, weights are only read
 * @param args - see {@link ToOnnxArgs}
 * @returns the serialized ModelProto, ready for `ort.InferenceSession.create(bytes)`
 * @throws OnnxConversionError naming the first layer that cannot be converted
 * @example
 * const session = await ort.InferenceSession.create(toOnnx(model), { intraOpNumThreads: 2 });
 * const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', pixels, [1, 224, 224, 3]) });
 */
export function toOnnx(model: tf.LayersModel, args: ToOnnxArgs = {}): Uint8Array {
  return converted(model).encode(args.producerVersion ?? '0.1.0');
}

/**
 * {@link toOnnx} without the whole encoding in memory: the model goes to `sink` piece by piece,
 * the weights one layer at a time (each read from TF.js, converted, handed out and dropped), for
 * writing a large model straight to a file. The bytes are the same as `toOnnx`'s.
 *
 * @param model - as in {@link toOnnx}
 * @param sink - receives the encoding in order; a piece is not valid after `sink` returns (copy or write it)
 * @param args - see {@link ToOnnxArgs}
 * @returns the size of the encoding in bytes
 * @throws OnnxConversionError naming the first layer that cannot be converted (before anything reaches `sink`)
 * @example
 * const fd = fs.openSync('prefix.onnx', 'w');
 * emitOnnx(prefix, (chunk) => fs.writeSync(fd, chunk));
 * fs.closeSync(fd);
 */
export function emitOnnx(model: tf.LayersModel, sink: (chunk: Uint8Array) => void, args: ToOnnxArgs = {}): number {
  return converted(model).emit(args.producerVersion ?? '0.1.0', sink);
}

function converted(model: tf.LayersModel): OnnxGraph {
  const inner = (model as unknown as { model?: tf.LayersModel }).model;
  const target = model.inputLayers.length === 0 && inner ? inner : model;
  const converter = new Converter(target);
  converter.convert();
  return converter.graph;
}
