/**
 * Throughput of the download core (`downloadFile`: temp file, lock, progress, Range bookkeeping)
 * against a baseline measured in the same run: a raw `http.get` piped into a file. Both fetch the
 * same bytes from the fake Kaggle storage on 127.0.0.1.
 *
 * Run: npx tsc -p tsconfig.test.json && node .build/bench/download.js [sizeMB=64] [rounds=3]
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { downloadFile } from '../src/data/download';
import { fixtureBytes, startKaggleServer } from '../test/support/kaggle-server';

async function rawGet(url: string, dest: string): Promise<void> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, resolve).on('error', reject));
  await pipeline(res, createWriteStream(dest));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const sizeMb = Number(process.argv[2] ?? 64);
  const rounds = Number(process.argv[3] ?? 3);
  const body = fixtureBytes(sizeMb * 1024 * 1024, 'bench');
  const server = await startKaggleServer({ files: { 'big.bin': body } });
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-bench-'));
  const ours: number[] = [];
  const base: number[] = [];
  try {
    const url = server.fileUrl('big.bin');
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so neither side always gets the warmer cache.
      const order = r % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
      for (const which of order) {
        const dest = path.join(dir, `${which}-${r}.bin`);
        const t0 = process.hrtime.bigint();
        if (which === 'raw') await rawGet(url, dest);
        else await downloadFile({ url, dest, quiet: true, env: {} });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        const size = (await fsp.stat(dest)).size;
        if (size !== body.length) throw new Error(`${which}: got ${size} bytes`);
        (which === 'raw' ? base : ours).push(sizeMb / s);
        await fsp.rm(dest);
      }
    }
  } finally {
    await server.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const o = median(ours);
  const b = median(base);
  console.log(`download ${sizeMb} MB x${rounds} from 127.0.0.1`);
  console.log(`  raw http.get | pipe: ${b.toFixed(0)} MB/s (median; ${base.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  downloadFile:        ${o.toFixed(0)} MB/s (median; ${ours.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  ratio downloadFile / raw: ${(o / b).toFixed(2)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
