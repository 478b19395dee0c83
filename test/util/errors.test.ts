// Every error class transferlab exports extends TransferlabError and is named after its class
// (issue 12: one base class, `name` set one way); plain Errors in src/ are internal and say so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as tl from '../../src/index';
import * as cli from '../../src/cli';
import { LockTimeoutError } from '../../src/data/lock';
import { TransferlabError } from '../../src/util/errors';
import { ArchiveError, DownloadError, DownloadTimeoutError } from '../../src/data/errors';

const root = path.resolve(__dirname, '..', '..', '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

test('every exported error class extends TransferlabError and its name is its class name', () => {
  const classes = Object.entries({ ...tl, ...cli, LockTimeoutError }).filter(
    ([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error,
  ) as Array<[string, new (...args: unknown[]) => Error]>;
  assert.ok(classes.length >= 25, `found only ${classes.length} exported error classes`);
  for (const [exported, Class] of classes) {
    assert.ok(Class.prototype instanceof TransferlabError || Class === TransferlabError, `${exported} does not extend TransferlabError`);
    const error = new Class('m', 'x', 'y', 'z');
    assert.equal(error.name, exported, `${exported}'s name`);
    assert.equal(String(error).split(':')[0], exported);
  }
});

test('subclasses keep their messages, fields and the cause', () => {
  const cause = new Error('reset');
  const d = new DownloadError('GET failed', 'http://bob:pw@host/x', 503, { cause });
  assert.equal(d.message, 'GET failed');
  assert.equal(d.url, 'http://***@host/x');
  assert.equal(d.status, 503);
  assert.equal(d.cause, cause);
  const t = new DownloadTimeoutError('late', 'http://host/x', 10);
  assert.ok(t instanceof DownloadError && t instanceof TransferlabError && t instanceof Error);
  assert.equal(t.name, 'DownloadTimeoutError');
  const a = new ArchiveError('bad entry', '/tmp/a.zip', 'x/y.png');
  assert.deepEqual([a.name, a.archive, a.entry, a.message], ['ArchiveError', '/tmp/a.zip', 'x/y.png', 'bad entry']);
});

test('no class in src/ sets name itself, and each plain Error left in src/ says why it is internal', () => {
  const files = sourceFiles(path.join(root, 'src'));
  const offenders: string[] = [];
  const unexplained: string[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const rel = path.relative(root, file);
    if (rel === path.join('src', 'util', 'errors.ts')) continue; // the base class itself
    lines.forEach((line, i) => {
      if (/^\s*(this\.name\s*=|(override\s+)?(readonly\s+)?name\s*=\s*'[A-Z])/.test(line)) {
        offenders.push(`${rel}:${i + 1}`);
      }
      // A plain Error is allowed where a comment on its line or in the 30 lines above says it is
      // internal (an invariant, or a reason that a caller wraps in a typed error).
      if (/\bnew Error\(|\bextends Error\b/.test(line) && !/\/\/ .*(internal|plain Error)/i.test(line)) {
        const above = lines.slice(Math.max(0, i - 30), i).filter((l) => /^\s*(\/\/|\/\*|\*)/.test(l));
        if (!above.some((l) => /internal|plain Error/i.test(l))) unexplained.push(`${rel}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, [], 'set name in TransferlabError only');
  assert.deepEqual(unexplained, [], 'throw a typed error (a TransferlabError subclass) or comment why the plain Error is internal');
});
