/**
 * Which weights a model built by an application holds: pretrained ones (ImageNet, a file) or a
 * seeded random initialisation — asked for, or fallen back to because the pretrained file could
 * not be had. Notebooks read it to say so in their own output (not only in a warning on stderr)
 * and to write it into their metrics.
 *
 * No Keras original: Keras returns a bare model and leaves the caller to remember what it asked for.
 */
import type * as tf from '@tensorflow/tfjs';

/**
 * Kinds of weights: `'imagenet'` (Keras's pretrained file), `'bundled'` (pretrained weights that
 * ship with transferlab, asked for by name, e.g. `'phantom-source'`), `'file'` (a weights file given by
 * path), `'random'` (seeded random initialisation, as asked) and `'random-fallback'` (random
 * because the pretrained weights asked for could not be obtained).
 */
export type WeightsKind = 'imagenet' | 'bundled' | 'file' | 'random' | 'random-fallback';

/** What {@link weightsInfo} returns. */
export interface WeightsInfo {
  /** See {@link WeightsKind}. */
  kind: WeightsKind;
  /** What the caller asked for: `'imagenet'`, a path, or `null` (random). */
  requested: string | null;
  /** The file the weights were read from (the cached download for `'imagenet'`). */
  path?: string;
  /** Seed of the random initialisation (`'random'`, `'random-fallback'`). */
  seed?: number;
  /** Why the pretrained weights were not used (`'random-fallback'` only): the error's message. */
  reason?: string;
}

const infos = new WeakMap<tf.LayersModel, WeightsInfo>();

/**
 * Records which weights `model` holds; applications call it once they have loaded (or not loaded)
 * weights. A later call replaces the record.
 *
 * @param model - the model just built
 * @param info - see {@link WeightsInfo} (copied)
 * @example
 * recordWeightsInfo(model, { kind: 'random', requested: null, seed: 0 });
 */
export function recordWeightsInfo(model: tf.LayersModel, info: WeightsInfo): void {
  infos.set(model, { ...info });
}

/**
 * Which weights `model` holds, when it was built by an application of this library (e.g.
 * `InceptionV3`); `undefined` for any other model (a `tf.model` built on top of the base has no
 * record: ask the base).
 *
 * @param model - a model returned by an application
 * @returns a copy of the record, or undefined
 * @example
 * const base = await InceptionV3({ includeTop: false, weightsFallback: 'random' });
 * if (weightsInfo(base)?.kind === 'random-fallback') console.log('offline: the base is random');
 */
export function weightsInfo(model: tf.LayersModel): WeightsInfo | undefined {
  const info = infos.get(model);
  return info === undefined ? undefined : { ...info };
}

/**
 * Whether the weights are random (as asked or as a fallback): such a base has learned nothing
 * that could transfer.
 *
 * @param info - a {@link WeightsInfo}, or undefined (unknown: treated as not random)
 * @returns true for `'random'` and `'random-fallback'`
 */
export function isRandomWeights(info: WeightsInfo | undefined): boolean {
  return info?.kind === 'random' || info?.kind === 'random-fallback';
}

/**
 * One plain sentence for a notebook reader saying which weights the base holds. Pretrained
 * weights give one quiet line; random ones say what that means for the run, and the fallback
 * says loudly that this is not transfer learning and how to get the real weights.
 *
 * @param info - a {@link WeightsInfo}
 * @returns text without a trailing newline
 * @example
 * console.log(describeWeights(weightsInfo(baseModel)!));
 * // Weights: ImageNet, read from /home/me/.keras/models/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5.
 */
export function describeWeights(info: WeightsInfo): string {
  switch (info.kind) {
    case 'imagenet':
      return `Weights: ImageNet, read from ${info.path ?? 'the Keras cache'}.`;
    case 'bundled':
      return `Weights: '${info.requested ?? 'bundled'}', pretrained by this project and shipped with transferlab (${info.path ?? 'package folder weights/'}).`;
    case 'file':
      return `Weights: read from ${info.path ?? info.requested ?? 'a file'}.`;
    case 'random':
      return `Weights: random (seed ${info.seed ?? 0}), as asked. The base has learned nothing yet, so nothing here is ` +
        'transfer learning: expect accuracy near the majority baseline below.';
    case 'random-fallback':
      return [
        `NOTE: the base network is RANDOM. The ${info.requested === 'imagenet' ? 'ImageNet' : 'pretrained'} weights could not be loaded (see the warning above), ` +
          `so it holds a seeded random initialisation (seed ${info.seed ?? 0}).`,
        'Nothing below is transfer learning: a frozen random base hands the head almost no information, and the accuracy',
        'is expected to stay at the majority baseline printed further down. The cells below measure and say so.',
        `To get real transfer learning, set the 'weights' parameter to a local copy of the weights file,`,
        'or see notebook 02, which shows transfer learning working offline with a base this project pretrained itself.',
      ].join('\n');
  }
}

