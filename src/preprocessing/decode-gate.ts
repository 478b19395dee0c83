/**
 * A process-wide cap on concurrent big image decodes, shared by the main thread and every image
 * worker thread (one counter in a `SharedArrayBuffer`, handed to each worker in its `workerData`).
 * Up to 8 workers × 8 jobs may be in flight; without the cap a folder of huge images could decode
 * 64 of them at once. No Keras original.
 */
import { isMainThread, workerData } from 'node:worker_threads';

/** Decodes of images with more source pixels than this count as big and wait for a slot. */
export const BIG_DECODE_PIXELS = 4096 * 4096;

/** Big decodes allowed at once in the whole process (all worker threads together). */
export const MAX_CONCURRENT_BIG_DECODES = 2;

/** Threads that can hold slots: the main thread is holder 0, workers get 1 .. HOLDERS - 1. */
const HOLDERS = 512;

/** Cell 0: slots taken in all; cell 1 + h: slots holder h has taken (so a dead worker's can be given back). */
let cells: Int32Array | undefined;
let holder = 0;

/** What a worker thread needs in its `workerData` to share the gate. */
export interface DecodeGateData {
  decodeGate: SharedArrayBuffer;
  decodeGateHolder: number;
}

/** The shared counters (created on first use in the main thread; taken from `workerData` in a worker). */
export function decodeGateBuffer(): SharedArrayBuffer {
  if (cells === undefined) {
    const data = !isMainThread ? (workerData as Partial<DecodeGateData> | null) : null;
    if (data?.decodeGate !== undefined) {
      cells = new Int32Array(data.decodeGate);
      holder = data.decodeGateHolder ?? 0;
    } else {
      cells = new Int32Array(new SharedArrayBuffer(4 * (1 + HOLDERS)));
    }
  }
  return cells.buffer as SharedArrayBuffer;
}

const freeHolders: number[] = Array.from({ length: HOLDERS - 1 }, (_, i) => HOLDERS - 1 - i);

/**
 * The `workerData` for a new image worker: the shared counters and a holder number of its own.
 * Pair with {@link releaseWorkerGate} when the worker exits.
 */
export function workerGateData(): DecodeGateData {
  const decodeGate = decodeGateBuffer();
  return { decodeGate, decodeGateHolder: freeHolders.pop() ?? 0 };
}

/** Gives back every slot a worker that ended still held (it may have died mid-decode), and its holder number. */
export function releaseWorkerGate(data: DecodeGateData): void {
  const c = cells as Int32Array;
  if (data.decodeGateHolder === 0) return;
  const held = Atomics.exchange(c, 1 + data.decodeGateHolder, 0);
  if (held > 0) {
    Atomics.sub(c, 0, held);
    Atomics.notify(c, 0);
  }
  freeHolders.push(data.decodeGateHolder);
}

/** Big decodes running right now, in the whole process (for tests and diagnostics). */
export function bigDecodesInFlight(): number {
  decodeGateBuffer();
  return Atomics.load(cells as Int32Array, 0);
}

type WaitAsync = (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string };

/**
 * Waits for a big-decode slot and returns the function that gives it back (call it once, in a
 * `finally`).
 *
 * @param limit - slots in all; default {@link MAX_CONCURRENT_BIG_DECODES}
 * @returns the release function
 * @example
 * const release = await acquireBigDecode();
 * try { await decode(); } finally { release(); }
 */
export async function acquireBigDecode(limit = MAX_CONCURRENT_BIG_DECODES): Promise<() => void> {
  decodeGateBuffer();
  const c = cells as Int32Array;
  const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
  for (;;) {
    const cur = Atomics.load(c, 0);
    if (cur < limit && Atomics.compareExchange(c, 0, cur, cur + 1) === cur) break;
    // Woken by a release, or after 50 ms at the latest.
    if (waitAsync !== undefined) {
      const r = waitAsync(c, 0, cur, 50);
      if (r.async) await r.value;
    } else {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  Atomics.add(c, 1 + holder, 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    Atomics.sub(c, 1 + holder, 1);
    Atomics.sub(c, 0, 1);
    Atomics.notify(c, 0);
  };
}
