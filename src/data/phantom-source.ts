/**
 * The *source task* for offline transfer learning: "where is the lesion?", on synthetic chest-CT
 * slices drawn by the same renderer as the chest-CT phantom ({@link renderSourceSlice}).
 *
 * Why this task. Transfer learning needs a task B with plenty of labels that shares what matters
 * with the task A we care about. Here A is the phantom's four findings (three cancer kinds, all in
 * the patient's left lung, told apart by kind, size and exact position, and normal). B asks only
 * *where* a lesion is: none, or in the patient's right or left lung, central (by the hilum and main
 * bronchus) or peripheral (out towards the chest wall) — five classes. Every kind and size of lesion
 * appears at every site and in both lungs, so a network that solves B must learn to find lesions of
 * any look among vessels, bronchi and benign nodules, and to place them against the anatomy; it
 * never sees A's labels, A's class-to-kind pairing, or any of A's images. The renderer can draw as
 * many of B's slices as a run needs, which is the point: labels for B are free, labels for A are few.
 *
 * Seeds: slice `i` of source seed `s` draws from `deriveSeed(deriveSeed(s, SOURCE_SEED_ROOT), i)`, a
 * stream that no split of the chest-CT phantom uses (those derive from `deriveSeed(seed, folder << 16 | i)`
 * directly), so no source slice repeats a target slice.
 */
import { createRandom, deriveSeed } from '../util/random';
import { renderSourceSlice, type LesionBox, type LesionSite } from './phantom-render';

/** Class names of the source task, in label order (sorted, as a directory listing would give them). */
export const PHANTOM_SOURCE_CLASSES = Object.freeze(['left.central', 'left.peripheral', 'none', 'right.central', 'right.peripheral'] as const);

/** One class of the source task. */
export type PhantomSourceClass = (typeof PHANTOM_SOURCE_CLASSES)[number];

/** Root mixed into every source seed, so source streams never meet the target phantom's. */
export const SOURCE_SEED_ROOT = 0x5ca1ab1e;

/** One slice of the source task. */
export interface PhantomSourceSample {
  /** 8-bit grayscale pixels, row-major. */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Index into {@link PHANTOM_SOURCE_CLASSES}. */
  label: number;
  /** Where the lesion was drawn (empty for 'none'). */
  lesions: LesionBox[];
}

/** Options of {@link phantomSourceSample}. */
export interface PhantomSourceSampleArgs {
  /** Seed of the whole source set. Default 0. */
  seed?: number;
  /** Smallest rendered width in pixels (as the chest-CT phantom). Default 200. */
  minWidth?: number;
  /** Largest rendered width in pixels. Default 520. */
  maxWidth?: number;
}

function siteOf(name: PhantomSourceClass): LesionSite[] {
  if (name === 'none') return [];
  const [side, zone] = name.split('.') as [LesionSite['side'], LesionSite['zone']];
  return [{ side, zone }];
}

/**
 * Draws slice `index` of the source task: its class is `index mod 5` (balanced classes), its size
 * and anatomy come from its own seeded stream. Pure: the same arguments give the same pixels.
 *
 * @param index - non-negative integer; indices from 1,000,000 on are the conventional held-out range
 * @param args - see {@link PhantomSourceSampleArgs}
 * @returns pixels, size, label and lesion boxes
 * @example
 * const s = phantomSourceSample(7, { seed: 1 });
 * PHANTOM_SOURCE_CLASSES[s.label]; // 'right.central'
 */
export function phantomSourceSample(index: number, args: PhantomSourceSampleArgs = {}): PhantomSourceSample {
  const seed = args.seed ?? 0;
  const minWidth = args.minWidth ?? 200;
  const maxWidth = args.maxWidth ?? 520;
  const rng = createRandom(deriveSeed(deriveSeed(seed, SOURCE_SEED_ROOT), index));
  const label = index % PHANTOM_SOURCE_CLASSES.length;
  const width = Math.round(minWidth + (maxWidth - minWidth) * Math.pow(rng.next(), 0.678));
  const height = Math.max(8, Math.round(width * rng.uniform(0.6, 0.8)));
  const { pixels, lesions } = renderSourceSlice(rng, siteOf(PHANTOM_SOURCE_CLASSES[label]), width, height);
  return { pixels, width, height, label, lesions };
}
