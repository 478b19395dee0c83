/**
 * The embedded default dataset: a synthetic chest-CT phantom with the folder layout, class names,
 * file-name style and split sizes of Kaggle's `mohamedhanyyy/chest-ctscan-images`, so the
 * walkthrough runs end to end without credentials or network. Each slice is drawn by
 * {@link renderPhantomSlice}: anatomy varies per image, and the class is a finding (peripheral
 * nodule, large hilar mass, central mass by the main bronchus, or nothing) among benign
 * distractors present in every class. Images are grayscale PNG (about 80 %) and JPEG, 200–520 px
 * wide by default (median about 400×280; the real set spans 172×110 to 1200×874, median 429×285).
 * Same seed and options → byte-identical files and zip.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createRandom, deriveSeed } from '../util/random';
import { checkBoolean, checkInteger, checkString, invalidParameterError, isPlainObject } from '../util/validate';
import { createProgress } from '../runtime/progress';
import { renderPhantomSlice, type LesionBox, type PhantomFinding } from './phantom-render';
import { PHANTOM_LESIONS_FILE, type PhantomLesions, type PhantomLesionEntry } from './phantom-lesions';
import { ZipWriter } from './zip-writer';

/** The Kaggle dataset the phantom imitates. */
export const CHEST_CT_DATASET = 'mohamedhanyyy/chest-ctscan-images';

/** Class folder names of the train and valid splits (sorted, as flowFromDirectory lists them). */
export const CHEST_CT_CLASSES = Object.freeze([
  'adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib',
  'large.cell.carcinoma_left.hilum_T2_N2_M0_IIIa',
  'normal',
  'squamous.cell.carcinoma_left.hilum_T1_N2_M0_IIIa',
] as const);

/** Class folder names of the test split (the real dataset uses short names there). */
export const CHEST_CT_TEST_CLASSES = Object.freeze(['adenocarcinoma', 'large.cell.carcinoma', 'normal', 'squamous.cell.carcinoma'] as const);

/** The three splits, in the real dataset's folder names. */
export type ChestCtSplit = 'train' | 'valid' | 'test';

const SPLITS: readonly ChestCtSplit[] = ['train', 'valid', 'test'];

/** Images per split and class folder in the real dataset (613 / 72 / 315, 1000 in all). */
export const CHEST_CT_COUNTS: Readonly<Record<ChestCtSplit, Readonly<Record<string, number>>>> = Object.freeze({
  train: Object.freeze({ [CHEST_CT_CLASSES[0]]: 195, [CHEST_CT_CLASSES[1]]: 115, [CHEST_CT_CLASSES[2]]: 148, [CHEST_CT_CLASSES[3]]: 155 }),
  valid: Object.freeze({ [CHEST_CT_CLASSES[0]]: 23, [CHEST_CT_CLASSES[1]]: 21, [CHEST_CT_CLASSES[2]]: 13, [CHEST_CT_CLASSES[3]]: 15 }),
  test: Object.freeze({ [CHEST_CT_TEST_CLASSES[0]]: 120, [CHEST_CT_TEST_CLASSES[1]]: 51, [CHEST_CT_TEST_CLASSES[2]]: 54, [CHEST_CT_TEST_CLASSES[3]]: 90 }),
});

/** Name of the zip, as Kaggle names the download. */
export const CHEST_CT_ZIP_NAME = 'chest-ctscan-images.zip';

const FINDINGS: readonly PhantomFinding[] = ['adenocarcinoma', 'large.cell.carcinoma', 'normal', 'squamous.cell.carcinoma'];

/** Options of {@link chestCtPhantom}. */
export interface ChestCtPhantomArgs {
  /** Folder that receives the zip (or, with `zip: false`, the `Data/` tree). Created when missing. */
  dest: string;
  /** Seed; the same seed and options give byte-identical output. Default 0. */
  seed?: number;
  /**
   * Images per class in every split. Default: the real dataset's counts ({@link CHEST_CT_COUNTS},
   * 1000 images). A small number (e.g. 8) gives a set in seconds.
   */
  perClass?: number;
  /** Splits to generate. Default `['train', 'valid', 'test']`. */
  splits?: ChestCtSplit[];
  /** Pack everything as `<dest>/chest-ctscan-images.zip` (entries under `Data/`) instead of loose files. Default true. */
  zip?: boolean;
  /** Image widths are drawn from [minWidth, maxWidth], median at 62.5 % of the range; height is 0.6–0.8 × width. Default 200. */
  minWidth?: number;
  /** See {@link minWidth}. Default 520. */
  maxWidth?: number;
  /** Fraction of images written as JPEG (quality 88–95) rather than PNG, in [0, 1]. Default 0.2. */
  jpegFraction?: number;
  /** Images encoded concurrently by sharp. Default 4. */
  concurrency?: number;
  /** Do not report progress. Default false. */
  quiet?: boolean;
}

/** What {@link chestCtPhantom} produced. */
export interface PhantomResult {
  /** The zip's path (when `zip` is true). */
  zipPath?: string;
  /**
   * `<dest>/Data`, the folder holding `train/`, `valid/` and `test/`. With `zip: true` it is where
   * extracting the zip into `dest` puts them (the phantom itself writes only the zip).
   */
  root: string;
  /** Images per split and class folder. */
  counts: Record<ChestCtSplit, Record<string, number>>;
  /** Class folder names: `train` (also valid) and `test`. */
  classes: { train: string[]; test: string[] };
  /** Images written. */
  images: number;
  /** Wall time in seconds. */
  seconds: number;
}

/** One image to produce. */
interface PhantomItem {
  /** Path relative to `dest`, e.g. `Data/train/normal/000012 (3).png`. */
  rel: string;
  finding: PhantomFinding;
  seed: number;
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  quality: number;
}

const pad6 = (n: number) => String(n).padStart(6, '0');
const SHORT_PREFIX: Record<PhantomFinding, string> = { adenocarcinoma: 'ad', 'large.cell.carcinoma': 'l', normal: 'n', 'squamous.cell.carcinoma': 'sq' };

/** Plans one folder: unique real-looking names (`000108.png`, `000108 (3).png`, `n12.jpg`), formats and sizes. */
function planFolder(seed: number, folder: number, n: number, finding: PhantomFinding, dir: string, o: Required<Omit<ChestCtPhantomArgs, 'dest' | 'splits'>>): PhantomItem[] {
  const rng = createRandom(deriveSeed(seed ^ 0x5eed, folder));
  const used = new Set<string>();
  const pool = Array.from({ length: Math.max(4, Math.ceil(n / 3)) }, () => rng.int(1000));
  const items: PhantomItem[] = [];
  for (let i = 0; i < n; i++) {
    const format = rng.next() < o.jpegFraction ? 'jpeg' : 'png';
    const ext = format === 'png' ? '.png' : '.jpg';
    let name = '';
    for (let attempt = 0; name === '' || used.has(name.toLowerCase()); attempt++) {
      const p = rng.next();
      if (attempt > 20) name = `${pad6(10000 + i)}${ext}`;
      else if (p < 0.55) name = `${pad6(pool[rng.int(pool.length)])} (${2 + rng.int(8)})${ext}`;
      else if (p < 0.85) name = `${pad6(pool[rng.int(pool.length)])}${ext}`;
      else name = `${SHORT_PREFIX[finding]}${1 + rng.int(Math.max(20, 2 * n))}${ext}`;
    }
    used.add(name.toLowerCase());
    const width = Math.round(o.minWidth + (o.maxWidth - o.minWidth) * Math.pow(rng.next(), 0.678));
    const height = Math.max(8, Math.round(width * rng.uniform(0.6, 0.8)));
    items.push({ rel: `${dir}/${name}`, finding, seed: deriveSeed(seed, (folder << 16) + i), format, width, height, quality: 88 + rng.int(8) });
  }
  return items.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

async function encode(item: PhantomItem): Promise<{ data: Buffer; lesion: LesionBox | null }> {
  const { pixels, lesion } = renderPhantomSlice(createRandom(item.seed), item.finding, item.width, item.height);
  const img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), { raw: { width: item.width, height: item.height, channels: 1 } }).toColourspace('b-w');
  const data = await (item.format === 'png' ? img.png({ compressionLevel: 6 }).toBuffer() : img.jpeg({ quality: item.quality }).toBuffer());
  return { data, lesion };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** The lesions file's entry of one image. */
function lesionEntry(item: PhantomItem, lesion: LesionBox | null): PhantomLesionEntry {
  return {
    finding: item.finding,
    width: item.width,
    height: item.height,
    lesion: lesion === null ? null : {
      x: round2(lesion.x), y: round2(lesion.y), radius: round2(lesion.radius),
      x0: round2(lesion.x0), y0: round2(lesion.y0), x1: round2(lesion.x1), y1: round2(lesion.y1),
    },
  };
}

/**
 * Generates the synthetic chest-CT dataset, packed like the Kaggle download.
 *
 * Layout: `Data/train/<long class>`, `Data/valid/<long class>`, `Data/test/<short class>` with the
 * names in {@link CHEST_CT_CLASSES} and {@link CHEST_CT_TEST_CLASSES}. Findings: adenocarcinoma →
 * a peripheral nodule in the left lower lung (sometimes small and faint); large cell carcinoma →
 * a large lobulated hilar mass; squamous cell carcinoma → a central mass against the left main
 * bronchus (some cavitated); normal → none. Benign nodules, a calcified granuloma and hilar lymph
 * nodes appear in every class, so the classes are learnable but not trivially separable. This is
 * not medical data: accuracy on it says nothing about patients.
 *
 * Beside the split folders, `Data/lesions.json` ({@link PhantomLesions}, read with
 * `readPhantomLesions`) records where each image's finding was drawn: the ground truth that
 * scores an explanation such as Grad-CAM. The real Kaggle set has no such file.
 *
 * The zip is written to a temporary name and renamed when complete, so an interrupted run never
 * leaves a truncated `chest-ctscan-images.zip`. An existing zip is replaced.
 *
 * @param args - see {@link ChestCtPhantomArgs}
 * @returns the zip path, root folder, counts per split and class, class names and the time taken
 * @throws TypeError for invalid arguments; file-system and sharp errors as they come
 * @example
 * const { zipPath, counts } = await chestCtPhantom({ dest: 'output/download', perClass: 8 });
 * await extractArchive(zipPath!, 'output/data'); // -> output/data/Data/train/normal/...
 */
export async function chestCtPhantom(args: ChestCtPhantomArgs): Promise<PhantomResult> {
  const start = performance.now();
  if (!isPlainObject(args)) throw invalidParameterError('args', 'object with dest', args);
  const dest = path.resolve(checkString('dest', args.dest));
  const seed = checkInteger('seed', args.seed ?? 0);
  const perClass = args.perClass === undefined ? undefined : checkInteger('perClass', args.perClass, 1, 10_000);
  const splits = args.splits ?? [...SPLITS];
  if (!Array.isArray(splits) || splits.length === 0 || splits.some((s) => !SPLITS.includes(s))) {
    throw invalidParameterError('splits', "non-empty array of 'train', 'valid', 'test'", splits);
  }
  const zip = checkBoolean('zip', args.zip ?? true);
  const minWidth = checkInteger('minWidth', args.minWidth ?? 200, 16, 4096);
  const maxWidth = checkInteger('maxWidth', args.maxWidth ?? 520, minWidth, 4096);
  const jpegFraction = args.jpegFraction ?? 0.2;
  if (typeof jpegFraction !== 'number' || !(jpegFraction >= 0 && jpegFraction <= 1)) throw invalidParameterError('jpegFraction', 'number between 0 and 1', jpegFraction);
  const concurrency = checkInteger('concurrency', args.concurrency ?? 4, 1, 64);
  const quiet = checkBoolean('quiet', args.quiet ?? false);
  const o = { seed, perClass: perClass ?? 0, zip, minWidth, maxWidth, jpegFraction, concurrency, quiet };

  const counts = {} as Record<ChestCtSplit, Record<string, number>>;
  const items: PhantomItem[] = [];
  for (const split of SPLITS) {
    if (!splits.includes(split)) continue;
    const names = split === 'test' ? CHEST_CT_TEST_CLASSES : CHEST_CT_CLASSES;
    counts[split] = {};
    names.forEach((cls, c) => {
      const n = perClass ?? CHEST_CT_COUNTS[split][cls];
      counts[split][cls] = n;
      items.push(...planFolder(seed, SPLITS.indexOf(split) * 4 + c, n, FINDINGS[c], `Data/${split}/${cls}`, o));
    });
  }

  await fsp.mkdir(dest, { recursive: true });
  const progress = quiet ? null : createProgress({ label: 'chest-CT phantom', total: items.length, unit: 'count' });
  const zipPath = path.join(dest, CHEST_CT_ZIP_NAME);
  const partial = `${zipPath}.partial-${process.pid}`;
  const writer = zip ? await ZipWriter.create(partial) : null;
  try {
    const dirs = new Set<string>();
    const pending: Promise<{ data: Buffer; lesion: LesionBox | null }>[] = [];
    const lesions: PhantomLesions = {
      format: 'transferlab-phantom-lesions',
      version: 1,
      dataset: CHEST_CT_DATASET,
      seed,
      coordinates: 'pixels of the stored image, origin top left; pixel (i, j) covers [i, i+1) x [j, j+1); boxes include the soft edge and blur',
      images: {},
    };
    let next = 0;
    const fill = () => {
      while (next < items.length && pending.length < concurrency) pending.push(encode(items[next++]));
    };
    fill();
    for (let i = 0; i < items.length; i++) {
      const { data, lesion } = await pending.shift()!;
      fill();
      const item = items[i];
      lesions.images[item.rel.slice('Data/'.length)] = lesionEntry(item, lesion);
      const parts = item.rel.split('/');
      for (let k = 1; k < parts.length; k++) {
        const dir = parts.slice(0, k).join('/');
        if (dirs.has(dir)) continue;
        dirs.add(dir);
        if (writer) await writer.add(`${dir}/`, Buffer.alloc(0));
        else await fsp.mkdir(path.join(dest, dir), { recursive: true });
      }
      if (writer) await writer.add(item.rel, data, { method: 0 });
      else await fsp.writeFile(path.join(dest, item.rel), data);
      progress?.update(i + 1);
    }
    const lesionsJson = Buffer.from(`${JSON.stringify(lesions, null, 1)}\n`);
    if (writer) await writer.add(`Data/${PHANTOM_LESIONS_FILE}`, lesionsJson);
    else await fsp.writeFile(path.join(dest, 'Data', PHANTOM_LESIONS_FILE), lesionsJson);
    if (writer) {
      await writer.close();
      await fsp.rename(partial, zipPath);
    }
  } catch (err) {
    if (writer) {
      await writer.abort();
      await fsp.rm(partial, { force: true });
    }
    throw err;
  }
  const seconds = (performance.now() - start) / 1000;
  progress?.finish(`${items.length} images in ${seconds.toFixed(1)} s`);
  return {
    ...(zip ? { zipPath } : {}),
    root: path.join(dest, 'Data'),
    counts,
    classes: { train: [...CHEST_CT_CLASSES], test: [...CHEST_CT_TEST_CLASSES] },
    images: items.length,
    seconds,
  };
}
