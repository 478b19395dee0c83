import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireImagePool, ImageWorkerPool, imageWorkerScript, JOBS_PER_WORKER, releaseImagePool } from '../../src/preprocessing/worker-pool';
import type { ImageJob } from '../../src/preprocessing/image-kernel';
import { plainJob, withImages } from '../support/pool-images';

const job = (file: string): ImageJob => plainJob(file);

test('jobs reach the workers in the order asked, at most JOBS_PER_WORKER each, so the first images are ready first', async () => {
  const script = imageWorkerScript();
  assert.ok(script !== null, 'the compiled worker script is beside the module');
  await withImages(5 * JOBS_PER_WORKER, async (files) => {
    const pool = new ImageWorkerPool(1, script);
    try {
      const done: number[] = [];
      const all = files.map((f, i) => pool.run(job(f)).then((data) => {
        done.push(i);
        assert.equal(data.length, 32 * 32 * 3);
        assert.equal(data[0], i, 'red channel of image i');
      }));
      assert.equal(pool.inFlight, files.length, 'the jobs sent and those waiting');
      await Promise.all(all);
      assert.ok(done.slice(0, JOBS_PER_WORKER).every((i) => i < 2 * JOBS_PER_WORKER), `first answers: ${done.slice(0, JOBS_PER_WORKER).join(',')}`);
      assert.ok(done.indexOf(0) < done.indexOf(files.length - 1));
      assert.equal(pool.inFlight, 0);
    } finally {
      await pool.terminate();
    }
  });
});

test('terminating a pool rejects the jobs still waiting for a worker', async () => {
  await withImages(2 * JOBS_PER_WORKER + 2, async (files) => {
    const pool = new ImageWorkerPool(1, imageWorkerScript() as string);
    const runs = files.map((f) => pool.run(job(f)).then(() => 'ok', (e: Error) => e.message));
    await pool.terminate();
    const outcomes = await Promise.all(runs);
    assert.ok(outcomes.slice(JOBS_PER_WORKER).every((o) => o !== 'ok'), outcomes.join(' | '));
    assert.match(await pool.run(job(files[0] as string)).then(() => '', (e: Error) => e.message), /terminated/);
  });
});

test('a released pool keeps its threads for a while: acquiring it again gets the same started pool', async () => {
  const a = acquireImagePool(3) as ImageWorkerPool;
  a.start();
  releaseImagePool(a);
  const b = acquireImagePool(3);
  assert.equal(b, a, 'the same pool, threads kept');
  releaseImagePool(a);
  releaseImagePool(a); // a second release by the same user changes nothing
  assert.equal(acquireImagePool(3), a);
  releaseImagePool(a);
});
