/**
 * Worker-thread entry of the image pool (`worker-pool.ts`): renders {@link ImageJob}s with
 * `renderImageFile` and sends each result back as a transferred Float32Array. No Keras original (Keras
 * parallelises with `workers=`/`use_multiprocessing=` processes instead).
 *
 * Messages in: `{ id, job }`, or `{ recycle: ArrayBuffer }` giving back a result buffer the main thread
 * has copied (reused for the next image of that size: no 600 KB allocation per image). Out:
 * `{ id, data }` or `{ id, error: { name, message, problem } }`. Files are read synchronously (blocking
 * this thread only, and cheaper in CPU than the async read).
 *
 * With `workerData.background`, the thread first lowers itself to background priority
 * (`background-priority.ts`) and says so: `{ ready: { tid, background } }` is its first message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { currentThreadId, lowerToBackground, type ThreadPriority } from './background-priority';
import { ImageDecodeError } from './errors';
import { channelsOf } from './image-io';
import { type ImageJob, renderImageFile } from './image-kernel';

/** An error as it crosses back to the main thread. */
export interface WorkerErrorMessage {
  name: string;
  message: string;
  /** Set for {@link ImageDecodeError}. */
  problem?: string;
}

/** Free result buffers kept at most. */
const MAX_FREE = 32;

if (parentPort !== null) {
  const port = parentPort;
  const free: ArrayBuffer[] = [];
  const wanted = (workerData as { background?: boolean } | null)?.background === true;
  const ready: ThreadPriority = wanted ? lowerToBackground() : { tid: currentThreadId(), background: false };
  port.postMessage({ ready });
  port.on('message', (msg: { id: number; job: ImageJob } | { recycle: ArrayBuffer }) => {
    if ('recycle' in msg) {
      if (free.length < MAX_FREE) free.push(msg.recycle);
      return;
    }
    const [h, w] = msg.job.load.targetSize as [number, number];
    const size = h * w * channelsOf(msg.job.load.colorMode);
    const k = free.findIndex((b) => b.byteLength === size * 4);
    const out = k >= 0 ? new Float32Array(free.splice(k, 1)[0]) : new Float32Array(size);
    renderImageFile(msg.job, out, 0, true).then(
      (data) => port.postMessage({ id: msg.id, data }, [data.buffer as ArrayBuffer]),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err)); // internal: the pool reports it as an ImageDecodeError
        const error: WorkerErrorMessage = { name: e.name, message: e.message, problem: err instanceof ImageDecodeError ? err.problem : undefined };
        port.postMessage({ id: msg.id, error });
      },
    );
  });
}
