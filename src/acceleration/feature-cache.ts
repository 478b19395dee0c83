/**
 * A cache of frozen-prefix outputs per image, for batches whose pixels are a pure function of
 * their files (validation and prediction without augmentation). An entry is keyed by the file's
 * absolute path, size and modification time, the iterator's preprocessing key and the engine's
 * fingerprint (a hash of the converted prefix), so any change to the file, the preprocessing or
 * the frozen weights is a miss. Entries live in memory under an LRU byte bound and, optionally, in
 * a folder on disk (written atomically: temporary file, then rename), which outlives the process.
 *
 * No Keras original: Keras recomputes the frozen base every epoch.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FeatureCacheError } from './errors';
import { checkInteger, checkString } from '../util/validate';

/** Options of {@link createFeatureCache}. */
export interface FeatureCacheArgs {
  /** Upper bound of the bytes held in memory (feature data); least recently used entries are evicted. 0 keeps nothing in memory. Default 1 GiB. */
  maxBytes?: number;
  /** Folder for an on-disk copy of every entry (created if missing; not bounded). Default none (memory only). */
  dir?: string;
}

/** The prefix outputs of one image: one array per cut tensor, with its shape (batch dimension dropped). */
export interface CachedFeatures {
  /** Shape of each cut tensor for one sample, e.g. `[5, 5, 2048]`. */
  shapes: number[][];
  /** Values of each cut tensor for one sample, row-major, float32. */
  data: Float32Array[];
}

/** Counters of a {@link FeatureCache}. */
export interface FeatureCacheStats {
  /** Lookups answered (from memory or disk). */
  hits: number;
  /** Lookups answered from disk (included in `hits`). */
  diskHits: number;
  /** Lookups not answered. */
  misses: number;
  /** Entries in memory. */
  entries: number;
  /** Bytes of feature data in memory. */
  bytes: number;
  /** Entries dropped from memory to respect `maxBytes`. */
  evictions: number;
  /** Entries written to disk. */
  diskWrites: number;
}

const MAGIC = Buffer.from('TLFC1\n', 'latin1');

function bytesOf(f: CachedFeatures): number {
  return f.data.reduce((s, d) => s + d.byteLength, 0);
}

/**
 * Per-image store of prefix outputs; see the module comment. Create with {@link createFeatureCache}.
 * Values handed to `set` are kept as they are (not copied); values returned by `get` must not be
 * modified.
 */
export class FeatureCache {
  /** Memory bound in bytes. */
  readonly maxBytes: number;
  /** Disk folder, or undefined. */
  readonly dir: string | undefined;
  private readonly memory = new Map<string, CachedFeatures>();
  private held = 0;
  private readonly counters = { hits: 0, diskHits: 0, misses: 0, evictions: 0, diskWrites: 0 };
  private warned = false;

  constructor(args: FeatureCacheArgs = {}) {
    this.maxBytes = checkInteger('maxBytes', args.maxBytes ?? 2 ** 30, 0);
    this.dir = args.dir === undefined ? undefined : path.resolve(checkString('dir', args.dir));
  }

  /** A snapshot of the counters. */
  get stats(): FeatureCacheStats {
    return { ...this.counters, entries: this.memory.size, bytes: this.held };
  }

  /**
   * The cache key of one image: path, size and mtime of the file, the preprocessing key and the
   * engine fingerprint. Resolves to undefined when the file cannot be examined (then do not cache).
   */
  async keyOf(filepath: string, preprocessingKey: string, fingerprint: string): Promise<string | undefined> {
    const absolute = path.resolve(filepath);
    try {
      const st = await fs.promises.stat(absolute);
      return JSON.stringify([absolute, st.size, st.mtimeMs, preprocessingKey, fingerprint]);
    } catch {
      return undefined;
    }
  }

  /** Like {@link keyOf}, synchronously (one `fs.statSync`): for quick guesses such as prefetch hints. */
  keyOfSync(filepath: string, preprocessingKey: string, fingerprint: string): string | undefined {
    const absolute = path.resolve(filepath);
    const st = fs.statSync(absolute, { throwIfNoEntry: false });
    return st === undefined ? undefined : JSON.stringify([absolute, st.size, st.mtimeMs, preprocessingKey, fingerprint]);
  }

  /** Whether an entry is stored under `key` (in memory, or as a file on disk); counts nothing, reads no data. */
  has(key: string): boolean {
    return this.memory.has(key) || (this.dir !== undefined && fs.existsSync(this.fileOf(key)));
  }

  /** The features stored under `key` (memory first, then disk), or undefined; counts a hit or a miss. */
  async get(key: string): Promise<CachedFeatures | undefined> {
    const inMemory = this.memory.get(key);
    if (inMemory) {
      this.memory.delete(key); // most recently used goes last
      this.memory.set(key, inMemory);
      this.counters.hits++;
      return inMemory;
    }
    const fromDisk = this.dir === undefined ? undefined : await this.readDisk(key);
    if (fromDisk) {
      this.counters.hits++;
      this.counters.diskHits++;
      this.remember(key, fromDisk);
      return fromDisk;
    }
    this.counters.misses++;
    return undefined;
  }

  /** Stores features under `key` in memory (evicting as needed) and on disk when a folder is set. */
  async set(key: string, features: CachedFeatures): Promise<void> {
    this.remember(key, features);
    if (this.dir !== undefined) await this.writeDisk(key, features);
  }

  /** Empties the memory part (the disk folder is left alone). */
  clear(): void {
    this.memory.clear();
    this.held = 0;
  }

  private remember(key: string, features: CachedFeatures): void {
    const size = bytesOf(features);
    const old = this.memory.get(key);
    if (old) {
      this.memory.delete(key);
      this.held -= bytesOf(old);
    }
    if (size > this.maxBytes) return;
    this.memory.set(key, features);
    this.held += size;
    for (const [k, v] of this.memory) {
      if (this.held <= this.maxBytes) break;
      this.memory.delete(k);
      this.held -= bytesOf(v);
      this.counters.evictions++;
    }
  }

  private fileOf(key: string): string {
    const hash = createHash('sha256').update(key).digest('hex');
    return path.join(this.dir as string, hash.slice(0, 2), `${hash}.features`);
  }

  private async readDisk(key: string): Promise<CachedFeatures | undefined> {
    const file = this.fileOf(key);
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(file);
    } catch {
      return undefined;
    }
    try {
      // These plain Errors never leave readDisk: a bad cache file is deleted and recomputed.
      if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('bad magic');
      const headerLength = buf.readUInt32LE(MAGIC.length);
      const start = MAGIC.length + 4;
      const header = JSON.parse(buf.subarray(start, start + headerLength).toString('utf8')) as { key: string; shapes: number[][] };
      if (header.key !== key) return undefined; // a hash collision: not ours
      let offset = start + headerLength;
      offset += (4 - (offset % 4)) % 4;
      const data = header.shapes.map((shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const bytes = buf.subarray(offset, offset + n * 4);
        if (bytes.length !== n * 4) throw new Error('truncated');
        offset += n * 4;
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      });
      return { shapes: header.shapes, data };
    } catch {
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
      return undefined;
    }
  }

  private async writeDisk(key: string, features: CachedFeatures): Promise<void> {
    const file = this.fileOf(key);
    const header = Buffer.from(JSON.stringify({ key, shapes: features.shapes }), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    const before = MAGIC.length + 4 + header.length;
    const pad = Buffer.alloc((4 - (before % 4)) % 4);
    const parts = [MAGIC, length, header, pad, ...features.data.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))];
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await fs.promises.writeFile(tmp, Buffer.concat(parts));
      await fs.promises.rename(tmp, file);
      this.counters.diskWrites++;
    } catch (error) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      if (!this.warned) {
        this.warned = true;
        const reason = error instanceof Error ? error.message : String(error);
        console.warn(new FeatureCacheError(this.dir as string, `cannot write entries (${reason}); keeping them in memory only. Check the folder's permissions and free space.`).message);
      }
    }
  }
}

/**
 * Creates a {@link FeatureCache} for an ONNX prefix engine (see `createOnnxPrefixEngine`).
 *
 * @param args - `maxBytes` (default 1 GiB, integer ≥ 0) and `dir` (default none: memory only)
 * @returns an empty cache (a disk folder's earlier entries are found on lookup)
 * @throws TypeError for a negative or fractional `maxBytes` or a non-string `dir`
 * @example
 * const cache = createFeatureCache({ maxBytes: 512 * 2 ** 20, dir: '.cache/features' });
 * const engine = await createOnnxPrefixEngine(prefix, { cache });
 */
export function createFeatureCache(args: FeatureCacheArgs = {}): FeatureCache {
  return new FeatureCache(args);
}
