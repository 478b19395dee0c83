/**
 * Keras-style model summary, returned as text.
 *
 * Port of `print_summary` in Keras 2's `keras/utils/layer_utils.py` (tf.keras 2.11+ layout: cells
 * wrap instead of being cut; a "Connected to" column for non-sequential models; parameter totals
 * with their float32 size). Counts follow Keras: batch-normalization moving statistics and every
 * weight of a frozen layer are non-trainable.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger, invalidParameterError } from '../util/validate';

/** Options of {@link summary}. */
export interface SummaryArgs {
  /** Total width of a line. Default 98 for functional models, 65 for sequential-like ones (Keras's defaults). */
  lineLength?: number;
  /**
   * Right edges of the columns, as fractions of `lineLength` (all ≤ 1) or absolute positions.
   * Default `[0.33, 0.55, 0.67, 1]` (functional) or `[0.45, 0.85, 1]` (sequential-like).
   */
  positions?: number[];
  /** `true` (default) prints the text with one `console.log`; `false` prints nothing; a function receives each line. */
  print?: boolean | ((line: string) => void);
}

/** Parameter counts as Keras reports them. */
export interface ParamCounts {
  /** All parameters (each shared weight once). */
  total: number;
  /** Parameters `fit` updates. */
  trainable: number;
  /** The rest (moving statistics, frozen layers). */
  nonTrainable: number;
}

const size = (weights: tf.LayerVariable[]): number => {
  const seen = new Set<number>();
  let n = 0;
  for (const w of weights) {
    if (seen.has(w.id)) continue;
    seen.add(w.id);
    n += w.shape.reduce<number>((a, d) => a * (d ?? 0), 1);
  }
  return n;
};

/**
 * Counts a model's parameters as Keras's summary does.
 *
 * @param model - any TF.js layers model
 * @returns total, trainable and non-trainable parameter counts
 * @example
 * countParams(model); // { total: 23116580, trainable: ..., nonTrainable: ... }
 */
export function countParams(model: tf.LayersModel): ParamCounts {
  const trainable = size(model.trainableWeights);
  const nonTrainable = size(model.nonTrainableWeights);
  return { total: trainable + nonTrainable, trainable, nonTrainable };
}

/** Keras's `readable_memory_size`. */
function readableSize(bytes: number): string {
  const units = ['Byte', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${units[i]}`;
}

const group = (n: number) => n.toLocaleString('en-US');

function pyShape(shape: (number | null)[]): string {
  const dims = shape.map((d) => (d === null ? 'None' : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}

function outputShapeText(layer: tf.layers.Layer): string {
  let shape: tf.Shape | tf.Shape[];
  try {
    shape = layer.outputShape;
  } catch {
    return 'multiple';
  }
  const isList = Array.isArray(shape[0]) || shape.length === 0;
  if (isList) return `[${(shape as tf.Shape[]).map(pyShape).join(', ')}]`;
  const text = pyShape(shape as tf.Shape);
  return layer.getClassName() === 'InputLayer' ? `[${text}]` : text;
}

/** The class name shown in "Layer (type)": our Keras-correct layers show Keras's class names. */
function typeName(layer: tf.layers.Layer): string {
  return layer.getClassName().replace(/^Transferlab/, '');
}

function relevantNodes(model: tf.LayersModel): Set<string> {
  return (model as unknown as { containerNodes?: Set<string> }).containerNodes ?? new Set();
}

function connections(layer: tf.layers.Layer, nodes: Set<string>): string[] {
  const out: string[] = [];
  layer.inboundNodes.forEach((node, index) => {
    if (nodes.size > 0 && !nodes.has(`${layer.name}_ib-${index}`)) return;
    node.inboundLayers.forEach((inbound, i) => out.push(`${inbound.name}[${node.nodeIndices[i]}][${node.tensorIndices[i]}]`));
  });
  return out;
}

function isSequentialLike(model: tf.LayersModel, nodes: Set<string>): boolean {
  if (model instanceof tf.Sequential) return true;
  const consumers = new Map<string, number>();
  for (const layer of model.layers) {
    const inputs = connections(layer, nodes);
    if (inputs.length > 1) return false;
    for (const c of inputs) consumers.set(c, (consumers.get(c) ?? 0) + 1);
  }
  return [...consumers.values()].every((n) => n <= 1);
}

/** Keras's `print_row`: wraps each cell inside its column, preferring breaks after `),` `],` `',`. */
function formatRow(fields: string[], positions: number[]): string[] {
  const left = [...fields];
  const lines: string[] = [];
  do {
    let line = '';
    for (let col = 0; col < left.length; col++) {
      const start = col > 0 ? positions[col - 1] : 0;
      const end = positions[col];
      const space = col !== positions.length - 1 ? 2 : 0;
      let cutoff = Math.max(end - start - space, 1);
      let fit = left[col].slice(0, cutoff);
      const candidates = ['),', '},', '],', "',"].map((s) => (fit.indexOf(s) >= 0 ? fit.indexOf(s) + s.length : -1)).filter((c) => c >= 0);
      if (candidates.length > 0) {
        cutoff = Math.min(...candidates);
        fit = fit.slice(0, cutoff);
      }
      if (col === 0) line += ' ';
      line += fit + ' '.repeat(space);
      left[col] = left[col].slice(cutoff);
      line += ' '.repeat(Math.max(end - line.length, 0));
    }
    lines.push(line.trimEnd());
  } while (left.some((f) => f.length > 0));
  return lines;
}

/**
 * Builds a Keras-style summary of `model` (layer, output shape, parameters, connections, and the
 * `Total params` / `Trainable params` / `Non-trainable params` lines), prints it, and returns it.
 *
 * @param model - any TF.js layers model
 * @param args - `lineLength`, `positions`, `print` (see {@link SummaryArgs})
 * @returns the summary text (lines joined with `\n`)
 * @throws TypeError when `lineLength` is not a positive integer or `positions` has the wrong length
 * @example
 * const text = summary(model, { print: false });
 * // ...
 * // Total params: 23,116,580 (88.18 MB)
 * // Trainable params: ...
 */
export function summary(model: tf.LayersModel, args: SummaryArgs = {}): string {
  const nodes = relevantNodes(model);
  const sequential = isSequentialLike(model, nodes);
  const lineLength = checkInteger('lineLength', args.lineLength ?? (sequential ? 65 : 98), 1);
  const columns = sequential ? ['Layer (type)', 'Output Shape', 'Param #'] : ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'];
  let positions = args.positions ?? (sequential ? [0.45, 0.85, 1] : [0.33, 0.55, 0.67, 1]);
  if (!Array.isArray(positions) || positions.length !== columns.length) {
    throw invalidParameterError('positions', `an array of ${columns.length} column edges`, positions);
  }
  if (positions[positions.length - 1] <= 1) positions = positions.map((p) => Math.floor(lineLength * p));

  const lines: string[] = [`Model: "${model.name}"`, '_'.repeat(lineLength), ...formatRow(columns, positions), '='.repeat(lineLength)];
  model.layers.forEach((layer, i) => {
    const fields = [`${layer.name} (${typeName(layer)})`, outputShapeText(layer), String(layer.countParams())];
    if (!sequential) {
      const c = connections(layer, nodes);
      fields.push(`[${c.map((s) => `'${s}'`).join(', ')}]`);
    }
    lines.push(...formatRow(fields, positions));
    lines.push((i === model.layers.length - 1 ? '=' : '_').repeat(lineLength));
  });
  const counts = countParams(model);
  lines.push(
    `Total params: ${group(counts.total)} (${readableSize(counts.total * 4)})`,
    `Trainable params: ${group(counts.trainable)} (${readableSize(counts.trainable * 4)})`,
    `Non-trainable params: ${group(counts.nonTrainable)} (${readableSize(counts.nonTrainable * 4)})`,
    '_'.repeat(lineLength),
  );
  const print = args.print ?? true;
  // One write, not one per line: tslab sends each write as a ZeroMQ message, and a thousand
  // synchronous sends (InceptionV3 has ~1,000 summary lines) stall its queue and hang the kernel.
  if (print === true) console.log(lines.join('\n'));
  else if (typeof print === 'function') for (const line of lines) print(line);
  return lines.join('\n');
}
