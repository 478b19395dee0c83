/**
 * Listing a folder of class subfolders, ported from Keras `keras/src/legacy/preprocessing/image.py`
 * (`_iter_valid_files`, `_list_valid_filenames_in_directory`, the class scan of `DirectoryIterator`):
 * classes are the sorted subfolder names (or those given, in that order); files are found
 * recursively, folders sorted by path and files sorted within each; a `split` keeps that fraction of
 * each class. Names are read as bytes, so a name that is not valid UTF-8 is still listed and opened.
 *
 * Differences: dot-files and dot-folders are skipped (Keras would make `.ipynb_checkpoints` a class);
 * an extension needs its dot (`x.png`, not `xpng`); with `followLinks`, a folder reached again
 * through a link is listed once (with one warning).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryScanError, type ImageDecodeError } from './errors';
import { checkImage, hasAllowedExtension } from './image-io';

/** A folder entry with its name as bytes too (a name need not be valid UTF-8). */
interface RawEntry {
  /** The name decoded as UTF-8 (invalid bytes become U+FFFD): for sorting and messages. */
  name: string;
  /** The name's bytes, exactly as stored. */
  bytes: Buffer;
  /** True when `name` encodes back to `bytes` (then the string path opens the file). */
  utf8: boolean;
  entry: fs.Dirent;
}

/** Lists `dir` (given as bytes) by bytes, so names that are not valid UTF-8 survive; `shown` is for messages. */
function listDir(dir: Buffer, shown: string): RawEntry[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }) as unknown as fs.Dirent[];
  } catch (err) {
    throw new DirectoryScanError(shown, `${(err as Error).message}. Check the path (it should contain one subfolder per class).`, { cause: err });
  }
  return entries.map((entry) => {
    const bytes = entry.name as unknown as Buffer;
    const name = bytes.toString('utf8');
    return { name, bytes, utf8: Buffer.from(name, 'utf8').equals(bytes), entry };
  });
}

function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from(path.sep), name]);
}

function isDirectory(full: Buffer, entry: fs.Dirent): boolean {
  if (entry.isDirectory()) return true;
  if (entry.isSymbolicLink()) {
    try {
      return fs.statSync(full).isDirectory();
    } catch {
      return false;
    }
  }
  return false;
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One image found by {@link iterValidFiles}. */
interface FoundFile {
  /** The folder it is in (as printed). */
  root: string;
  /** Its name (as printed). */
  name: string;
  /** Its full path as bytes when the path is not valid UTF-8; null when `root/name` opens it. */
  bytes: Buffer | null;
}

/**
 * Keras `_iter_valid_files`: images under `directory`, roots sorted, files sorted within a root.
 * Names are read as bytes. With `followLinks`, a folder already listed, reached again through a
 * link (a loop such as `a/up -> ..`, or a second way to the same folder), is not entered again:
 * its path is added to `skipped`.
 */
function iterValidFiles(directory: string, directoryBytes: Buffer, exact: boolean, followLinks: boolean, seen: Set<string>, skipped: string[]): FoundFile[] {
  const roots: Array<[string, FoundFile[]]> = [];
  const walk = (dir: string, bytes: Buffer, dirExact: boolean): void => {
    const st = fs.statSync(bytes, { throwIfNoEntry: false });
    if (st !== undefined) seen.add(`${st.dev}:${st.ino}`);
    const files: FoundFile[] = [];
    for (const e of listDir(bytes, dir)) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      const fullBytes = joinBytes(bytes, e.bytes);
      const fullExact = dirExact && e.utf8;
      if (isDirectory(fullBytes, e.entry)) {
        if (!followLinks && e.entry.isSymbolicLink()) continue;
        // Only a link can lead to a folder twice; any folder already listed is not entered again.
        const target = fs.statSync(fullBytes, { throwIfNoEntry: false });
        if (target === undefined || seen.has(`${target.dev}:${target.ino}`)) {
          skipped.push(full);
          continue;
        }
        walk(full, fullBytes, fullExact);
      } else {
        files.push({ root: dir, name: e.name, bytes: fullExact ? null : fullBytes });
      }
    }
    roots.push([dir, files]);
  };
  walk(directory, directoryBytes, exact);
  roots.sort((a, b) => byCodePoint(a[0], b[0]));
  const out: FoundFile[] = [];
  for (const [, files] of roots) for (const f of files.sort((a, b) => byCodePoint(a.name, b.name))) if (hasAllowedExtension(f.name)) out.push(f);
  return out;
}

/** Options of {@link listImageFiles}. */
export interface ListImageFilesArgs {
  /** Class subfolder names in label order, or null/empty for every subfolder, sorted. */
  classes: string[] | null;
  /** Follow symbolic links to subfolders. */
  followLinks: boolean;
  /** `[from, to)` fraction of each class's sorted files to keep (Keras's `subset`), or null for all. */
  split: [number, number] | null;
}

/** What {@link listImageFiles} found. */
export interface ImageFiles {
  /** Class names in label order. */
  classNames: string[];
  /** Paths relative to the folder, `'<class>/<file>'` with `/` separators. */
  filenames: string[];
  /** Each file's full path as bytes when its name is not valid UTF-8, else null. */
  fileBytes: Array<Buffer | null>;
  /** Label of each file. */
  labels: Int32Array;
}

/**
 * The images of a folder of class subfolders, in Keras's order (see the module comment). Prints one
 * warning listing the folders skipped because a link led to them again.
 *
 * @param directory - folder with one subfolder per class
 * @param args - see {@link ListImageFilesArgs}
 * @returns see {@link ImageFiles}
 * @throws {DirectoryScanError} when a folder cannot be listed
 * @example
 * const { classNames, filenames } = listImageFiles('data/train', { classes: null, followLinks: false, split: null });
 */
export function listImageFiles(directory: string, args: ListImageFilesArgs): ImageFiles {
  let classNames = args.classes ?? null;
  const directoryBytes = Buffer.from(directory);
  // Class folders by bytes: a folder whose name is not valid UTF-8 is still read (its class name shows U+FFFD).
  const classDirs = new Map<string, { bytes: Buffer; exact: boolean }>();
  if (classNames === null || classNames.length === 0) {
    const found = listDir(directoryBytes, directory).filter((e) => !e.name.startsWith('.') && isDirectory(joinBytes(directoryBytes, e.bytes), e.entry));
    for (const e of found) if (!classDirs.has(e.name)) classDirs.set(e.name, { bytes: joinBytes(directoryBytes, e.bytes), exact: e.utf8 });
    classNames = [...classDirs.keys()].sort(byCodePoint);
  }
  const classIndices: Record<string, number> = Object.fromEntries(classNames.map((c, i) => [c, i]));
  const filenames: string[] = [];
  const fileBytes: Array<Buffer | null> = [];
  const labels: number[] = [];
  const seen = new Set<string>();
  const skippedLinks: string[] = [];
  for (const cls of classNames) {
    const classDir = path.join(directory, cls);
    const where = classDirs.get(cls) ?? { bytes: Buffer.from(classDir), exact: true };
    let files = iterValidFiles(classDir, where.bytes, where.exact, args.followLinks, seen, skippedLinks);
    const split = args.split;
    if (split !== null) files = files.slice(Math.trunc(split[0] * files.length), Math.trunc(split[1] * files.length));
    for (const f of files) {
      filenames.push([cls, ...path.relative(classDir, path.join(f.root, f.name)).split(path.sep)].join('/'));
      fileBytes.push(f.bytes);
      labels.push(classIndices[cls] as number);
    }
  }
  if (skippedLinks.length > 0) {
    console.warn(
      `Skipped ${skippedLinks.length} folder(s) reached again through symbolic links (a link loop, or a second way to the same folder), so no image is counted twice:\n` +
        skippedLinks.map((l) => `  ${l}`).join('\n'),
    );
  }
  return { classNames, filenames, fileBytes, labels: Int32Array.from(labels) };
}

/**
 * Decodes every file once (without keeping the pixels) to find those that cannot be decoded.
 *
 * @param filepaths - the files, as printed
 * @param fileBytes - each file's path as bytes when it is not valid UTF-8, else null
 * @param limitInputPixels - pixel limit of the decoder
 * @param concurrency - decodes in flight (at least 1)
 * @returns per file, its error or null
 */
export async function checkImages(filepaths: readonly string[], fileBytes: ReadonlyArray<Buffer | null>, limitInputPixels: number, concurrency: number): Promise<Array<ImageDecodeError | null>> {
  const errors: Array<ImageDecodeError | null> = new Array(filepaths.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < filepaths.length) {
      const k = next++;
      errors[k] = await checkImage(filepaths[k] as string, limitInputPixels, fileBytes[k] ?? null);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return errors;
}
