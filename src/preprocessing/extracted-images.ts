/**
 * The walkthrough's guard against mixed data: after `extractArchive` and `flowFromDirectory`, the
 * images the iterators found must be exactly the images the archive wrote. A folder that still
 * held an earlier run's (or another dataset's) images would otherwise train and test on both.
 */
import * as path from 'node:path';
import { ExtractedImagesMismatchError } from './errors';
import { hasAllowedExtension } from './image-io';

/** What {@link checkExtractedImages} needs of an extraction (an `ExtractResult`). */
export interface ExtractedFiles {
  /** The destination folder. */
  dest: string;
  /** Relative paths of the files written, `/`-separated. */
  files: string[];
}

/** What {@link checkExtractedImages} needs of an iterator (a `DirectoryIterator`). */
export interface IteratedImages {
  /** The folder the iterator reads, with one sub-folder per class. */
  directory: string;
  /** The classes it reads (sub-folder name → index). */
  classIndices: Record<string, number>;
  /** Absolute paths of the images it found. */
  filepaths: string[];
}

/** Counts per iterator, from {@link checkExtractedImages}. */
export interface ExtractedImagesReport {
  /** Images extracted under all the iterators' class folders. */
  extracted: number;
  /** Images all the iterators found (equal to `extracted`). */
  found: number;
  /** The same two numbers per iterator name. */
  byName: Record<string, { extracted: number; found: number }>;
}

function sample(items: string[], n = 3): string {
  const shown = items.slice(0, n).join(', ');
  return items.length > n ? `${shown}, ... (${items.length} in all)` : shown;
}

/**
 * Checks that each iterator found exactly the images that the extraction wrote into its class
 * folders: no leftovers from earlier runs, nothing missing. Files the iterator ignores (other
 * extensions, files outside class folders) are ignored on both sides, as Keras does.
 *
 * @param extracted - the result of `extractArchive`
 * @param iterators - iterators by name, e.g. `{ train: trainFlow, valid: validFlow, test: testFlow }`
 * @returns the counts, equal on both sides
 * @throws {ExtractedImagesMismatchError} when an iterator found images the archive did not write
 *   or misses some it did; the message names the iterator, both counts and example files
 * @example
 * const report = tl.checkExtractedImages(extracted, { train: trainFlow, valid: validFlow, test: testFlow });
 * console.log(`${report.extracted} images extracted, ${report.found} found`);
 */
export function checkExtractedImages(extracted: ExtractedFiles, iterators: Record<string, IteratedImages>): ExtractedImagesReport {
  const dest = path.resolve(extracted.dest);
  const report: ExtractedImagesReport = { extracted: 0, found: 0, byName: {} };
  for (const [name, it] of Object.entries(iterators)) {
    const dir = path.resolve(it.directory);
    const rel = path.relative(dest, dir);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new ExtractedImagesMismatchError(
        `Expected iterator ${name} to read a folder inside the extracted ${dest} but it reads ${dir}. Point it at a folder of the extraction.`,
        { path: dest, extracted: 0, found: it.filepaths.length },
      );
    }
    const prefix = rel === '' ? '' : `${rel.split(path.sep).join('/')}/`;
    const classes = new Set(Object.keys(it.classIndices));
    const written = new Set<string>();
    for (const f of extracted.files) {
      if (!f.startsWith(prefix)) continue;
      const parts = f.slice(prefix.length).split('/');
      if (parts.length >= 2 && classes.has(parts[0]) && hasAllowedExtension(f)) written.add(path.join(dest, ...f.split('/')));
    }
    const found = new Set(it.filepaths.map((p) => path.resolve(p)));
    const extra = [...found].filter((p) => !written.has(p)).sort();
    const missing = [...written].filter((p) => !found.has(p)).sort();
    if (extra.length > 0 || missing.length > 0) {
      const parts = [
        extra.length > 0 ? `${extra.length} not written by the extraction (e.g. ${sample(extra.map((p) => path.relative(dir, p)))})` : '',
        missing.length > 0 ? `${missing.length} extracted but not found (e.g. ${sample(missing.map((p) => path.relative(dir, p)))})` : '',
      ].filter(Boolean);
      throw new ExtractedImagesMismatchError(
        `Expected iterator ${name} to find the ${written.size} images extracted into ${dir} but it found ${found.size}: ${parts.join('; ')}. ` +
          'The folder mixes data from elsewhere (an earlier run?); extract into a new folder or with overwrite: true, which replaces it.',
        { path: dest, extracted: written.size, found: found.size },
      );
    }
    report.byName[name] = { extracted: written.size, found: found.size };
    report.extracted += written.size;
    report.found += found.size;
  }
  return report;
}
