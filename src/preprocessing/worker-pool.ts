/**
 * A pool of worker threads that render images (decode with sharp, PIL-exact resize, scipy-exact affine,
 * rescale) off the main thread, so batches keep coming while the main thread trains. No Keras original
 * (Keras uses `workers=`/`use_multiprocessing=` with an `OrderedEnqueuer`).
 *
 * - One pool per size per process, shared by every iterator that uses it (reference-counted: the last
 *   `release` terminates the threads after {@link POOL_LINGER_MS} unless the pool is acquired again
 *   meanwhile, so iterators made one after another — a test set after a validation set — find
 *   the threads ready). Workers start on `start()` (iterators call it when they are created) or on
 *   the first job; starting one costs ~0.2 s (loading sharp), paid while the caller does other work.
 * - An idle worker is `unref()`ed: a pool never keeps the process alive; a busy one is `ref()`ed, so a
 *   pending batch is not cut short by the process exiting.
 * - Jobs go to the worker with the fewest in flight, at most {@link JOBS_PER_WORKER} each (enough
 *   for a worker's sharp decodes to overlap its own JavaScript); the rest wait here in arrival
 *   order, so images asked for first are ready first (a batch someone waits for is not held up by
 *   one decoded ahead). Results do not depend on which worker ran a job.
 * - A failure in a worker rejects that job with an {@link ImageDecodeError} naming the file; a worker
 *   that dies rejects all its jobs the same way and is replaced on the next job.
 * - On Linux the workers run at background priority (`SCHED_IDLE`, see `background-priority.ts`): they
 *   decode where the model's intra-op threads leave a core idle instead of stalling them. While
 *   jobs are in flight the pool samples the CPU other processes use; above
 *   `FOREIGN_LOAD_CORES` it replaces its background workers by normal ones for good (their jobs
 *   move to the new workers, in order), so a busy machine cannot starve the decoding.
 *   `TRANSFERLAB_IMAGE_WORKER_PRIORITY=normal` keeps normal priority from the start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { backgroundWorkersWanted, FOREIGN_LOAD_CORES, FOREIGN_LOAD_SAMPLE_MS, ForeignLoadSampler, type ThreadPriority } from './background-priority';
import { releaseWorkerGate, workerGateData } from './decode-gate';
import { ImageDecodeError, type ImageDecodeProblem } from './errors';
import type { ImageJob } from './image-kernel';
import type { WorkerErrorMessage } from './image-worker';

interface Pending {
  job: ImageJob;
  resolve: (data: Float32Array) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Asked for background priority (until the worker's `ready` message says whether it got it). */
  background: boolean;
  /** The worker thread's kernel id, once it said. */
  tid?: number;
}

/** Options of {@link ImageWorkerPool}. */
export interface ImageWorkerPoolArgs {
  /**
   * Start workers at background priority (see the module comment). Default true on Linux unless
   * `TRANSFERLAB_IMAGE_WORKER_PRIORITY` is `normal`.
   */
  background?: boolean;
}

/**
 * Jobs a worker holds at once; more wait in the pool's queue. Each held job's sharp decode waits
 * in libuv's one thread pool (4 threads, shared by all workers) in the order it was started, so
 * a worker holding many starts them ahead of the other workers' first images. Measured here
 * (predictIterator over 64 PNGs of 256×256, two workers): ONNX Runtime got its first two images
 * after a median 24–32 ms holding 8, 16–18 ms holding 4, 13–16 ms holding 2; decoding throughput
 * (400–800 images/s) did not change beyond noise.
 */
export const JOBS_PER_WORKER = 4;

/** The compiled worker script beside this module (`dist/` or `.build/`), or null when absent (e.g. run from .ts sources). */
export function imageWorkerScript(): string | null {
  const file = path.join(__dirname, 'image-worker.js');
  return fs.existsSync(file) ? file : null;
}

function toDecodeError(job: ImageJob, e: WorkerErrorMessage): ImageDecodeError {
  if (e.name === 'ImageDecodeError' && e.problem !== undefined) {
    const prefix = `Cannot decode image ${job.path}: `;
    const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return new ImageDecodeError(job.path, e.problem as ImageDecodeProblem, detail);
  }
  return new ImageDecodeError(job.path, 'corrupt', `processing it in a worker thread failed (${e.name}: ${e.message}).`);
}

/** Worker threads rendering {@link ImageJob}s. Obtain one with {@link acquireImagePool}. */
export class ImageWorkerPool {
  /** Number of worker threads. */
  readonly size: number;
  private readonly script: string;
  private slots: Array<Slot | null>;
  private nextId = 0;
  private terminated = false;
  /** Jobs waiting for a worker, in arrival order. */
  private waiting: Pending[] = [];
  private readonly origin = new WeakMap<ArrayBuffer, Slot>();
  private background: boolean;
  private watch: NodeJS.Timeout | undefined;
  private sampler: ForeignLoadSampler | undefined;
  private foreignCores: number | undefined;

  /**
   * @param size - worker threads, ≥ 1
   * @param script - compiled `image-worker.js`
   * @param args - see {@link ImageWorkerPoolArgs}
   */
  constructor(size: number, script: string, args: ImageWorkerPoolArgs = {}) {
    this.size = size;
    this.script = script;
    this.slots = new Array(size).fill(null);
    this.background = args.background ?? backgroundWorkersWanted();
  }

  /** Whether new workers start at background priority (false once other processes' load took it back). */
  get backgroundPriority(): boolean {
    return this.background;
  }

  /** The other processes' CPU use, in cores, that made the pool give up background priority; undefined while it has not. */
  get demotedAt(): number | undefined {
    return this.foreignCores;
  }

  /** Each running worker's kernel thread id (once it reported it) and whether it runs at background priority. */
  get workerPriorities(): ThreadPriority[] {
    return this.slots.flatMap((s) => (s === null ? [] : [{ tid: s.tid, background: s.background }]));
  }

  /** Starts every worker that is not running yet (idle workers never keep the process alive). */
  start(): void {
    if (this.terminated) return;
    for (let i = 0; i < this.size; i++) if (this.slots[i] === null) this.spawn(i);
  }

  /** Jobs asked for and not yet answered (sent to a worker or waiting for one). */
  get inFlight(): number {
    return this.waiting.length + this.slots.reduce((n, s) => n + (s === null ? 0 : s.pending.size), 0);
  }

  private spawn(i: number): Slot {
    // Every worker shares the process-wide cap on big decodes (decode-gate.ts).
    const gate = workerGateData();
    const worker = new Worker(this.script, { workerData: { ...gate, background: this.background } });
    worker.once('exit', () => releaseWorkerGate(gate));
    const slot: Slot = { worker, pending: new Map(), background: this.background };
    worker.unref();
    worker.on('message', (msg: { id: number; data?: Float32Array; error?: WorkerErrorMessage } | { ready: ThreadPriority }) => {
      if ('ready' in msg) {
        slot.tid = msg.ready.tid;
        slot.background = msg.ready.background;
        return;
      }
      const p = slot.pending.get(msg.id);
      if (p === undefined) return;
      slot.pending.delete(msg.id);
      this.dispatch();
      if (slot.pending.size === 0) worker.unref();
      if (msg.error !== undefined) p.reject(toDecodeError(p.job, msg.error));
      else {
        this.origin.set((msg.data as Float32Array).buffer as ArrayBuffer, slot);
        p.resolve(msg.data as Float32Array);
      }
    });
    const fail = (why: string): void => {
      if (this.slots[i] === slot) this.slots[i] = null;
      const pending = [...slot.pending.values()];
      slot.pending.clear();
      for (const p of pending) p.reject(new ImageDecodeError(p.job.path, 'corrupt', `the worker thread decoding it stopped (${why}). Try again, or pass workers: 0.`));
      if (!this.terminated) this.dispatch(); // the waiting jobs go to the other workers or a new one
    };
    worker.on('error', (err) => fail(`${err.name}: ${err.message}`));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    this.slots[i] = slot;
    return slot;
  }

  /**
   * Renders one image in a worker thread.
   *
   * @param job - what to render
   * @returns the image's `h·w·c` values (a transferred buffer, the caller's)
   * @throws {ImageDecodeError} naming the file, whatever went wrong in the worker
   */
  run(job: ImageJob): Promise<Float32Array> {
    // A job cancelled because its owner terminated the pool (disposed the iterator), not a data
    // failure: a plain Error on purpose, as an aborted fetch is.
    if (this.terminated) return Promise.reject(new Error('The image worker pool was terminated.'));
    return new Promise<Float32Array>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Sends waiting jobs, oldest first, to the least busy workers with room (starting workers as needed). */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      let best = -1;
      let bestLoad = JOBS_PER_WORKER;
      for (let i = 0; i < this.size; i++) {
        const s = this.slots[i];
        const load = s === null ? 0 : s.pending.size;
        if (load < bestLoad) {
          best = i;
          bestLoad = load;
        }
      }
      if (best < 0) return;
      const slot = this.slots[best] ?? this.spawn(best);
      const p = this.waiting.shift() as Pending;
      const id = this.nextId++;
      slot.pending.set(id, p);
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage({ id, job: p.job });
    }
    this.watchLoad();
  }

  /** While background workers have work, samples the other processes' CPU use every {@link FOREIGN_LOAD_SAMPLE_MS}. */
  private watchLoad(): void {
    if (this.watch !== undefined || !this.slots.some((s) => s?.background === true)) return;
    this.sampler = new ForeignLoadSampler();
    this.watch = setInterval(() => {
      if (this.inFlight === 0 || !this.slots.some((s) => s?.background === true)) {
        this.stopWatch();
        return;
      }
      const cores = this.sampler?.sample();
      if (cores !== undefined && cores > FOREIGN_LOAD_CORES) this.demote(cores);
    }, FOREIGN_LOAD_SAMPLE_MS);
    this.watch.unref();
  }

  private stopWatch(): void {
    if (this.watch !== undefined) clearInterval(this.watch);
    this.watch = undefined;
  }

  /**
   * Gives up background priority for good: every background worker is replaced by a normal one and
   * its jobs in flight go back to the front of the queue, in the order they were asked for.
   *
   * @param cores - the other processes' CPU use that made the pool do it (kept for `demotedAt`)
   */
  demote(cores = Number.NaN): void {
    this.background = false;
    this.foreignCores = cores;
    this.stopWatch();
    const moved: Array<[number, Pending]> = [];
    for (let i = 0; i < this.size; i++) {
      const s = this.slots[i];
      if (s === null || s === undefined || !s.background) continue;
      moved.push(...s.pending.entries());
      s.pending.clear(); // its late answers and its exit are ignored now
      this.slots[i] = null;
      void s.worker.terminate().catch(() => undefined);
    }
    this.waiting.unshift(...moved.sort((a, b) => a[0] - b[0]).map((e) => e[1]));
    if (!this.terminated) this.dispatch();
  }

  /**
   * Hands a result of {@link run} back to the worker that made it, for reuse; the caller must have
   * copied it and must not touch it afterwards (its buffer is transferred).
   *
   * @param data - an array {@link run} resolved with
   */
  recycle(data: Float32Array): void {
    const buffer = data.buffer as ArrayBuffer;
    const slot = this.origin.get(buffer);
    if (slot === undefined || this.slots.indexOf(slot) < 0) return;
    this.origin.delete(buffer);
    slot.worker.postMessage({ recycle: buffer }, [buffer]);
  }

  /** Stops every worker; jobs in flight reject. */
  async terminate(): Promise<void> {
    this.terminated = true;
    this.stopWatch();
    // Cancelled jobs, not data failures: plain Errors, as in run().
    for (const p of this.waiting.splice(0)) p.reject(new Error('The image worker pool was terminated.'));
    const slots = this.slots.filter((s): s is Slot => s !== null);
    this.slots = new Array(this.size).fill(null);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/** How long a pool nobody uses keeps its threads before they end (ms). */
export const POOL_LINGER_MS = 30_000;

const pools = new Map<number, { pool: ImageWorkerPool; users: number; linger?: NodeJS.Timeout }>();

/**
 * The process-wide pool of `size` workers, created on first use; pair with {@link releaseImagePool}.
 *
 * @param size - worker threads, ≥ 1
 * @returns the pool, or null when the compiled worker script is not available
 */
export function acquireImagePool(size: number): ImageWorkerPool | null {
  const script = imageWorkerScript();
  if (script === null) return null;
  let entry = pools.get(size);
  if (entry === undefined) {
    entry = { pool: new ImageWorkerPool(size, script), users: 0 };
    pools.set(size, entry);
  }
  entry.users += 1;
  if (entry.linger !== undefined) {
    clearTimeout(entry.linger);
    entry.linger = undefined;
  }
  return entry.pool;
}

/**
 * Gives back a pool from {@link acquireImagePool}. After the last user's release the workers end
 * once {@link POOL_LINGER_MS} passes without a new `acquireImagePool` (the timer never keeps the
 * process alive).
 */
export function releaseImagePool(pool: ImageWorkerPool): void {
  const entry = pools.get(pool.size);
  if (entry === undefined || entry.pool !== pool || entry.users <= 0) return;
  entry.users -= 1;
  if (entry.users === 0) {
    entry.linger = setTimeout(() => {
      if (pools.get(pool.size) !== entry || entry.users > 0) return;
      pools.delete(pool.size);
      void pool.terminate();
    }, POOL_LINGER_MS);
    entry.linger.unref();
  }
}
