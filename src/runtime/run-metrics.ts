/**
 * A small JSON record of a notebook run (dataset, backend, accuracy, history), written next to
 * the executed notebook so batch jobs and `npm start` can report results without parsing outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `metrics` as pretty JSON to `file` atomically (temporary file, then rename), creating
 * the folder when needed.
 *
 * @param file - destination path, e.g. `output/walkthrough/metrics.json`
 * @param metrics - any JSON-serialisable record
 * @returns the absolute path written
 * @example
 * writeRunMetrics('output/metrics.json', { testAccuracy: 0.91 });
 */
export function writeRunMetrics(file: string, metrics: Record<string, unknown>): string {
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify({ ...metrics, writtenAt: new Date().toISOString() }, null, 2) + '\n');
  fs.renameSync(temp, target);
  return target;
}
