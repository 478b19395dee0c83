/**
 * Splits a functional model into a frozen prefix (run once per batch in inference mode, outside
 * the gradient tape) and a trainable tail (the only part `fit` differentiates).
 *
 * Keras has no such function: under TensorFlow's graph mode a frozen base costs no gradient
 * memory. TF.js records every op of `apply` on the tape, so training InceptionV3 with all but 15
 * layers frozen would hold activations of the whole network; splitting keeps the tape to the tail.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from './errors';
import { makeBatchNormRespectTrainable } from '../layers/batch-normalization';
import { checkInteger } from '../util/validate';

/** TF.js's internal graph node (engine/topology.ts `Node`), the fields this module reads. */
interface GraphNode {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
  callArgs?: Record<string, unknown>;
}
type GraphLayer = tf.layers.Layer & { inboundNodes: GraphNode[] };

/** Options of {@link splitFrozenPrefix}. */
export interface SplitFrozenPrefixArgs {
  /** Smallest number of non-input layers worth splitting off; a shorter frozen prefix gives `prefix: null`. Default 1. */
  minLayers?: number;
}

/** Result of {@link splitFrozenPrefix}. */
export interface FrozenSplit {
  /** Model from the original inputs to the cut tensors (inference only), or null when nothing is frozen. */
  prefix: tf.LayersModel | null;
  /** Model from the cut tensors to the original outputs, sharing the original layers (and weights). The original model when `prefix` is null. */
  tail: tf.LayersModel;
  /** Names of the tensors crossing the cut, in the order of `prefix.outputs` and `tail.inputs`. */
  cutTensors: string[];
  /** Number of `model.layers` entries (input layers included) in the prefix; 0 when `prefix` is null. */
  prefixLayerCount: number;
}

/**
 * Layers that compute something else in training, whatever `trainable` says (Keras freezes only
 * BatchNormalization into inference mode): Dropout and its kin drop units under `fit` even when
 * frozen or weightless, so they never run in the inference-mode prefix.
 */
const TRAINING_BEHAVIOUR = /Dropout|GaussianNoise/;

/**
 * A layer is "frozen" for the prefix when it cannot change in training and computes the same in
 * training as in inference: not trainable or without weights, and not Dropout-like.
 */
function isFrozen(layer: tf.layers.Layer): boolean {
  return (!layer.trainable || layer.weights.length === 0) && !TRAINING_BEHAVIOUR.test(layer.getClassName());
}

/** Keys of the nodes that belong to `model` (TF.js keeps them in `containerNodes` as `<layer>_ib-<index>`). */
function modelNodes(model: tf.LayersModel, layer: GraphLayer): GraphNode[] {
  const keys = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  return layer.inboundNodes.filter((_, i) => keys === undefined || keys.has(`${layer.name}_ib-${i}`));
}

/**
 * The output tensor of `layer` inside `model`'s own graph (a layer re-applied elsewhere, e.g. by
 * {@link splitFrozenPrefix}, has several outputs and `layer.output` then throws).
 *
 * @throws TrainingError when the layer is not called in `model`, or has several outputs there
 */
export function layerOutputIn(model: tf.LayersModel, layer: tf.layers.Layer): tf.SymbolicTensor {
  const nodes = modelNodes(model, layer as GraphLayer);
  if (nodes.length !== 1 || nodes[0].outputTensors.length !== 1) {
    throw new TrainingError(`Expected layer '${layer.name}' to be called once in model '${model.name}' with one output, but it has ${nodes.length} call(s) there. Pick a layer of the model's own graph with a single output.`);
  }
  return nodes[0].outputTensors[0];
}

/** The functional graph of a model: a `tf.sequential` keeps one inside (built on demand). */
export function graphOf(model: tf.LayersModel): tf.LayersModel {
  if (model.getClassName() !== 'Sequential') return model;
  const seq = model as unknown as { model?: tf.LayersModel; build(): void };
  if (!seq.model) seq.build();
  return seq.model as tf.LayersModel;
}

/**
 * Cuts a functional model after its first `k` layers (in `model.layers` order, which is
 * topological): the prefix maps the model's inputs to every tensor crossing the cut, and the tail
 * re-applies the original layer objects after the cut to fresh inputs shaped like those tensors
 * (shared weights). Tensors on the prefix side can never depend on a layer after the cut, so
 * feeding the tail the prefix's outputs reproduces the model exactly. Each call adds graph nodes
 * to the tail layers: callers cache the result.
 *
 * @param model - a functional model (the graph of a `tf.sequential`, see `graphOf`)
 * @param k - number of leading `model.layers` entries on the prefix side, 0 < k < layers.length
 * @param prefixName - suffix of the prefix model's name
 * @param tailName - suffix of the tail model's name
 * @returns the two models and the names of the cut tensors, in the order of `prefix.outputs` and `tail.inputs`
 * @throws TrainingError when a layer before the cut is applied more than once in the model
 */
export function cutGraph(model: tf.LayersModel, k: number, prefixName: string, tailName: string): { prefix: tf.LayersModel; tail: tf.LayersModel; cutTensors: string[] } {
  const layers = model.layers as GraphLayer[];
  const prefixLayers = new Set<tf.layers.Layer>(layers.slice(0, k));
  const tailLayers = layers.slice(k);
  // A tensor is on the prefix side when its source layer is a prefix layer.
  const inPrefix = (t: tf.SymbolicTensor): boolean => prefixLayers.has(t.sourceLayer as tf.layers.Layer);

  // Collect the tail nodes (before re-applying anything) and the tensors crossing the cut.
  const tailNodes: Array<{ layer: GraphLayer; node: GraphNode }> = [];
  for (const layer of tailLayers) {
    for (const node of modelNodes(model, layer)) tailNodes.push({ layer, node });
  }
  for (const layer of layers.slice(0, k)) {
    if (modelNodes(model, layer).length > 1) {
      throw new TrainingError(`Expected each layer before the cut (the frozen prefix) to be applied once, but layer '${layer.name}' is shared (${modelNodes(model, layer).length} calls). Split the model by hand, or cut it where no layer before the cut is shared.`);
    }
  }
  const cut: tf.SymbolicTensor[] = [];
  const seen = new Set<number>();
  const addCut = (t: tf.SymbolicTensor): void => {
    if (inPrefix(t) && !seen.has(t.id)) {
      seen.add(t.id);
      cut.push(t);
    }
  };
  for (const { node } of tailNodes) node.inputTensors.forEach(addCut);
  model.outputs.forEach(addCut);

  const prefix = tf.model({ inputs: model.inputs, outputs: cut, name: `${model.name}_${prefixName}` });
  const mapped = new Map<number, tf.SymbolicTensor>();
  const tailInputs = cut.map((t, i) => {
    const input = tf.input({ shape: t.shape.slice(1) as number[], dtype: t.dtype, name: `${model.name}_cut_${i}` });
    mapped.set(t.id, input);
    return input;
  });
  for (const { layer, node } of tailNodes) {
    const inputs = node.inputTensors.map((t) => {
      const m = mapped.get(t.id);
      // Internal invariant (the walk is topological), not a user-facing failure: a plain Error.
      if (m === undefined) throw new Error(`Internal error: tensor '${t.name}' feeding layer '${layer.name}' was not computed before it.`);
      return m;
    });
    const callArgs = { ...(node.callArgs ?? {}) };
    delete callArgs.mask;
    const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs, callArgs) as tf.SymbolicTensor | tf.SymbolicTensor[];
    // The tail is a view of `model`, not a new owner of its layers. TF.js counts every symbolic
    // call as a reference, so without this `model.dispose()` would leave the tail's weights alive.
    const counted = layer as unknown as { _refCount: number | null };
    if (typeof counted._refCount === 'number' && counted._refCount > 1) counted._refCount--;
    const outs = Array.isArray(out) ? out : [out];
    node.outputTensors.forEach((t, i) => mapped.set(t.id, outs[i]));
  }
  const tailOutputs = model.outputs.map((t) => mapped.get(t.id) as tf.SymbolicTensor);
  const tail = tf.model({ inputs: tailInputs, outputs: tailOutputs, name: `${model.name}_${tailName}` });
  return { prefix, tail, cutTensors: cut.map((t) => t.name) };
}

const cache = new WeakMap<tf.LayersModel, { key: string; split: FrozenSplit }>();

/**
 * Finds the longest run of leading frozen layers of a functional model (in `model.layers` order,
 * which is topological) and splits the model there.
 *
 * The prefix is `tf.model({ inputs: model.inputs, outputs: <cut tensors> })`; the tail is a new
 * model whose inputs are fresh `tf.input`s shaped like the cut tensors and whose layers are the
 * original tail layer objects re-applied in topological order (shared weights: training the tail
 * trains `model`). The cut may cross several tensors (InceptionV3 frozen up to the middle of the
 * `mixed10` block) and the tail may mix cut tensors with its own. The result is cached per model
 * and per trainable pattern, so repeated calls (every `fit`) do not add graph nodes.
 *
 * Re-applying adds inbound nodes to the tail layers, so afterwards `layer.output` of those layers
 * is ambiguous in TF.js (use `getOutputAt(0)`); the original model keeps working.
 *
 * @param model - a functional `tf.LayersModel` (a `tf.sequential` works too)
 * @param args - see {@link SplitFrozenPrefixArgs}
 * @returns see {@link FrozenSplit}; no tensors are allocated
 * @throws TrainingError when a frozen layer is applied more than once in the model (shared
 *   across the cut), which this splitter does not support
 * @example
 * base.layers.slice(0, -15).forEach((l) => (l.trainable = false));
 * const { prefix, tail, cutTensors } = splitFrozenPrefix(model);
 * const features = prefix!.predict(images) as tf.Tensor[];
 */
export function splitFrozenPrefix(outer: tf.LayersModel, args: SplitFrozenPrefixArgs = {}): FrozenSplit {
  const minLayers = checkInteger('minLayers', args.minLayers ?? 1, 0);
  const model = graphOf(outer);
  const layers = model.layers as GraphLayer[];
  const key = `${minLayers}|${layers.map((l) => (isFrozen(l) ? '0' : '1')).join('')}`;
  const cached = cache.get(outer);
  if (cached && cached.key === key) return cached.split;

  let k = 0;
  while (k < layers.length && isFrozen(layers[k])) k++;
  const inputLayerCount = (n: number): number => layers.slice(0, n).filter((l) => l.getClassName() === 'InputLayer').length;
  const nothingFrozen = k - inputLayerCount(k) < Math.max(1, minLayers) || k === layers.length;
  if (nothingFrozen) {
    const split: FrozenSplit = { prefix: null, tail: outer, cutTensors: model.inputs.map((t) => t.name), prefixLayerCount: 0 };
    cache.set(outer, { key, split });
    return split;
  }

  const { prefix, tail, cutTensors } = cutGraph(model, k, 'frozen_prefix', 'trainable_tail');
  makeBatchNormRespectTrainable(tail);
  const split: FrozenSplit = { prefix, tail, cutTensors, prefixLayerCount: k };
  cache.set(outer, { key, split });
  return split;
}
