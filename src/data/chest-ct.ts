/**
 * Obtaining the walkthrough's dataset, `mohamedhanyyy/chest-ctscan-images`: from Kaggle when the
 * user has credentials (and asked for it), otherwise the embedded synthetic phantom, packed as the
 * same kind of zip so the walkthrough's unzip step runs for real either way.
 */
import * as path from 'node:path';
import { findKaggleCredentials, datasetsDownload } from './kaggle';
import { chestCtPhantom, CHEST_CT_DATASET } from './phantom';
import { checkOneOf, checkInteger } from '../util/validate';

/** Options for {@link obtainChestCtZip}. */
export interface ObtainChestCtZipArgs {
  /**
   * `'kaggle'` (default): download the real dataset when Kaggle credentials exist, otherwise fall
   * back to the phantom and say why. `'phantom'`: always build the synthetic set.
   */
  source?: 'kaggle' | 'phantom';
  /** Folder that receives the zip. */
  dest: string;
  /** Seed of the phantom. Default 0. */
  seed?: number;
  /** Phantom images per class and split; 0 or undefined = the real dataset's counts. */
  perClass?: number;
  /** Silence download progress. Default false. */
  quiet?: boolean;
}

/** What {@link obtainChestCtZip} produced. */
export interface ChestCtZip {
  /** Path of the zip file. */
  zipPath: string;
  /** Which data it holds. */
  kind: 'kaggle' | 'phantom';
  /** One or two sentences for the reader: what was used and why. */
  message: string;
}

/**
 * Produces `chest-ctscan-images.zip` in `dest`, from Kaggle or from the embedded phantom.
 *
 * @param args - see {@link ObtainChestCtZipArgs}
 * @returns the zip's path, its kind and a message explaining the choice
 * @throws errors of {@link datasetsDownload} when Kaggle was chosen and credentials exist but the
 *   download fails (no silent fallback: the user asked for the real data)
 * @example
 * const { zipPath, message } = await obtainChestCtZip({ dest: 'output/download' });
 * console.log(message);
 */
export async function obtainChestCtZip(args: ObtainChestCtZipArgs): Promise<ChestCtZip> {
  const source = checkOneOf('source', args.source ?? 'kaggle', ['kaggle', 'phantom'] as const);
  const perClass = args.perClass ?? 0;
  checkInteger('perClass', perClass, 0);
  const seed = args.seed ?? 0;
  let why: string;
  if (source === 'kaggle') {
    let credentials: ReturnType<typeof findKaggleCredentials> = null;
    let problem = '';
    try {
      credentials = findKaggleCredentials();
    } catch (error) {
      problem = (error as Error).message;
    }
    if (credentials) {
      const result = await datasetsDownload(CHEST_CT_DATASET, { path: args.dest, unzip: false, quiet: args.quiet ?? false });
      return {
        zipPath: result.zipPath,
        kind: 'kaggle',
        message: `${result.skipped ? 'Reusing the downloaded' : 'Downloaded'} ${CHEST_CT_DATASET} from Kaggle as ${credentials.username} (credentials from ${credentials.source}): ${result.zipPath}`,
      };
    }
    why = problem
      ? `Kaggle credentials could not be read (${problem.split('\n')[0]}), so`
      : 'No Kaggle credentials were found (set KAGGLE_USERNAME and KAGGLE_KEY, or put kaggle.json in ~/.kaggle), so';
  } else {
    why = 'datasetSource is "phantom", so';
  }
  const phantom = await chestCtPhantom({ dest: args.dest, seed, perClass: perClass === 0 ? undefined : perClass, zip: true });
  const zipPath = phantom.zipPath ?? path.join(args.dest, 'chest-ctscan-images.zip');
  const total = Object.values(phantom.counts).reduce((sum, split) => sum + Object.values(split).reduce((a, b) => a + b, 0), 0);
  return {
    zipPath,
    kind: 'phantom',
    message: `${why} this run uses the embedded phantom: ${total} synthetic CT slices with the real dataset's folders and class names (seed ${seed}), packed as ${zipPath}. Accuracy on it says nothing about real patients.`,
  };
}
