import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { backgroundWorkersWanted, FOREIGN_LOAD_CORES, ForeignLoadSampler, threadPolicy } from '../../src/preprocessing/background-priority';
import { ImageWorkerPool, imageWorkerScript } from '../../src/preprocessing/worker-pool';
import type { ImageJob } from '../../src/preprocessing/image-kernel';
import { plainJob, withImages as withPoolImages } from '../support/pool-images';

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;
const canLower = process.platform === 'linux' && spawnSync('chrt', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = canLower ? false : 'needs Linux with util-linux chrt';

const job = (file: string): ImageJob => plainJob(file, 224);
/** 256×256 PNGs, rendered to 224×224 as in the accelerate bench. */
const withImages = (count: number, fn: (files: string[]) => Promise<void>): Promise<void> => withPoolImages(count, fn, 256, 256);

/** Runs every file through the pool and checks each answer is its own image (red channel = index). */
async function renderAll(pool: ImageWorkerPool, files: string[]): Promise<void> {
  const results = await Promise.all(files.map((f) => pool.run(job(f))));
  results.forEach((data, i) => {
    assert.equal(data.length, 224 * 224 * 3);
    assert.equal(data[0], i, `image ${i} came back as itself`);
  });
}

/** Busy loops in child processes, one per core, started and running before this resolves. */
async function busyLoops(count: number): Promise<ChildProcess[]> {
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'process.stdout.write("go\\n"); for (;;) {}'], { stdio: ['ignore', 'pipe', 'ignore'] }));
  await Promise.all(children.map((c) => new Promise<void>((resolve) => c.stdout?.once('data', () => resolve()))));
  return children;
}

test('image workers run at background priority (SCHED_IDLE) on Linux, and the pool reports their threads', { skip }, async () => {
  await withImages(6, async (files) => {
    const pool = new ImageWorkerPool(2, imageWorkerScript() as string, { background: true });
    try {
      await renderAll(pool, files);
      const threads = pool.workerPriorities;
      assert.equal(threads.length, 2);
      for (const t of threads) {
        assert.equal(t.background, true);
        assert.equal(threadPolicy(t.tid as number), SCHED_IDLE, `thread ${t.tid}`);
      }
      assert.equal(threadPolicy(Number(fs.readlinkSync('/proc/thread-self').split('/').pop())), SCHED_OTHER, 'the main thread keeps its priority');
    } finally {
      await pool.terminate();
    }
  });
});

test('TRANSFERLAB_IMAGE_WORKER_PRIORITY=normal keeps image workers at normal priority', { skip }, async () => {
  const before = process.env.TRANSFERLAB_IMAGE_WORKER_PRIORITY;
  process.env.TRANSFERLAB_IMAGE_WORKER_PRIORITY = 'normal';
  let pool: ImageWorkerPool | undefined;
  try {
    assert.equal(backgroundWorkersWanted(), false);
    pool = new ImageWorkerPool(1, imageWorkerScript() as string);
    assert.equal(pool.backgroundPriority, false);
    await withImages(2, (files) => renderAll(pool as ImageWorkerPool, files));
    const [t] = pool.workerPriorities;
    assert.equal(t?.background, false);
    assert.equal(threadPolicy(t?.tid as number), SCHED_OTHER);
  } finally {
    if (before === undefined) delete process.env.TRANSFERLAB_IMAGE_WORKER_PRIORITY;
    else process.env.TRANSFERLAB_IMAGE_WORKER_PRIORITY = before;
    await pool?.terminate();
  }
});

test('demoting a pool moves the jobs in flight to normal workers, in order, and none is lost or repeated', { skip }, async () => {
  await withImages(24, async (files) => {
    const pool = new ImageWorkerPool(2, imageWorkerScript() as string, { background: true });
    try {
      const all = files.map((f) => pool.run(job(f)));
      pool.demote();
      assert.equal(pool.backgroundPriority, false);
      const results = await Promise.all(all);
      results.forEach((data, i) => assert.equal(data[0], i));
      assert.equal(pool.inFlight, 0);
      for (const t of pool.workerPriorities) {
        assert.equal(t.background, false);
        assert.equal(threadPolicy(t.tid as number), SCHED_OTHER);
      }
    } finally {
      await pool.terminate();
    }
  });
});

test('when other programs keep every core busy, the pool gives up background priority instead of starving its decodes', { skip }, async () => {
  await withImages(48, async (files) => {
    const hogs = await busyLoops(os.availableParallelism());
    const pool = new ImageWorkerPool(2, imageWorkerScript() as string, { background: true });
    try {
      await renderAll(pool, files);
      assert.equal(pool.backgroundPriority, false, 'demoted');
      assert.ok((pool.demotedAt as number) > FOREIGN_LOAD_CORES, `other processes' load when demoted: ${pool.demotedAt}`);
      for (const t of pool.workerPriorities) assert.equal(threadPolicy(t.tid as number), SCHED_OTHER);
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
      await pool.terminate();
    }
  });
});

test('ForeignLoadSampler counts the CPU of other processes, in cores', { skip: process.platform === 'linux' ? false : 'reads /proc/stat' }, async () => {
  const [hog] = await busyLoops(1);
  try {
    const sampler = new ForeignLoadSampler();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const cores = sampler.sample() as number;
    assert.ok(cores >= 0.6 && cores <= os.availableParallelism() + 0.2, `one busy child: ${cores} cores`);
  } finally {
    hog?.kill('SIGKILL');
  }
});
