/**
 * Background priority for the image worker threads, and the watch that takes it back when other
 * programs want the cores. No Keras original.
 *
 * Why: on a machine whose cores ONNX Runtime's (or TF.js's) intra-op threads fill, an image worker
 * that wakes up takes a core from one of those threads, and the other waits for it at the end of
 * the operation. At Linux's `SCHED_IDLE` the worker runs only where a core would otherwise idle:
 * while an intra-op thread sleeps at such a barrier (they do not spin, see
 * `acceleration/onnx-session.ts`), or once the model has run out of decoded images. Measured here
 * (bench/README, 4 December 2026): prediction over the walkthrough's 315 test images 62.0 / 60.7
 * img/s against 58.3 / 58.3 at normal priority; training unchanged; over 64 noise PNGs, ONNX
 * Runtime's busy time per pass 976 ms against 988 ms (16 alternated rounds in one process).
 *
 * The cost: `SCHED_IDLE` threads get almost nothing while another program keeps the cores busy
 * (measured: two busy loops made a 64-image prediction take 11.8 s instead of 2.3 s). So the pool
 * watches, while it has work, how much CPU other processes use ({@link ForeignLoadSampler}); above
 * {@link FOREIGN_LOAD_CORES} it replaces its background workers by normal ones for good.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** CPU used by other processes, in cores, above which the image pool stops using background workers. */
export const FOREIGN_LOAD_CORES = 0.25;

/** How often a pool with work in flight samples the other processes' CPU use (ms). */
export const FOREIGN_LOAD_SAMPLE_MS = 250;

/**
 * Whether new image workers should ask for background priority: on Linux, unless the environment
 * variable `TRANSFERLAB_IMAGE_WORKER_PRIORITY` is `normal`.
 *
 * @returns true when background workers are wanted
 * @example
 * const background = backgroundWorkersWanted();
 */
export function backgroundWorkersWanted(): boolean {
  return process.platform === 'linux' && process.env.TRANSFERLAB_IMAGE_WORKER_PRIORITY !== 'normal';
}

/** The kernel's id of the calling thread (Linux), or undefined where `/proc/thread-self` is missing. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** What {@link lowerToBackground} did. */
export interface ThreadPriority {
  /** The thread's kernel id, when known. */
  tid: number | undefined;
  /** Whether the thread now runs at `SCHED_IDLE`. */
  background: boolean;
}

/**
 * Moves the calling thread to Linux's `SCHED_IDLE` policy with util-linux's `chrt` (any user may
 * lower a thread of their own; nothing in Node does it). Call it at the start of a worker thread.
 * Where `chrt` or `/proc` is missing the thread keeps its priority and nothing fails.
 *
 * @returns the thread's id and whether it is at background priority now
 * @example
 * const { background } = lowerToBackground();
 */
export function lowerToBackground(): ThreadPriority {
  const tid = currentThreadId();
  if (tid === undefined) return { tid, background: false };
  try {
    const done = spawnSync('chrt', ['--idle', '-p', '0', String(tid)], { stdio: 'ignore', timeout: 2000 });
    return { tid, background: done.status === 0 };
  } catch {
    return { tid, background: false };
  }
}

/**
 * The scheduling policy of thread `tid` of this process, from `/proc`: `SCHED_OTHER` 0,
 * `SCHED_BATCH` 3, `SCHED_IDLE` 5 (for tests and diagnostics).
 *
 * @returns the policy number, or undefined when it cannot be read
 */
export function threadPolicy(tid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'); policy is field 41.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const policy = Number(fields[41 - 3]);
    return Number.isInteger(policy) ? policy : undefined;
  } catch {
    return undefined;
  }
}

/** Busy jiffies of all CPUs together, from the first line of `/proc/stat` (user, nice, system, irq, softirq; idle, iowait, steal and guest left out). */
function busyJiffies(): number | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1, 8).map(Number) as number[];
    const busy = (user as number) + (nice as number) + (system as number) + (irq as number) + (softirq as number);
    return Number.isFinite(busy) ? busy : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Measures the CPU that processes other than this one used between two calls of `sample`, in
 * cores: the whole machine's busy time (`/proc/stat`) less this process's (`process.cpuUsage`),
 * over the wall time between the calls.
 */
export class ForeignLoadSampler {
  private last: { busy: number; ownUs: number; at: number } | undefined;
  private readonly hz: number;

  /** @param hz - clock ticks per second of `/proc/stat` (USER_HZ); 100 on Linux */
  constructor(hz = 100) {
    this.hz = hz;
    this.last = this.read();
  }

  private read(): { busy: number; ownUs: number; at: number } | undefined {
    const busy = busyJiffies();
    if (busy === undefined) return undefined;
    const own = process.cpuUsage();
    return { busy, ownUs: own.user + own.system, at: performance.now() };
  }

  /**
   * The other processes' CPU use since the previous call (or the construction), in cores.
   *
   * @returns cores (≥ 0), or undefined where `/proc/stat` cannot be read or no time has passed
   * @example
   * const sampler = new ForeignLoadSampler();
   * setTimeout(() => console.log(sampler.sample()), 250);
   */
  sample(): number | undefined {
    const now = this.read();
    const before = this.last;
    this.last = now;
    if (now === undefined || before === undefined || now.at <= before.at) return undefined;
    const busyS = (now.busy - before.busy) / this.hz;
    const ownS = (now.ownUs - before.ownUs) / 1e6;
    return Math.max(0, busyS - ownS) / ((now.at - before.at) / 1000);
  }
}
