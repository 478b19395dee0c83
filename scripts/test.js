#!/usr/bin/env node
// Runs the whole test suite with node's built-in test runner.
// 1. builds the library (dist/, which notebooks import as 'transferlab'),
// 2. compiles src/, test/ and bench/ to .build/,
// 3. runs every .build/test/**/*.test.js (or those whose path contains an argument).
// Usage: npm test [-- <path fragment>...]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function run(cmd, args, opts = {}, strict = true) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (res.status !== 0 && !strict) {
    process.stderr.write(`\n(${path.basename(args[0] ?? cmd)} reported errors; continuing because a filter was given)\n`);
    return;
  }
  if (res.status !== 0) {
    process.stderr.write(`\n${[cmd, ...args].join(' ')} failed (exit ${res.status ?? res.signal}).\n`);
    process.exit(res.status ?? 1);
  }
}

function findTests(dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(full));
    else if (entry.name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const filters = process.argv.slice(2);
// With path filters (a developer iterating on one area) type errors elsewhere are reported but do
// not stop the run: tsc still emits. The full suite (no filters, as CI runs it) fails on any.
const strict = filters.length === 0;
run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {}, strict);
// A fresh .build/ for the full suite: compiled tests of deleted or moved test files must not run
// again. A filtered run keeps it, so engineers iterating side by side in one tree do not delete
// each other's compiled files mid-run.
if (strict) fs.rmSync(path.join(root, '.build'), { recursive: true, force: true });
run(process.execPath, [tsc, '-p', 'tsconfig.test.json'], {}, strict);

let files = findTests(path.join(root, '.build', 'test'));
if (filters.length > 0) files = files.filter((f) => filters.some((frag) => f.includes(frag.replace(/\.ts$/, ''))));
if (files.length === 0) {
  process.stderr.write('No test files matched.\n');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
run(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  env: { ...process.env, TRANSFERLAB_TEST: '1' },
});
