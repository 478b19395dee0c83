import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { BACKUP_FILE_NAME } from '../../src/training/callbacks/backup-and-restore';

type Event = { event: string; epoch?: number; lr?: number; weights?: Record<string, number[]>; history?: Record<string, number[]>; epochs?: number[] };

const worker = path.join(__dirname, 'fixtures', 'resume-worker.js');

/** Runs the worker; with killOnWait, SIGKILLs it as soon as it reports it is inside the epoch. */
function runWorker(backupDir: string, waitAtEpoch?: number, dataDir?: string): Promise<{ events: Event[]; signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      BACKUP_DIR: backupDir,
      ...(waitAtEpoch === undefined ? {} : { WAIT_AT_EPOCH: String(waitAtEpoch) }),
      ...(dataDir === undefined ? {} : { DATA_DIR: dataDir }),
    };
    const child = spawn(process.execPath, [worker], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Event[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      buffer += d;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as Event;
        events.push(e);
        if (e.event === 'waiting') child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ events, code, signal, stderr }));
  });
}

test('a fit killed mid-epoch resumes at the last finished epoch with the same weights, optimizer state, rate and history', { timeout: 120_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-'));
  try {
    const backup = path.join(root, 'backup');
    const killed = await runWorker(backup, 2);
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.deepEqual(killed.events.filter((e) => e.event === 'epochEnd').map((e) => e.epoch), [0, 1]);
    assert.ok(fs.existsSync(path.join(backup, BACKUP_FILE_NAME)), 'the backup survives the kill');
    const atKill = killed.events.find((e) => e.event === 'epochBegin' && e.epoch === 2)!;

    const resumed = await runWorker(backup);
    assert.equal(resumed.code, 0, resumed.stderr);
    const firstBegin = resumed.events.find((e) => e.event === 'epochBegin')!;
    assert.equal(firstBegin.epoch, 2, 'resumes at epoch 3 (index 2)');
    assert.equal(firstBegin.lr, atKill.lr);
    assert.deepEqual(firstBegin.weights, atKill.weights);
    assert.ok(!fs.existsSync(backup), 'the backup is deleted after a finished run');

    const straight = await runWorker(path.join(root, 'other'));
    assert.equal(straight.code, 0, straight.stderr);
    const a = resumed.events.find((e) => e.event === 'done')!;
    const b = straight.events.find((e) => e.event === 'done')!;
    assert.deepEqual(a.epochs, [0, 1, 2, 3, 4]);
    assert.deepEqual(a.history, b.history);
    assert.deepEqual(a.weights, b.weights);
    assert.deepEqual(b.history!.learning_rate, [0.01, 0.01, 0.005, 0.0025, 0.00125].map(Math.fround));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** Class folders red/green/blue of 8×8 PNGs whose brightest channel is the class, 5 per class. */
async function makeColourImages(dir: string): Promise<void> {
  let k = 0;
  for (const [label, cls] of ['red', 'green', 'blue'].entries()) {
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < 5; i++) {
      const px = Buffer.alloc(8 * 8 * 3);
      for (let p = 0; p < 64; p++) for (let c = 0; c < 3; c++) px[p * 3 + c] = ((k++ * 37) % 150) + (c === label ? 100 : 0);
      await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path.join(dir, cls, `${i}.png`));
    }
  }
}

test('a fit on a shuffling, augmenting DirectoryIterator killed mid-epoch resumes with exactly the history and weights of an uninterrupted run', { timeout: 120_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-dir-'));
  try {
    const data = path.join(root, 'data');
    await makeColourImages(data);
    const backup = path.join(root, 'backup');
    const killed = await runWorker(backup, 2, data);
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.deepEqual(killed.events.filter((e) => e.event === 'epochEnd').map((e) => e.epoch), [0, 1]);

    const resumed = await runWorker(backup, undefined, data);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.events.find((e) => e.event === 'epochBegin')!.epoch, 2, 'resumes at epoch 3 (index 2)');

    const straight = await runWorker(path.join(root, 'other'), undefined, data);
    assert.equal(straight.code, 0, straight.stderr);
    const a = resumed.events.find((e) => e.event === 'done')!;
    const b = straight.events.find((e) => e.event === 'done')!;
    assert.deepEqual(a.epochs, [0, 1, 2, 3, 4]);
    assert.deepEqual(a.history, b.history);
    assert.deepEqual(a.weights, b.weights);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
