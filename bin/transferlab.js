#!/usr/bin/env node
// `transferlab` command: a thin shim over the compiled CLI in dist/cli/main.js (source: src/cli/).
'use strict';
const path = require('node:path');

let cli;
try {
  cli = require(path.join(__dirname, '..', 'dist', 'cli', 'main.js'));
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist')) {
    process.stderr.write('transferlab: dist/ is missing; build it first with `npm run build`.\n');
    process.exit(2);
  }
  throw e;
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`transferlab: ${e && e.stack ? e.stack : e}\n`);
    process.exitCode = 1;
  },
);
