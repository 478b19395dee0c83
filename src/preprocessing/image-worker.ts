/**
 * Worker-thread entry of the image pool (`worker-pool.ts`): renders {@link ImageJob}s with
 * `renderImageFile` and sends each result back as a transferred Float32Array. No Keras original (Keras
 * parallelises with `workers=`/`use_multiprocessing=` processes instead).
 *
 * Messages in: `{ id, job }`. Out: `{ id, data }` or `{ id, error: { path, problem, message, name } }`.
 */
import { parentPort } from 'node:worker_threads';
import { ImageDecodeError } from './errors';
import { type ImageJob, renderImageFile } from './image-kernel';

/** An error as it crosses back to the main thread. */
export interface WorkerErrorMessage {
  name: string;
  message: string;
  /** Set for {@link ImageDecodeError}. */
  problem?: string;
}

if (parentPort !== null) {
  const port = parentPort;
  port.on('message', (msg: { id: number; job: ImageJob }) => {
    renderImageFile(msg.job).then(
      (data) => port.postMessage({ id: msg.id, data }, [data.buffer]),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        const error: WorkerErrorMessage = { name: e.name, message: e.message, problem: err instanceof ImageDecodeError ? err.problem : undefined };
        port.postMessage({ id: msg.id, error });
      },
    );
  });
}
