/**
 * One training step of a split model's trainable tail as a single ONNX graph: the forward pass in
 * training mode (Dropout masks given, trainable BatchNormalization on batch statistics), the
 * gradient of the loss (Keras's crossentropy on probabilities, clipping included) and the backward
 * pass to every trainable weight, written out op by op (reverse mode). onnxruntime-node has no
 * training API; the tail of a transfer-learning model is small and made of a handful of layer
 * kinds, so its gradients are spelled out here as plain ONNX operators.
 *
 * Every tensor is held as a matrix: a 4-D NHWC tensor as its rows `[N·H·W, C]`, a 2-D one as it
 * is. On that layout a 1×1 convolution and a Dense layer are one matrix product, BatchNormalization
 * reduces over the rows, concatenation joins columns and global average pooling is a mean over
 * `H·W` consecutive rows: no transposes anywhere.
 *
 * Weights are graph inputs, not initializers: the session is built once and reads the current
 * values each step. Outputs: the tail's output, one gradient per trainable weight (in
 * `tail.trainableWeights` order) and the batch mean and variance of each BatchNormalization that
 * trains (the caller updates its moving statistics with them, as the layer would).
 *
 * Supported: InputLayer, Conv2D with a 1×1 kernel and stride 1, Dense, BatchNormalization (channels
 * last; in training mode only transferlab's `BatchNormalization`), Activation and the layers'
 * `activation` (linear, relu, sigmoid, tanh, softmax), Concatenate (last axis), Add,
 * GlobalAveragePooling2D, Flatten, Dropout without `noiseShape`. Anything else is an
 * OnnxConversionError, and the caller trains the tail on TF.js.
 *
 * No Keras original; the gradients are those of TF.js's kernels for the same operations.
 */
import type * as tf from '@tensorflow/tfjs';
import { OnnxConversionError } from './errors';
import { OnnxGraph } from './onnx-graph';
import { inboundLayersIn, layerKind, pair, weightKey } from './to-onnx';

/** Losses whose gradient the graph computes: categorical (one-hot targets) or binary crossentropy on probabilities. */
export type TrainGraphLoss = 'categorical' | 'binary';

/** Keras's `backend.epsilon()`, the clipping of probabilities in its crossentropies. */
const EPSILON = 1e-7;

type AnyLayer = tf.layers.Layer;
type Config = Record<string, unknown>;
type LayerVariable = tf.LayerVariable;

/** A tensor of the graph as a matrix: `channels` columns, `spatial` (= H·W) rows per sample. */
interface Value {
  name: string;
  /** The Keras shape without the batch dimension (`[H, W, C]` or `[C]`). */
  dims: number[];
  channels: number;
  spatial: number;
  /** Depends on a trainable weight (its gradient is needed). */
  grad: boolean;
}

/** A weight read by the graph: the variable and the graph input that receives its values. */
export interface TrainGraphWeight {
  variable: LayerVariable;
  input: string;
}

/** A Dropout layer's multiplier (`floor(u + keep) / keep`), a graph input shaped like the layer's input. */
export interface TrainGraphMask {
  layer: AnyLayer;
  input: string;
  rate: number;
  /** The layer's input shape without the batch dimension. */
  shape: number[];
}

/** The batch statistics of a BatchNormalization that trains: graph outputs of shape `[C]`. */
export interface TrainGraphStatistics {
  layer: AnyLayer;
  mean: string;
  variance: string;
}

/** The graph of one training step, with the names of its inputs and outputs. */
export interface TrainGraph {
  graph: OnnxGraph;
  /** Inputs receiving the tail's inputs (the cut tensors, NHWC), in `tail.inputs` order. */
  features: string[];
  /** Input of the targets, `[N, K]` like the output (one-hot for a categorical loss). */
  target: string;
  /** Input of `1 / N` (shape `[1]`): the loss is the mean over the batch. */
  batchScale: string;
  masks: TrainGraphMask[];
  weights: TrainGraphWeight[];
  /** Output: the tail's output, `[N, K]`. */
  output: string;
  /** Outputs: the loss's gradient for each trainable weight, in `tail.trainableWeights` order. */
  gradients: Array<{ variable: LayerVariable; output: string }>;
  statistics: TrainGraphStatistics[];
}

/** A value named `name` of Keras shape `[batch, ...dims]`. */
function value(name: string, dims: number[], grad: boolean): Value {
  return { name, dims, channels: dims[dims.length - 1] as number, spatial: dims.slice(0, -1).reduce((a, b) => a * b, 1), grad };
}

class Builder {
  readonly graph: OnnxGraph;
  private readonly values = new Map<string, Value>();
  private readonly grads = new Map<string, string[]>();
  private readonly tape: Array<() => void> = [];
  private readonly trainable: Set<LayerVariable>;
  private readonly weightGrads = new Map<LayerVariable, string>();
  readonly weights: TrainGraphWeight[] = [];
  readonly masks: TrainGraphMask[] = [];
  readonly statistics: TrainGraphStatistics[] = [];
  readonly features: string[] = [];
  private readonly constants = new Map<string, string>();

  constructor(private readonly model: tf.LayersModel) {
    this.graph = new OnnxGraph(`${model.name}_train_step`);
    this.trainable = new Set(model.trainableWeights);
  }

  private fail(layer: AnyLayer, reason: string): never {
    throw new OnnxConversionError(layer.name, layer.getClassName(), `${reason} (training the tail on ONNX Runtime)`);
  }

  private node(op: string, inputs: string[], out: string, attributes: Record<string, number | number[] | string | { float: number }> = {}): string {
    return this.graph.addNode(op, inputs, out, attributes);
  }

  /** A float constant of shape [1] (shared by value). */
  private scalar(v: number): string {
    const key = `f${v}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.graph.addFloat('const', [1], Float32Array.of(v));
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 constant (shapes, axes, slice bounds; shared by value). */
  private ints(values: number[]): string {
    const key = `i${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.graph.addInt64('ints', values);
      this.constants.set(key, name);
    }
    return name;
  }

  private addGrad(value: Value, g: string): void {
    if (!value.grad) return;
    this.grads.set(value.name, [...(this.grads.get(value.name) ?? []), g]);
  }

  /** The summed gradient of `value`, or undefined when nothing downstream reached it. */
  private gradOf(value: Value): string | undefined {
    const parts = this.grads.get(value.name);
    if (parts === undefined || parts.length === 0) return undefined;
    return parts.length === 1 ? parts[0] : this.node('Sum', parts, `${value.name}/grad_sum`);
  }

  /** The graph input of `layer`'s weight `key`, or undefined when the layer has none. */
  private weight(layer: AnyLayer, key: string): { name: string; variable: LayerVariable; trains: boolean } | undefined {
    const variable = layer.weights.find((w) => weightKey(w) === key);
    if (variable === undefined) return undefined;
    let entry = this.weights.find((w) => w.variable === variable);
    if (entry === undefined) {
      const name = this.graph.unique(variable.name.replace(/[^A-Za-z0-9_/.-]/g, '_'));
      this.graph.inputs.push({ name, shape: [...variable.shape] as number[] });
      entry = { variable, input: name };
      this.weights.push(entry);
    }
    return { name: entry.input, variable, trains: this.trainable.has(variable) };
  }

  private setWeightGrad(variable: LayerVariable, g: string): void {
    this.weightGrads.set(variable, g);
  }

  /** Applies an activation by name; returns the value and records its backward step. */
  private activation(layer: AnyLayer, x: Value, name: unknown, out: string): Value {
    const act = String(name ?? 'linear');
    if (act === 'linear') return x;
    const op = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' }[act];
    if (op === undefined) this.fail(layer, `activation '${act}' is not supported (linear, relu, sigmoid, tanh, softmax are)`);
    const y: Value = { ...x, name: this.node(op, [x.name], out, op === 'Softmax' ? { axis: 1 } : {}) };
    this.tape.push(() => {
      const dy = this.gradOf(y);
      if (dy === undefined) return;
      let dx: string;
      switch (act) {
        case 'relu':
          dx = this.node('Mul', [dy, this.node('Cast', [this.node('Greater', [y.name, this.scalar(0)], `${out}/positive`)], `${out}/step`, { to: 1 })], `${out}/grad`);
          break;
        case 'sigmoid':
          dx = this.node('Mul', [dy, this.node('Mul', [y.name, this.node('Sub', [this.scalar(1), y.name], `${out}/one_minus`)], `${out}/slope`)], `${out}/grad`);
          break;
        case 'tanh':
          dx = this.node('Mul', [dy, this.node('Sub', [this.scalar(1), this.node('Mul', [y.name, y.name], `${out}/square`)], `${out}/slope`)], `${out}/grad`);
          break;
        default: { // softmax over the last axis: y·(dy − Σ dy·y)
          const dot = this.node('ReduceSum', [this.node('Mul', [dy, y.name], `${out}/dy_y`), this.ints([1])], `${out}/dot`, { keepdims: 1 });
          dx = this.node('Mul', [y.name, this.node('Sub', [dy, dot], `${out}/centered`)], `${out}/grad`);
        }
      }
      this.addGrad(x, dx);
    });
    return y;
  }

  /** `x · W (+ b)` then the activation: Dense, or a 1×1 convolution on rows. */
  private matmulLayer(layer: AnyLayer, x: Value, units: number, config: Config): Value {
    const out = layer.name;
    const kernel = this.weight(layer, 'kernel');
    if (kernel === undefined) this.fail(layer, 'kernel weight not found');
    const flatKernel = kernel.variable.shape.length === 2 ? kernel.name : this.node('Reshape', [kernel.name, this.ints([x.channels, units])], `${out}/W2`);
    let z = this.node('MatMul', [x.name, flatKernel], `${out}/matmul`);
    const bias = config.useBias === false ? undefined : this.weight(layer, 'bias');
    if (bias !== undefined) z = this.node('Add', [z, bias.name], `${out}/biased`);
    const pre = value(z, [...x.dims.slice(0, -1), units], x.grad || kernel.trains || (bias?.trains ?? false));
    this.tape.push(() => {
      const dz = this.gradOf(pre);
      if (dz === undefined) return;
      if (kernel.trains) {
        const dw = this.node('Gemm', [x.name, dz], `${out}/kernel_grad2`, { transA: 1 });
        this.setWeightGrad(kernel.variable, kernel.variable.shape.length === 2 ? dw : this.node('Reshape', [dw, this.ints([...kernel.variable.shape] as number[])], `${out}/kernel_grad`));
      }
      if (bias?.trains === true) this.setWeightGrad(bias.variable, this.node('ReduceSum', [dz, this.ints([0])], `${out}/bias_grad`, { keepdims: 0 }));
      if (x.grad) this.addGrad(x, this.node('Gemm', [dz, flatKernel], `${out}/input_grad`, { transB: 1 }));
    });
    return this.activation(layer, pre, config.activation, `${out}/act`);
  }

  private batchNorm(layer: AnyLayer, x: Value, config: Config): Value {
    const out = layer.name;
    const axis = config.axis;
    if (!(axis === -1 || (Array.isArray(axis) && axis.length === 1 && axis[0] === -1) || axis === 3 || axis === 1 && x.spatial === 1)) {
      this.fail(layer, `only channels-last normalization (axis -1) is supported, got axis ${JSON.stringify(axis)}`);
    }
    const eps = Number(config.epsilon ?? 1e-3);
    const gamma = config.scale === false ? undefined : this.weight(layer, 'gamma');
    const beta = config.center === false ? undefined : this.weight(layer, 'beta');
    if (!['moving_mean', 'moving_variance'].every((key) => layer.weights.some((w) => weightKey(w) === key))) this.fail(layer, 'moving_mean/moving_variance weights not found');
    // Keras: a frozen BatchNormalization runs in inference mode, a trainable one on batch statistics
    // (its moving statistics are then updated from the graph's outputs, never read by it).
    const training = layer.trainable;
    if (training && !layer.getClassName().startsWith('Transferlab')) {
      this.fail(layer, "TF.js's own BatchNormalization in training mode is not supported; build the model with transferlab's BatchNormalization");
    }
    let centered: string;
    let inv: string;
    if (training) {
      const mean = this.node('ReduceMean', [x.name], `${out}/mean`, { axes: [0], keepdims: 1 });
      centered = this.node('Sub', [x.name, mean], `${out}/centered`);
      const variance = this.node('ReduceMean', [this.node('Mul', [centered, centered], `${out}/squared`)], `${out}/variance`, { axes: [0], keepdims: 1 });
      inv = this.node('Reciprocal', [this.node('Sqrt', [this.node('Add', [variance, this.scalar(eps)], `${out}/var_eps`)], `${out}/std`)], `${out}/inv_std`);
      const stats = { layer, mean: this.graph.unique(`${out}:batch_mean`), variance: this.graph.unique(`${out}:batch_variance`) };
      this.graph.nodes.push({ opType: 'Reshape', inputs: [mean, this.ints([-1])], outputs: [stats.mean], name: this.graph.unique(`${stats.mean}/Reshape`), attributes: {} });
      this.graph.nodes.push({ opType: 'Reshape', inputs: [variance, this.ints([-1])], outputs: [stats.variance], name: this.graph.unique(`${stats.variance}/Reshape`), attributes: {} });
      this.graph.outputs.push({ name: stats.mean, shape: [x.channels] }, { name: stats.variance, shape: [x.channels] });
      this.statistics.push(stats);
    } else {
      const movingMean = this.weight(layer, 'moving_mean') as { name: string };
      const movingVariance = this.weight(layer, 'moving_variance') as { name: string };
      centered = this.node('Sub', [x.name, movingMean.name], `${out}/centered`);
      inv = this.node('Reciprocal', [this.node('Sqrt', [this.node('Add', [movingVariance.name, this.scalar(eps)], `${out}/var_eps`)], `${out}/std`)], `${out}/inv_std`);
    }
    const multiplier = gamma === undefined ? inv : this.node('Mul', [inv, gamma.name], `${out}/multiplier`);
    let y = this.node('Mul', [centered, multiplier], `${out}/scaled`);
    if (beta !== undefined) y = this.node('Add', [y, beta.name], out);
    const result = value(y, x.dims, x.grad || (gamma?.trains ?? false) || (beta?.trains ?? false));
    this.tape.push(() => {
      const dy = this.gradOf(result);
      if (dy === undefined) return;
      if (beta?.trains === true) this.setWeightGrad(beta.variable, this.node('ReduceSum', [dy, this.ints([0])], `${out}/beta_grad`, { keepdims: 0 }));
      const xhat = (): string => this.node('Mul', [centered, inv], `${out}/normalized`);
      if (gamma?.trains === true) this.setWeightGrad(gamma.variable, this.node('ReduceSum', [this.node('Mul', [dy, xhat()], `${out}/dy_xhat`), this.ints([0])], `${out}/gamma_grad`, { keepdims: 0 }));
      if (!x.grad) return;
      const dxhat = gamma === undefined ? dy : this.node('Mul', [dy, gamma.name], `${out}/dxhat`);
      if (!training) {
        this.addGrad(x, this.node('Mul', [dxhat, inv], `${out}/input_grad`));
        return;
      }
      // Through the batch mean and variance too: inv·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)).
      const normalized = xhat();
      const m1 = this.node('ReduceMean', [dxhat], `${out}/mean_dxhat`, { axes: [0], keepdims: 1 });
      const m2 = this.node('ReduceMean', [this.node('Mul', [dxhat, normalized], `${out}/dxhat_xhat`)], `${out}/mean_dxhat_xhat`, { axes: [0], keepdims: 1 });
      const inner = this.node('Sub', [this.node('Sub', [dxhat, m1], `${out}/minus_mean`), this.node('Mul', [normalized, m2], `${out}/projection`)], `${out}/inner`);
      this.addGrad(x, this.node('Mul', [inner, inv], `${out}/input_grad`));
    });
    return result;
  }

  private layer(layer: AnyLayer, inputs: Value[]): Value {
    const config = layer.getConfig() as Config;
    const x = inputs[0] as Value;
    const out = layer.name;
    if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') this.fail(layer, "only dataFormat 'channelsLast' is supported");
    switch (layerKind(layer)) {
      case 'Conv2D': {
        const [kh, kw] = pair(config.kernelSize, 1);
        const [sh, sw] = pair(config.strides, 1);
        if (kh !== 1 || kw !== 1 || sh !== 1 || sw !== 1) this.fail(layer, `only 1×1 convolutions with stride 1 are supported, got kernel ${kh}×${kw}, stride ${sh}×${sw}`);
        return this.matmulLayer(layer, x, Number(config.filters), config);
      }
      case 'Dense':
        return this.matmulLayer(layer, x, Number(config.units), config);
      case 'BatchNormalization':
        return this.batchNorm(layer, x, config);
      case 'Activation':
        return this.activation(layer, x, config.activation, out);
      case 'Concatenate': {
        const axis = Number(config.axis ?? -1);
        if (axis !== -1 && !(x.spatial === 1 && axis === 1) && axis !== 3) this.fail(layer, `only concatenation on the last axis is supported, got axis ${axis}`);
        if (inputs.some((v) => v.spatial !== x.spatial)) this.fail(layer, 'inputs of different spatial sizes');
        const y = value(this.node('Concat', inputs.map((v) => v.name), out, { axis: 1 }), [...x.dims.slice(0, -1), inputs.reduce((a, v) => a + v.channels, 0)], inputs.some((v) => v.grad));
        this.tape.push(() => {
          const dy = this.gradOf(y);
          if (dy === undefined) return;
          let start = 0;
          for (const v of inputs) {
            if (v.grad) this.addGrad(v, this.node('Slice', [dy, this.ints([start]), this.ints([start + v.channels]), this.ints([1])], `${out}/grad_part`));
            start += v.channels;
          }
        });
        return y;
      }
      case 'Add': {
        if (inputs.some((v) => v.spatial !== x.spatial || v.channels !== x.channels)) this.fail(layer, 'inputs of different shapes (broadcasting) are not supported');
        let acc = x.name;
        inputs.slice(1).forEach((v, i) => { acc = this.node('Add', [acc, v.name], i === inputs.length - 2 ? out : `${out}/partial`); });
        const y: Value = { ...x, name: acc, grad: inputs.some((v) => v.grad) };
        this.tape.push(() => {
          const dy = this.gradOf(y);
          if (dy !== undefined) for (const v of inputs) this.addGrad(v, dy);
        });
        return y;
      }
      case 'GlobalAveragePooling2D': {
        const perSample = this.node('Reshape', [x.name, this.ints([-1, x.spatial, x.channels])], `${out}/samples`);
        const y = value(this.node('ReduceMean', [perSample], out, { axes: [1], keepdims: 0 }), config.keepDims === true ? [1, 1, x.channels] : [x.channels], x.grad);
        this.tape.push(() => {
          const dy = this.gradOf(y);
          if (dy === undefined || !x.grad) return;
          const share = this.graph.addFloat(`${out}/share`, [1, x.spatial, 1], new Float32Array(x.spatial).fill(1 / x.spatial));
          const spread = this.node('Mul', [this.node('Unsqueeze', [dy, this.ints([1])], `${out}/grad_unsqueezed`), share], `${out}/grad_spread`);
          this.addGrad(x, this.node('Reshape', [spread, this.ints([-1, x.channels])], `${out}/input_grad`));
        });
        return y;
      }
      case 'Flatten': {
        if (x.spatial === 1) return x;
        // Rows are in NHWC order, so a sample's rows side by side are Keras's flattening.
        const y = value(this.node('Reshape', [x.name, this.ints([-1, x.spatial * x.channels])], out), [x.spatial * x.channels], x.grad);
        this.tape.push(() => {
          const dy = this.gradOf(y);
          if (dy !== undefined && x.grad) this.addGrad(x, this.node('Reshape', [dy, this.ints([-1, x.channels])], `${out}/input_grad`));
        });
        return y;
      }
      case 'Dropout': {
        const rate = Number(config.rate ?? 0);
        if (!(rate > 0 && rate < 1)) return x; // TF.js's Dropout is the identity outside (0, 1)
        if (config.noiseShape !== undefined && config.noiseShape !== null) this.fail(layer, 'noiseShape is not supported');
        const shape = x.dims;
        const input = this.graph.unique(`${out}:mask`);
        this.graph.inputs.push({ name: input, shape: ['N', ...shape] });
        this.masks.push({ layer, input, rate, shape });
        const mask = x.spatial === 1 ? input : this.node('Reshape', [input, this.ints([-1, x.channels])], `${out}/mask_rows`);
        const y: Value = { ...x, name: this.node('Mul', [x.name, mask], out) };
        this.tape.push(() => {
          const dy = this.gradOf(y);
          if (dy !== undefined && x.grad) this.addGrad(x, this.node('Mul', [dy, mask], `${out}/input_grad`));
        });
        return y;
      }
      default:
        return this.fail(layer, 'layer class not supported; supported: InputLayer, Conv2D (1×1, stride 1), Dense, BatchNormalization, Activation, Concatenate, Add, GlobalAveragePooling2D, Flatten, Dropout');
    }
  }

  /** The gradient of the mean loss with respect to the probabilities `p` (`[N, K]`). */
  private lossGradient(p: string, loss: TrainGraphLoss, target: string, batchScale: string): string {
    const clipMask = (q: string): string => this.node('Cast', [this.node('And', [
      this.node('GreaterOrEqual', [q, this.scalar(EPSILON)], 'loss/above'),
      this.node('LessOrEqual', [q, this.scalar(1 - EPSILON)], 'loss/below'),
    ], 'loss/inside')], 'loss/clip_mask', { to: 1 });
    const clip = (q: string): string => this.node('Clip', [q, this.scalar(EPSILON), this.scalar(1 - EPSILON)], 'loss/clipped');
    if (loss === 'categorical') {
      // L = mean_n −Σ_k y·log(clip(p / Σp)).
      const sum = this.node('ReduceSum', [p, this.ints([1])], 'loss/sum', { keepdims: 1 });
      const q = this.node('Div', [p, sum], 'loss/normalized');
      const dClipped = this.node('Neg', [this.node('Mul', [this.node('Div', [target, clip(q)], 'loss/y_over_p'), batchScale], 'loss/scaled')], 'loss/d_clipped');
      const dq = this.node('Mul', [dClipped, clipMask(q)], 'loss/d_normalized');
      // Through q = p / s: dp = dq / s − Σ(dq·p) / s².
      const dot = this.node('ReduceSum', [this.node('Mul', [dq, p], 'loss/dq_p'), this.ints([1])], 'loss/dot', { keepdims: 1 });
      return this.node('Sub', [this.node('Div', [dq, sum], 'loss/direct'), this.node('Div', [dot, this.node('Mul', [sum, sum], 'loss/sum_squared')], 'loss/through_sum')], 'loss/d_output');
    }
    // Binary: L = mean_n mean_k −(y·log c + (1−y)·log(1−c)), c = clip(p); batchScale = 1 / (N·K).
    const c = clip(p);
    const dc = this.node('Mul', [this.node('Sub', [
      this.node('Div', [this.node('Sub', [this.scalar(1), target], 'loss/one_minus_y'), this.node('Sub', [this.scalar(1), c], 'loss/one_minus_c')], 'loss/negative_part'),
      this.node('Div', [target, c], 'loss/positive_part'),
    ], 'loss/d_clipped_unscaled'), batchScale], 'loss/d_clipped');
    return this.node('Mul', [dc, clipMask(p)], 'loss/d_output');
  }

  build(loss: TrainGraphLoss): TrainGraph {
    const m = this.model;
    m.inputLayers.forEach((layer, i) => {
      const shape = m.inputs[i]?.shape ?? [];
      if (shape.length !== 4 && shape.length !== 2) this.fail(layer, `tail inputs must be 4-D (NHWC) or 2-D, got rank ${shape.length}`);
      const name = this.graph.unique(layer.name);
      this.graph.inputs.push({ name, shape: shape.map((d, j) => d ?? (j === 0 ? 'N' : `${name}_dim${j}`)) });
      this.features.push(name);
      const rows = shape.length === 4 ? this.node('Reshape', [name, this.ints([-1, Number(shape[3])])], `${layer.name}/rows`) : name;
      this.values.set(layer.name, value(rows, shape.slice(1).map(Number), false));
    });
    for (const layer of m.layers) {
      if (this.values.has(layer.name)) continue;
      const inputs = inboundLayersIn(m, layer).map((l) => {
        const v = this.values.get(l.name);
        if (v === undefined) this.fail(layer, `its input '${l.name}' was not converted (nested models are not supported)`);
        return v;
      });
      this.values.set(layer.name, this.layer(layer, inputs));
    }
    const outLayer = m.outputLayers[0] as AnyLayer;
    const y = this.values.get(outLayer.name) as Value;
    if (m.outputs.length !== 1 || y.spatial !== 1) this.fail(outLayer, 'the tail must have one 2-D output ([batch, classes])');
    const target = this.graph.unique('y:true');
    const batchScale = this.graph.unique('loss:scale');
    const output = this.graph.unique(`${outLayer.name}:out`);
    this.graph.inputs.push({ name: target, shape: ['N', y.channels] }, { name: batchScale, shape: [1] });
    this.graph.nodes.push({ opType: 'Identity', inputs: [y.name], outputs: [output], name: this.graph.unique(`${output}/Identity`), attributes: {} });
    this.graph.outputs.push({ name: output, shape: ['N', y.channels] });
    if (y.grad) this.addGrad(y, this.lossGradient(y.name, loss, target, batchScale));
    for (let i = this.tape.length - 1; i >= 0; i--) (this.tape[i] as () => void)();
    const gradients = m.trainableWeights.map((variable) => {
      const g = this.weightGrads.get(variable);
      const owner = m.layers.find((l) => l.weights.includes(variable)) ?? outLayer;
      if (g === undefined) this.fail(owner, `no gradient reaches its trainable weight '${variable.name}'`);
      const name = this.graph.unique(`grad:${variable.name}`);
      this.graph.nodes.push({ opType: 'Identity', inputs: [g], outputs: [name], name: this.graph.unique(`${name}/Identity`), attributes: {} });
      this.graph.outputs.push({ name, shape: [...variable.shape] as number[] });
      return { variable, output: name };
    });
    return { graph: this.graph, features: this.features, target, batchScale, masks: this.masks, weights: this.weights, output, gradients, statistics: this.statistics };
  }
}

/**
 * Builds the training-step graph of `tail` (see the module comment).
 *
 * @param tail - `splitFrozenPrefix(model).tail`: a functional model of the supported layers with
 *   one 2-D output; its weights are not read (they are graph inputs)
 * @param loss - the loss whose gradient the graph computes ('categorical': one-hot targets; a
 *   sparse loss is fed as one-hot)
 * @returns the graph and the names of its inputs and outputs
 * @throws OnnxConversionError naming the first layer that cannot be expressed, or a trainable
 *   weight no gradient reaches
 * @example
 * const step = buildTrainGraph(splitFrozenPrefix(model).tail, 'categorical');
 * const session = await ort.InferenceSession.create(step.graph.encode('0.1.0'));
 */
export function buildTrainGraph(tail: tf.LayersModel, loss: TrainGraphLoss): TrainGraph {
  return new Builder(tail).build(loss);
}
