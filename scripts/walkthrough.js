#!/usr/bin/env node
// `npm start`: the main job. Registers the project's tslab kernel (idempotent), executes the
// walkthrough notebook headless on the embedded phantom dataset (or on Kaggle's data when
// credentials exist), then prints where the executed notebook and its HTML are, and the test
// accuracy the notebook recorded. Extra arguments go to the runner, e.g. `npm start -- --param epochs=2`.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const notebook = path.join('notebooks', '01-transfer-learning-chest-ct.ipynb');
const outputRoot = path.join(root, 'output');
const runOutput = path.join(outputRoot, 'walkthrough');

function step(args) {
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

const started = Date.now();
step([path.join('kernel-setup', 'setup.js'), '--quiet']);
step([
  path.join('bin', 'transferlab.js'), 'run', notebook,
  '--output', outputRoot,
  '--param', `outputDir=${JSON.stringify(runOutput)}`,
  ...process.argv.slice(2),
]);

const metricsPath = path.join(runOutput, 'metrics.json');
const minutes = ((Date.now() - started) / 60000).toFixed(1);
if (fs.existsSync(metricsPath)) {
  const metrics = JSON.parse(fs.readFileSync(metricsPath, 'utf8'));
  const acc = typeof metrics.testAccuracy === 'number' ? `${(metrics.testAccuracy * 100).toFixed(1)}%` : 'n/a';
  console.log(`\nWalkthrough finished in ${minutes} min on ${metrics.dataset ?? 'unknown'} data (backend ${metrics.backend ?? '?'}).`);
  console.log(`Test accuracy: ${acc} over ${metrics.testSamples ?? '?'} images.`);
}
console.log(`Executed notebook and HTML: ${outputRoot}`);
