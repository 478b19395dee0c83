/**
 * A minimal, deterministic zip writer (APPNOTE 6.3, no zip64): local header + data per entry,
 * then the central directory. All timestamps are 1980-01-01 00:00 so the same inputs always give
 * byte-identical archives. Used to pack the synthetic dataset (streamed to disk entry by entry)
 * and by tests to build archives adm-zip cannot produce (raw CP437 names, unix modes, links).
 * It writes what it is given: it does not check names.
 */
import { promises as fsp } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';

/** Per-entry options of {@link buildZip} and {@link ZipWriter.add}. */
export interface ZipWriteEntryOptions {
  /** 0 = stored, 8 = deflate. Default 8 for files, 0 for folders. */
  method?: 0 | 8;
  /** Unix mode including the file type (e.g. `0o100644`, `0o120777` for a link). Default 0o100644, folders 0o040755. */
  mode?: number;
  /** Name bytes to store instead of the UTF-8 encoding of the name (e.g. CP437 bytes). */
  rawName?: Buffer;
  /** Set general-purpose flag bit 11 (UTF-8 name). Default: true when the name is not ASCII and no rawName is given. */
  utf8?: boolean;
}

/** An entry for {@link buildZip}. A name ending in `/` is a folder. */
export interface ZipWriteEntry extends ZipWriteEntryOptions {
  name: string;
  data?: Buffer | string;
}

const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1;

/** Builds one entry's local record (header + data) and its central directory record. */
function entryRecords(name: string, data: Buffer, opts: ZipWriteEntryOptions, offset: number): { local: Buffer; central: Buffer } {
  const dir = name.endsWith('/');
  const rawName = opts.rawName ?? Buffer.from(name, 'utf8');
  const utf8 = opts.utf8 ?? (opts.rawName === undefined && /[^\x00-\x7f]/.test(name));
  const method = opts.method ?? (dir ? 0 : 8);
  const mode = opts.mode ?? (dir ? 0o040755 : 0o100644);
  const body = method === 8 ? deflateRawSync(data, { level: 9 }) : data;
  const crc = crc32(data) >>> 0;
  const flags = utf8 ? 0x800 : 0;
  if (offset > 0xffffffff || data.length > 0xffffffff) throw new RangeError('zip64 is not supported by this writer');

  const local = Buffer.alloc(30 + rawName.length + body.length);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(flags, 6);
  local.writeUInt16LE(method, 8);
  local.writeUInt16LE(0, 10);
  local.writeUInt16LE(DOS_DATE_1980, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(body.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(rawName.length, 26);
  local.writeUInt16LE(0, 28);
  rawName.copy(local, 30);
  body.copy(local, 30 + rawName.length);

  const central = Buffer.alloc(46 + rawName.length);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by unix, spec 2.0
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(flags, 8);
  central.writeUInt16LE(method, 10);
  central.writeUInt16LE(0, 12);
  central.writeUInt16LE(DOS_DATE_1980, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(body.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(rawName.length, 28);
  // extra length, comment length, disk number, internal attributes: 0
  central.writeUInt32LE((((mode & 0xffff) << 16) | (dir ? 0x10 : 0)) >>> 0, 38);
  central.writeUInt32LE(offset, 42);
  rawName.copy(central, 46);
  return { local, central };
}

function endRecord(count: number, cdSize: number, cdOffset: number): Buffer {
  if (count > 0xffff || cdOffset > 0xffffffff) throw new RangeError('zip64 is not supported by this writer');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  return end;
}

/**
 * Builds a whole archive in memory.
 *
 * @param entries - entries in the order they are stored (duplicates are written as given)
 * @returns the archive bytes
 * @example
 * fs.writeFileSync('a.zip', buildZip([{ name: 'dir/' }, { name: 'dir/a.txt', data: 'hello' }]));
 */
export function buildZip(entries: readonly ZipWriteEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data ?? Buffer.alloc(0);
    const { local, central } = entryRecords(e.name, data, e, offset);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cd = Buffer.concat(centrals);
  return Buffer.concat([...locals, cd, endRecord(entries.length, cd.length, offset)]);
}

/** Streams an archive to disk one entry at a time; only the central directory stays in memory. */
export class ZipWriter {
  private offset = 0;
  private readonly centrals: Buffer[] = [];
  private constructor(private readonly handle: fsp.FileHandle) {}

  /** Creates (or truncates) `file` and returns a writer for it. */
  static async create(file: string): Promise<ZipWriter> {
    return new ZipWriter(await fsp.open(file, 'w', 0o644));
  }

  /** Appends one entry. Calls must not overlap (await each). */
  async add(name: string, data: Buffer, options: ZipWriteEntryOptions = {}): Promise<void> {
    const { local, central } = entryRecords(name, data, options, this.offset);
    await this.handle.write(local);
    this.offset += local.length;
    this.centrals.push(central);
  }

  /** Writes the central directory and closes the file. Returns the archive size in bytes. */
  async close(): Promise<number> {
    try {
      const cd = Buffer.concat(this.centrals);
      await this.handle.write(Buffer.concat([cd, endRecord(this.centrals.length, cd.length, this.offset)]));
      return this.offset + cd.length + 22;
    } finally {
      await this.handle.close();
    }
  }

  /** Closes the file without finishing the archive (after an error). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
