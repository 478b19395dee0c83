/**
 * A thin, strict view of a zip archive's central directory over adm-zip: one record per central
 * directory entry in archive order (duplicates kept, nothing renamed), with the raw name bytes,
 * the name decoded by the rules of APPNOTE 4.4.4 (UTF-8 when flag bit 11 is set, else the Info-ZIP
 * Unicode Path extra field 0x7075 when its CRC matches, else code page 437), the unix file type from
 * the external attributes, and the sizes the archive declares. `read` inflates one entry and checks
 * that it produces exactly the declared number of bytes (inflation stops one byte past that size)
 * and the declared CRC-32.
 *
 * The compressed archive is read into memory by adm-zip; uncompressed data is produced one entry
 * at a time.
 */
import * as fs from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import { decodeCp437 } from './cp437';

/** What an entry is, from its unix mode (external attributes >> 16) and its name. */
export type ZipEntryKind = 'file' | 'directory' | 'symlink' | 'other';

/** One central directory record. */
export interface ZipRecord {
  /** Position in the central directory (0-based). */
  index: number;
  /** The name bytes exactly as stored. */
  rawName: Buffer;
  /** The decoded name (not validated, not normalised). */
  name: string;
  /** How {@link name} was decoded. */
  nameEncoding: 'utf8' | 'unicode-path-extra' | 'cp437';
  /** General-purpose bit flags. */
  flags: number;
  /** Compression method (0 stored, 8 deflated; anything else is unsupported). */
  method: number;
  /** Declared CRC-32 of the uncompressed data. */
  crc: number;
  /** Declared compressed size in bytes. */
  compressedSize: number;
  /** Declared uncompressed size in bytes. */
  size: number;
  /** The unix mode stored in the high 16 bits of the external attributes (0 when absent). */
  unixMode: number;
  /** File type derived from {@link unixMode} and a trailing slash. */
  kind: ZipEntryKind;
  /** True when flag bit 0 (traditional or strong encryption) is set. */
  encrypted: boolean;
}

/** An opened archive. */
export interface ZipDirectory {
  /** Central directory records, in archive order. */
  records: ZipRecord[];
  /** Size of the archive file in bytes. */
  byteLength: number;
  /**
   * Inflates one entry. Throws when the data inflates to more or fewer bytes than declared, when
   * the CRC differs, or when the local header is damaged.
   */
  read(record: ZipRecord): Buffer;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function decodeName(raw: Buffer, flags: number, extra: Buffer | undefined): Pick<ZipRecord, 'name' | 'nameEncoding'> {
  if (flags & 0x800) return { name: new TextDecoder('utf-8', { fatal: true }).decode(raw), nameEncoding: 'utf8' };
  // Info-ZIP Unicode Path extra field: id 0x7075, size, version 1, CRC-32 of the raw name, UTF-8 name.
  if (extra) {
    let p = 0;
    while (p + 4 <= extra.length) {
      const id = extra.readUInt16LE(p);
      const len = extra.readUInt16LE(p + 2);
      if (p + 4 + len > extra.length) break;
      if (id === 0x7075 && len >= 5 && extra[p + 4] === 1 && extra.readUInt32LE(p + 5) === crc32(raw)) {
        const name = new TextDecoder('utf-8', { fatal: true }).decode(extra.subarray(p + 9, p + 4 + len));
        return { name, nameEncoding: 'unicode-path-extra' };
      }
      p += 4 + len;
    }
  }
  return { name: decodeCp437(raw), nameEncoding: 'cp437' };
}

function kindOf(mode: number, raw: Buffer): ZipEntryKind {
  const type = mode & S_IFMT;
  if (type === S_IFLNK) return 'symlink';
  if (type === S_IFDIR) return 'directory';
  const slash = raw.length > 0 && (raw[raw.length - 1] === 0x2f || raw[raw.length - 1] === 0x5c);
  if (type === 0) return slash ? 'directory' : 'file';
  if (type === S_IFREG) return slash ? 'directory' : 'file';
  return 'other';
}

/**
 * Opens a zip archive and lists its central directory.
 *
 * @param file - path of the archive
 * @returns the records and a `read` function
 * @throws Error (from adm-zip or the UTF-8 decoder) when the archive is truncated or malformed;
 *   callers wrap it in an `ArchiveError`
 */
export function readZipDirectory(file: string): ZipDirectory {
  const byteLength = fs.statSync(file).size;
  const zip = new AdmZip(file, { noSort: true });
  const entries = zip.getEntries();
  const records = entries.map((entry, index): ZipRecord => {
    const h = entry.header;
    const rawName = Buffer.from(entry.rawEntryName);
    const unixMode = (h.attr >>> 16) & 0xffff;
    return {
      index,
      rawName,
      ...decodeName(rawName, h.flags, entry.extra),
      flags: h.flags,
      method: h.method,
      crc: h.crc >>> 0,
      compressedSize: h.compressedSize,
      size: h.size,
      unixMode,
      kind: kindOf(unixMode, rawName),
      encrypted: (h.flags & 1) !== 0,
    };
  });
  return {
    records,
    byteLength,
    read(record) {
      // The plain Errors below are phrases about one entry: extractArchive reports them in an
      // ArchiveError naming the archive and the entry.
      const compressed = entries[record.index].getCompressedData();
      if (compressed.length !== record.compressedSize) {
        throw new Error(`holds ${compressed.length} compressed bytes but the archive declares ${record.compressedSize} (truncated?)`);
      }
      let data: Buffer;
      if (record.method === 0) {
        data = compressed;
      } else if (record.method === 8) {
        // Never inflate past the declared size (+1 so "more than declared" is detectable).
        try {
          data = inflateRawSync(compressed, { maxOutputLength: record.size + 1 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
            throw new Error(`inflates to more than the ${record.size} bytes the archive declares`);
          }
          throw err;
        }
      } else {
        throw new Error(`uses compression method ${record.method}; only 0 (stored) and 8 (deflate) are supported`);
      }
      if (data.length !== record.size) {
        throw new Error(`inflates to ${data.length > record.size ? 'more than' : data.length} bytes but the archive declares ${record.size}`);
      }
      if ((crc32(data) >>> 0) !== record.crc) throw new Error('fails its CRC-32 check (corrupt data)');
      return data;
    },
  };
}
