/**
 * Checks that a downloaded (or cached) file holds what was asked for before it is marked complete:
 * a zip archive starts with a zip signature and ends with a complete end-of-central-directory
 * record, an HDF5 file (`.h5` weights) carries the HDF5 signature, and nothing else is an HTML page
 * (a login, consent or error page that a server answered with `200`). No Keras original: Keras's
 * `get_file` trusts whatever arrived unless a hash is given.
 */
import { promises as fsp } from 'node:fs';

/**
 * What a downloaded file must look like:
 * - `'zip'`: a complete zip archive;
 * - `'hdf5'`: an HDF5 file (Keras `.h5` weights);
 * - `'file'`: anything but an HTML page;
 * - `'auto'`: chosen from the destination's extension (`.zip` → zip, `.h5`/`.hdf5` → hdf5,
 *   `.html`/`.htm` → any, otherwise file);
 * - `'any'`: no content check (sizes and hashes are still checked).
 */
export type ExpectedContent = 'auto' | 'zip' | 'hdf5' | 'file' | 'any';

/** The checks {@link checkFileContent} can run (`'auto'` resolved). */
export type ContentKind = Exclude<ExpectedContent, 'auto'>;

/** The HDF5 format signature (`\x89HDF\r\n\x1a\n`), at offset 0 or at 512, 1024, 2048, ... after a user block. */
export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

const ZIP_LOCAL = 0x04034b50;
const ZIP_EOCD = 0x06054b50;

/**
 * Resolves `'auto'` from the destination's file name.
 *
 * @param expect - the requested kind; `'auto'` looks at `dest`
 * @param dest - the destination path
 * @returns the kind of check to run
 * @example
 * resolveExpectedContent('auto', '/cache/data.zip') // 'zip'
 */
export function resolveExpectedContent(expect: ExpectedContent, dest: string): ContentKind {
  if (expect !== 'auto') return expect;
  if (/\.zip$/i.test(dest)) return 'zip';
  if (/\.(h5|hdf5)$/i.test(dest)) return 'hdf5';
  if (/\.html?$/i.test(dest)) return 'any';
  return 'file';
}

/** True when `head` (the first bytes of a file) looks like an HTML document. */
export function looksLikeHtml(head: Buffer): boolean {
  const text = head.toString('latin1', 0, Math.min(head.length, 512)).replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart().toLowerCase();
  return /^<(!doctype\s+html|html|head|body|!--|meta|title)\b/.test(text);
}

/** True when the file at `handle` (of `size` bytes) has the HDF5 signature at 0 or at a power of two ≥ 512. */
async function hasHdf5Signature(handle: fsp.FileHandle, size: number): Promise<boolean> {
  const buf = Buffer.alloc(8);
  for (let at = 0; at + 8 <= size && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
    const { bytesRead } = await handle.read(buf, 0, 8, at);
    if (bytesRead === 8 && buf.equals(HDF5_SIGNATURE)) return true;
  }
  return false;
}

/** Why the file is not a complete zip archive, or null when it is one. */
async function zipProblem(handle: fsp.FileHandle, size: number, head: Buffer): Promise<string | null> {
  if (size < 22) return `it has ${size} bytes, fewer than the smallest zip archive (22)`;
  const sig = head.readUInt32LE(0);
  if (sig !== ZIP_LOCAL && sig !== ZIP_EOCD) return 'it does not start with a zip signature (PK\\x03\\x04)';
  const n = Math.min(size, 22 + 65535);
  const tail = Buffer.alloc(n);
  await handle.read(tail, 0, n, size - n);
  for (let i = n - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== ZIP_EOCD) continue;
    const cdSize = tail.readUInt32LE(i + 12);
    const cdOffset = tail.readUInt32LE(i + 16);
    if (cdOffset === 0xffffffff) return null; // zip64: the locator is trusted
    return cdOffset + cdSize <= size - n + i ? null : 'its central directory lies past the end of the file (truncated)';
  }
  return 'it has no end-of-central-directory record (truncated)';
}

/**
 * Checks a file's content against what was expected.
 *
 * @param file - the file to check
 * @param kind - see {@link ContentKind}
 * @param contentType - the `Content-Type` the server sent, when known (an HTML type is refused
 *   for every kind but `'any'`)
 * @returns null when the file is acceptable, otherwise a short reason ("it is an HTML page ...")
 *   for a message; a missing or unreadable file is a reason too
 * @example
 * await checkFileContent('/cache/data.zip', 'zip') // null, or 'it does not start with a zip signature ...'
 */
export async function checkFileContent(file: string, kind: ContentKind, contentType?: string): Promise<string | null> {
  if (kind === 'any') return null;
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(file, 'r');
    const st = await handle.stat();
    if (!st.isFile()) return 'it is not a regular file';
    const head = Buffer.alloc(Math.min(st.size, 512));
    if (head.length > 0) await handle.read(head, 0, head.length, 0);
    const html = /^\s*text\/html\b/i.test(contentType ?? '') || looksLikeHtml(head);
    const what = kind === 'zip' ? 'a zip archive' : kind === 'hdf5' ? 'an HDF5 file' : 'the file';
    if (html) {
      const first = head.toString('utf8', 0, Math.min(head.length, 60)).replace(/\s+/g, ' ').trim();
      return `it is an HTML page (${contentType ?? 'text/html'}, ${st.size} bytes, starting "${first}"), not ${what}`;
    }
    if (kind === 'zip') return zipProblem(handle, st.size, head);
    if (kind === 'hdf5') {
      if (st.size === 0) return 'it is empty (0 bytes), not an HDF5 file';
      return (await hasHdf5Signature(handle, st.size)) ? null : `it has no HDF5 signature (\\x89HDF\\r\\n\\x1a\\n), so it is not an HDF5 file (${st.size} bytes)`;
    }
    return null;
  } catch (err) {
    return `it cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  } finally {
    await handle?.close();
  }
}
