/**
 * Safe extraction of zip archives from untrusted sources (the walkthrough's `!unzip` step).
 *
 * adm-zip's own `extractAllTo` is not safe for hostile archives: it renames `../` and absolute
 * entries into the target instead of refusing them, writes symlink entries as text files, writes
 * through links already present in the target, has no size cap, drops duplicate names and
 * collapses non-UTF-8 names. {@link extractArchive} reads the central directory through
 * {@link readZipDirectory} (adm-zip underneath), checks every entry before writing anything,
 * inflates one entry at a time with the declared size as a hard limit, writes into a private
 * staging folder next to the destination and moves the result into place only when everything
 * succeeded.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { checkBoolean, checkInteger, checkString, isNumber, isPlainObject, invalidParameterError } from '../util/validate';
import { ArchiveError } from './errors';
import { readZipDirectory, type ZipDirectory, type ZipRecord } from './zip-reader';

/** Options of {@link extractArchive}. */
export interface ExtractArchiveArgs {
  /** Largest total uncompressed size, from the central directory and while inflating. Default 4 GiB. */
  maxTotalBytes?: number;
  /** Largest uncompressed size of one entry. Default 1 GiB (one entry is inflated in memory). */
  maxEntryBytes?: number;
  /** Most entries (files and folders) in the archive. Default 100 000. */
  maxEntries?: number;
  /**
   * Highest compression ratio (uncompressed / compressed) accepted, checked for every entry of at
   * least 1 MiB and for the archive as a whole when it holds at least 1 MiB. Default 100 (ordinary
   * data rarely exceeds 20; zip bombs reach 1000 and more).
   */
  maxRatio?: number;
  /**
   * What to do when `dest` is a folder that is not empty (extraction never merges): `false`
   * refuses, naming what is there; `true` replaces the folder's whole content with the archive's,
   * swapping the complete new folder in for the old one. Either way a symbolic link where the
   * archive puts an entry is refused first. Default false.
   */
  overwrite?: boolean;
}

/** What {@link extractArchive} wrote. */
export interface ExtractResult {
  /** The destination folder (absolute). */
  dest: string;
  /** Relative paths of the files written, with `/` separators, sorted by code unit. */
  files: string[];
  /** Total uncompressed bytes written. */
  bytes: number;
}

const GiB = 1024 ** 3;
const RATIO_MIN_BYTES = 1024 * 1024;

/** Defaults of {@link ExtractArchiveArgs}. */
export const EXTRACT_ARCHIVE_DEFAULTS = Object.freeze({
  maxTotalBytes: 4 * GiB,
  maxEntryBytes: 1 * GiB,
  maxEntries: 100_000,
  maxRatio: 100,
  overwrite: false,
});

interface PlannedEntry {
  record: ZipRecord;
  /** Validated relative path, `/`-separated. */
  rel: string;
  dir: boolean;
}

/**
 * Validates an entry name and turns it into a relative path. Backslashes count as separators
 * (archives written on Windows use them), `.` and empty segments are dropped.
 * Returns a reason string when the name must be refused.
 */
function relativePathOf(name: string): { rel: string } | { reason: string } {
  if (/[\u0000-\u001f\u007f]/.test(name)) return { reason: 'contains control characters' };
  const unified = name.replace(/\\/g, '/');
  if (unified.startsWith('/')) return { reason: 'is an absolute path' };
  if (/^[A-Za-z]:/.test(unified)) return { reason: 'starts with a drive letter' };
  const parts = unified.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { reason: "contains a '..' segment that would leave the destination" };
  if (process.platform === 'win32' && parts.some((p) => p.includes(':'))) return { reason: "contains ':' (drive or stream name)" };
  if (parts.length === 0) return { reason: 'has an empty path' };
  return { rel: parts.join('/') };
}

function checkRatio(value: unknown): number {
  if (!isNumber(value) || value < 1) throw invalidParameterError('maxRatio', 'number >= 1', value);
  return value;
}

function fold(rel: string): string {
  return rel.normalize('NFC').toLowerCase();
}

function planEntries(archive: string, zip: ZipDirectory, o: Required<ExtractArchiveArgs>): { plan: PlannedEntry[]; total: number } {
  const refuse = (rec: ZipRecord, what: string, todo: string): never => {
    throw new ArchiveError(`Refused to extract ${archive}: entry '${rec.name}' ${what}. ${todo}`, archive, rec.name);
  };
  const { records } = zip;
  if (records.length > o.maxEntries) {
    throw new ArchiveError(
      `Refused to extract ${archive}: it has ${records.length} entries but maxEntries is ${o.maxEntries}. ` +
        'If you trust the archive, raise maxEntries.',
      archive,
    );
  }
  const seen = new Map<string, { name: string; rel: string }>();
  const fileKeys = new Map<string, string>();
  const dirKeys = new Map<string, { name: string; rel: string }>();
  const plan: PlannedEntry[] = [];
  let total = 0;
  let compressedTotal = 0;
  const untrusted = 'The archive is malformed or hostile; obtain it again from a trusted source.';
  for (const rec of records) {
    if (rec.kind === 'symlink') refuse(rec, 'is a symbolic link', 'Links can point outside the destination, so archives containing them are refused.');
    if (rec.kind === 'other') refuse(rec, `has unix file type 0o${(rec.unixMode & 0o170000).toString(8)} (device, FIFO or socket)`, 'Only regular files and folders can be extracted.');
    if (rec.encrypted) refuse(rec, 'is encrypted', 'Encrypted archives are not supported; decrypt it with another tool first.');
    const dir = rec.kind === 'directory';
    if (!dir && rec.method !== 0 && rec.method !== 8) {
      refuse(rec, `uses compression method ${rec.method}`, 'Only stored (0) and deflate (8) are supported; recompress the archive with deflate.');
    }
    const parsed = relativePathOf(rec.name);
    if ('reason' in parsed) refuse(rec, parsed.reason, untrusted);
    const rel = (parsed as { rel: string }).rel;
    const key = fold(rel);
    const prev = seen.get(key);
    if (prev) {
      if (prev.rel === rel) refuse(rec, 'appears more than once', `${untrusted} (adm-zip would silently keep only one.)`);
      refuse(rec, `differs from entry '${prev.name}' only in letter case or Unicode normalisation`, 'Both cannot coexist on case-insensitive file systems; rename one in the archive.');
    }
    seen.set(key, { name: rec.name, rel });
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      if (i === parts.length && !dir) break;
      const prefix = parts.slice(0, i).join('/');
      const other = dirKeys.get(fold(prefix));
      if (other !== undefined && other.rel !== prefix) {
        refuse(rec, `uses folder '${prefix}' while entry '${other.name}' uses '${other.rel}' (differ only in letter case or Unicode normalisation)`, 'Both cannot coexist on case-insensitive file systems; rename one in the archive.');
      }
      if (other === undefined) dirKeys.set(fold(prefix), { name: rec.name, rel: prefix });
    }
    if (!dir) fileKeys.set(key, rec.name);
    if (!dir) {
      if (rec.method === 0 && rec.compressedSize !== rec.size) {
        refuse(rec, `is stored uncompressed but declares ${rec.compressedSize} compressed and ${rec.size} uncompressed bytes`, untrusted);
      }
      if (rec.size > o.maxEntryBytes) {
        refuse(rec, `declares ${rec.size} bytes, more than maxEntryBytes (${o.maxEntryBytes})`, 'If you trust the archive, raise maxEntryBytes.');
      }
      if (rec.size >= RATIO_MIN_BYTES && rec.size / Math.max(1, rec.compressedSize) > o.maxRatio) {
        refuse(
          rec,
          `declares a compression ratio of ${(rec.size / Math.max(1, rec.compressedSize)).toFixed(0)} (${rec.size} bytes from ${rec.compressedSize}), over maxRatio ${o.maxRatio}`,
          'This looks like a zip bomb; if you trust the archive, raise maxRatio.',
        );
      }
      total += rec.size;
      compressedTotal += rec.compressedSize;
      if (total > o.maxTotalBytes) {
        refuse(rec, `brings the declared total to ${total} bytes, more than maxTotalBytes (${o.maxTotalBytes})`, 'If you trust the archive and have the disk space, raise maxTotalBytes.');
      }
    }
    plan.push({ record: rec, rel, dir });
  }
  for (const [key, name] of fileKeys) {
    const other = dirKeys.get(key);
    if (other !== undefined) {
      throw new ArchiveError(`Refused to extract ${archive}: entry '${name}' is a file but entry '${other.name}' uses it as a folder. ${untrusted}`, archive, name);
    }
  }
  if (compressedTotal > zip.byteLength) {
    throw new ArchiveError(`Cannot extract ${archive}: its entries declare ${compressedTotal} compressed bytes but the file has ${zip.byteLength}. The archive is truncated; download it again.`, archive);
  }
  if (total >= RATIO_MIN_BYTES && total / Math.max(1, compressedTotal) > o.maxRatio) {
    throw new ArchiveError(
      `Refused to extract ${archive}: it declares ${total} bytes from ${compressedTotal} compressed (ratio ${(total / Math.max(1, compressedTotal)).toFixed(0)}, over maxRatio ${o.maxRatio}). ` +
        'This looks like a zip bomb; if you trust the archive, raise maxRatio.',
      archive,
    );
  }
  plan.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { plan, total };
}

/** Creates `rel` (a folder path) under `root` one component at a time, refusing anything that is not a real folder. */
async function mkdirInside(root: string, rel: string): Promise<void> {
  let cur = root;
  for (const seg of rel.split('/')) {
    cur = path.join(cur, seg);
    try {
      await fsp.mkdir(cur, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await fsp.lstat(cur);
      // A plain Error, reported by extractArchive's catch as an ArchiveError naming the archive and entry.
      if (!st.isDirectory()) throw new Error(`${cur} exists and is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}`);
    }
  }
}

const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0);

async function lstatOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/**
 * Checks, before anything is written, that no planned path meets a symbolic link in an existing
 * `dest` (a link there is never written through, nor silently deleted).
 */
async function checkLinks(archive: string, dest: string, plan: PlannedEntry[]): Promise<void> {
  const checked = new Map<string, 'dir' | 'absent'>();
  for (const { rel, dir, record } of plan) {
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const last = i === parts.length - 1;
      let state = checked.get(sub);
      if (state === 'absent') break;
      if (state === 'dir' && !(last && !dir)) continue;
      const st = await lstatOrNull(path.join(dest, sub));
      const where = `'${sub}' in ${dest}`;
      const fail = (what: string) => {
        throw new ArchiveError(`Cannot extract ${archive} (entry '${record.name}'): ${where} ${what}. Nothing was changed.`, archive, record.name);
      };
      if (st === null) {
        checked.set(sub, 'absent');
        break;
      }
      if (st.isSymbolicLink()) fail('is a symbolic link; refusing to write through it. Remove the link or choose another destination');
      if (last && !dir) continue;
      if (!st.isDirectory()) {
        checked.set(sub, 'absent');
        break;
      }
      state = 'dir';
      checked.set(sub, state);
    }
  }
}

/**
 * Extracts a zip archive safely. Every entry is checked before anything is written: names that
 * are absolute, carry a drive letter or contain `..` (backslashes count as separators) are refused,
 * not renamed; link, device and encrypted entries are refused; duplicate names and names that
 * differ only in case are refused; sizes and compression ratios from the central directory must
 * stay within the limits. Entries are then inflated one at a time, never past their declared size,
 * with the CRC checked, into a staging folder `<dest>.partial-XXXXXX` beside `dest`, with files
 * created exclusively (`O_EXCL | O_NOFOLLOW`) at mode 0644 and folders 0755 (less if the umask
 * says so; stored permission bits, setuid included, are ignored). Names without the UTF-8 flag
 * are decoded as code page 437.
 *
 * When `dest` does not exist or is an empty folder, the staging folder is renamed to it, so `dest`
 * appears complete or not at all. Extraction never merges into other files: a non-empty `dest`
 * is refused with a list of what it holds, or with `overwrite: true` replaced: the old folder is
 * renamed aside (`<dest>.old-XXXXXX`), the staging folder renamed into place and the old one
 * removed, so `dest` holds exactly the archive's files (should the second rename fail, the old
 * folder is put back).
 *
 * @param file - the `.zip` archive
 * @param dest - destination folder; created with its parents when missing
 * @param options - limits and the rule for a non-empty destination, see {@link ExtractArchiveArgs}
 * @returns the destination, the relative paths of the files written (sorted) and the byte count
 * @throws ArchiveError naming the archive and the entry for every refusal, for corrupt or
 *   truncated data and for file-system errors during extraction (a read-only, unwritable or full
 *   destination names the destination); the staging folder is removed
 * @throws TypeError for invalid arguments
 * @example
 * const { files } = await extractArchive('chest-ctscan-images.zip', 'datasets/chest-ct');
 * console.log(files.length, files[0]); // 1000 'Data/test/adenocarcinoma/000108 (3).png'
 */
export async function extractArchive(file: string, dest: string, options: ExtractArchiveArgs = {}): Promise<ExtractResult> {
  checkString('file', file);
  checkString('dest', dest);
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  const o: Required<ExtractArchiveArgs> = {
    maxTotalBytes: checkInteger('maxTotalBytes', options.maxTotalBytes ?? EXTRACT_ARCHIVE_DEFAULTS.maxTotalBytes, 1),
    maxEntryBytes: checkInteger('maxEntryBytes', options.maxEntryBytes ?? EXTRACT_ARCHIVE_DEFAULTS.maxEntryBytes, 1, 2 * GiB),
    maxEntries: checkInteger('maxEntries', options.maxEntries ?? EXTRACT_ARCHIVE_DEFAULTS.maxEntries, 1),
    maxRatio: checkRatio(options.maxRatio ?? EXTRACT_ARCHIVE_DEFAULTS.maxRatio),
    overwrite: checkBoolean('overwrite', options.overwrite ?? EXTRACT_ARCHIVE_DEFAULTS.overwrite),
  };
  const archive = path.resolve(file);
  let zip: ZipDirectory;
  try {
    zip = readZipDirectory(archive);
  } catch (err) {
    const msg = (err as Error).message;
    throw new ArchiveError(
      `Cannot read ${archive} as a zip archive (${msg}). The file is missing, truncated or not a zip; download it again.`,
      archive,
      undefined,
      { cause: err },
    );
  }
  const { plan } = planEntries(archive, zip, o);

  const target = path.resolve(dest);
  const existing = await lstatOrNull(target);
  // dest itself is the caller's choice: a link to a folder is followed. Inside it, nothing is.
  const real = existing ? await fsp.realpath(target) : target;
  if (existing && !(await fsp.stat(real)).isDirectory()) {
    throw new ArchiveError(`Cannot extract ${archive}: the destination ${target} exists and is not a folder. Choose another destination.`, archive);
  }
  let occupied = false;
  if (existing) {
    await checkLinks(archive, real, plan);
    const entries = (await fsp.readdir(real, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    occupied = entries.length > 0;
    if (occupied && !o.overwrite) {
      const shown = entries.slice(0, 5).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
      const more = entries.length > shown.length ? `, ... (${entries.length} entries)` : '';
      throw new ArchiveError(
        `Cannot extract ${archive} into ${target}: the folder is not empty (it holds ${shown.join(', ')}${more}) and extraction never merges. ` +
          'Extract into a new or empty folder, or pass overwrite: true to replace its whole content with the archive. Nothing was changed.',
        archive,
      );
    }
  }

  let staging: string;
  try {
    await fsp.mkdir(path.dirname(real), { recursive: true });
    staging = await fsp.mkdtemp(`${real}.partial-`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'is not writable by this user' : code === 'ENOSPC' ? 'has no free space' : code === 'ENOTDIR' || code === 'EEXIST' ? 'has a file where a folder is needed on its path' : `cannot be written (${code})`;
    throw new ArchiveError(
      `Cannot extract ${archive} into ${target}: the destination ${why}. Nothing was written; choose a writable destination (or fix its permissions or free space).`,
      archive,
      undefined,
      { cause: err },
    );
  }
  let bytes = 0;
  const files: string[] = [];
  let current: ZipRecord | undefined;
  try {
    for (const entry of plan) {
      current = entry.record;
      if (entry.dir) {
        await mkdirInside(staging, entry.rel);
        continue;
      }
      const slash = entry.rel.lastIndexOf('/');
      if (slash > 0) await mkdirInside(staging, entry.rel.slice(0, slash));
      const data = zip.read(entry.record);
      bytes += data.length;
      // A plain Error, reported by the catch below as an ArchiveError naming the archive and entry.
      if (bytes > o.maxTotalBytes) throw new Error(`the bytes inflated so far (${bytes}) exceed maxTotalBytes (${o.maxTotalBytes})`);
      const handle = await fsp.open(path.join(staging, entry.rel), CREATE_FLAGS, 0o644);
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
      files.push(entry.rel);
    }
    current = undefined;
    await fsp.chmod(staging, 0o755);
    if (!occupied) {
      // Renaming onto an empty folder replaces it.
      await fsp.rename(staging, real);
    } else {
      const aside = `${real}.old-${randomBytes(4).toString('hex')}`;
      await fsp.rename(real, aside);
      try {
        await fsp.rename(staging, real);
      } catch (err) {
        await fsp.rename(aside, real).catch(() => undefined);
        throw err;
      }
      await fsp.rm(aside, { recursive: true, force: true });
    }
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof ArchiveError) throw err;
    const msg = (err as Error).message;
    const name = current?.name;
    throw new ArchiveError(
      `Cannot extract ${archive}${name === undefined ? '' : `, entry '${name}'`}: ${msg}. ` +
        'The archive is corrupt or truncated (download it again), or the disk is full or not writable.',
      archive,
      name,
      { cause: err },
    );
  }
  return { dest: target, files, bytes };
}
