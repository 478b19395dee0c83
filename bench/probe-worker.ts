/**
 * A preload (`node -r .build/bench/probe-worker.js`) for bench/profile-step.ts: in every worker
 * thread of the process (worker threads inherit the preload) it records, without changing the
 * library, when each message arrives and when its answer leaves, and in the ONNX Runtime worker
 * when each `session.run` starts and ends and which threads ONNX Runtime creates. The main thread
 * collects the records over a BroadcastChannel on request (so nothing crosses threads while the
 * benchmark is timed).
 *
 * Times are epoch milliseconds (`performance.timeOrigin + performance.now()`), comparable across
 * threads. `cpuMs` is the thread's own CPU time from /proc/thread-self/schedstat.
 */
import * as fs from 'node:fs';
import { isMainThread, parentPort, threadId } from 'node:worker_threads';

/** Name of the channel the probe answers on. */
export const PROBE_CHANNEL = 'transferlab-probe';

/** One message handled by a worker thread. */
export interface ProbeEvent {
  /** Message id (the pools' request ids). */
  id: number;
  /** What kind of message: 'job' (image), 'run' / 'load' (ONNX Runtime). */
  type: string;
  /** Arrival of the message in the worker. */
  received: number;
  /** The answer posted back. */
  replied?: number;
  /** ONNX Runtime `session.run`, start and end (ONNX Runtime worker only). */
  runStart?: number;
  runEnd?: number;
  /** Images in the ONNX Runtime input (its first dimension). */
  images?: number;
  /** This thread's CPU time while handling the message (ms), where it could be read. */
  cpuMs?: number;
}

/** What a worker thread answers when the main thread asks (`{ ask: 'report' }` on the channel). */
export interface ProbeReport {
  threadId: number;
  /** Linux thread id of this worker thread. */
  tid: number;
  /** 'image', 'onnx' or 'other', from the messages it handled. */
  kind: string;
  /** Linux thread ids created while ONNX Runtime made its sessions (its intra-op threads). */
  ortThreads: number[];
  events: ProbeEvent[];
}

/** Epoch milliseconds. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** CPU time of the calling thread in ms (0 where /proc cannot say). */
export function threadCpuMs(): number {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return 0;
  }
}

function tids(): Set<number> {
  try {
    return new Set(fs.readdirSync('/proc/self/task').map(Number));
  } catch {
    return new Set();
  }
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  let tid = 0;
  try {
    tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    // not Linux: no thread ids
  }
  const events: ProbeEvent[] = [];
  const open = new Map<number, { event: ProbeEvent; cpu0: number }>();
  const ortThreads: number[] = [];
  let kind = 'other';
  let patchedOrt = false;
  let recording = true;

  const patchOrt = (): void => {
    if (patchedOrt) return;
    patchedOrt = true;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }).prototype;
    const run = proto.run;
    proto.run = async function (this: unknown, ...a: unknown[]) {
      const current = [...open.values()].find((o) => o.event.type === 'run' && o.event.runStart === undefined)?.event;
      if (current) current.runStart = nowMs();
      try {
        return await run.apply(this, a);
      } finally {
        if (current) current.runEnd = nowMs();
      }
    };
    const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (...a: unknown[]) => Promise<unknown>;
    (ort.InferenceSession as unknown as { create: unknown }).create = async (...a: unknown[]) => {
      const before = tids();
      const session = await create(...a);
      for (const t of tids()) if (!before.has(t)) ortThreads.push(t);
      return session;
    };
  };

  const on = port.on.bind(port);
  port.on = ((event: string, listener: (...a: unknown[]) => void) => {
    if (event !== 'message') return on(event, listener);
    return on('message', (msg: unknown) => {
      const m = msg as { id?: number; job?: unknown; type?: string; dims?: number[]; recycle?: unknown; cmd?: unknown };
      if (typeof m === 'object' && m !== null && typeof m.id === 'number') {
        const type = m.job !== undefined ? 'job' : typeof m.type === 'string' ? m.type : 'other';
        if (type === 'job') kind = 'image';
        if (type === 'run' || type === 'load') {
          kind = 'onnx';
          patchOrt();
        }
        if (recording) {
          const event: ProbeEvent = { id: m.id, type, received: nowMs(), images: type === 'run' ? m.dims?.[0] : undefined };
          open.set(m.id, { event, cpu0: threadCpuMs() });
          events.push(event);
        }
      }
      listener(msg);
    });
  }) as typeof port.on;
  const post = port.postMessage.bind(port);
  port.postMessage = ((msg: unknown, transfer?: readonly unknown[]) => {
    const id = (msg as { id?: number } | null)?.id;
    if (typeof id === 'number') {
      const o = open.get(id);
      if (o !== undefined) {
        o.event.replied = nowMs();
        o.event.cpuMs = threadCpuMs() - o.cpu0;
        open.delete(id);
      }
    }
    return post(msg, transfer as never);
  }) as typeof port.postMessage;

  const channel = new BroadcastChannel(PROBE_CHANNEL);
  (channel as unknown as { unref?: () => void }).unref?.();
  channel.onmessage = (e: MessageEvent) => {
    const ask = (e.data as { ask?: string }).ask;
    if (ask === 'clear') {
      events.length = 0;
      recording = true;
    } else if (ask === 'report') {
      const report: ProbeReport = { threadId, tid, kind, ortThreads, events: events.splice(0) };
      channel.postMessage({ report });
    }
  };
}
