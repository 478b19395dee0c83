#!/usr/bin/env node
// `npm start`: the main job. Registers the project's tslab kernel (idempotent), then executes the
// walkthrough series headless — 01 (the Keras article's InceptionV3 walkthrough, on Kaggle's data
// when credentials exist, else the embedded phantom), 02 (transfer learning measured offline with
// the project's own pretrained PhantomNet) and 03 (Grad-CAM scored against the phantom's lesion
// boxes, and a saved model reused) — each into output/<name>/, and ends with one summary
// table: notebook, dataset, weights, test accuracy, majority baseline, wall time.
// Extra arguments go to the runner; a --param goes to the notebooks whose parameters cell declares
// it, e.g. `npm start -- --param epochs=2 --param seeds=[0]`.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outputRoot = path.join(root, 'output');
const SERIES = [
  { notebook: path.join('notebooks', '01-transfer-learning-chest-ct.ipynb'), output: path.join(outputRoot, 'walkthrough') },
  { notebook: path.join('notebooks', '02-measured-transfer-offline.ipynb'), output: path.join(outputRoot, 'transfer') },
  { notebook: path.join('notebooks', '03-where-does-it-look.ipynb'), output: path.join(outputRoot, 'explain') },
];

/** Variables declared in a notebook's cell tagged 'parameters'. */
function declaredParameters(notebook) {
  const nb = JSON.parse(fs.readFileSync(path.join(root, notebook), 'utf8'));
  const cell = nb.cells.find((c) => (c.metadata?.tags ?? []).includes('parameters'));
  const source = [cell?.source ?? ''].flat().join('');
  return new Set([...source.matchAll(/^\s*(?:let|const|var)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]));
}

/** Splits the extra arguments: each --param goes to the notebooks that declare it (or to all when none does, so the runner reports it). */
function argsFor(notebook, extra) {
  const declared = declaredParameters(notebook);
  const known = SERIES.map((s) => declaredParameters(s.notebook));
  const out = [];
  for (let i = 0; i < extra.length; i++) {
    const arg = extra[i];
    if ((arg === '--param' || arg === '-p') && i + 1 < extra.length) {
      const name = extra[i + 1].split('=')[0];
      if (declared.has(name) || !known.some((k) => k.has(name))) out.push(arg, extra[i + 1]);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function step(args) {
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

const pct = (x) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : 'n/a');

/** One summary row from a notebook's metrics.json. */
function summaryRow(name, metrics, minutes) {
  if (metrics === null) return [name, '?', '?', 'no metrics.json', '?', minutes];
  if (Array.isArray(metrics.methods)) {
    const ft = metrics.methods.find((m) => m.method === 'fine-tuning');
    const times = ft && ft.pointingChance > 0 ? `${(ft.pointingGame / ft.pointingChance).toFixed(1)}× chance` : 'n/a';
    return [name, metrics.dataset ?? '?', metrics.weights ?? '?', `fine-tuning ${pct(ft?.testAccuracy)}; Grad-CAM pointing game ${pct(ft?.pointingGame)} (${times})`, pct(metrics.majorityBaseline), minutes];
  }
  if (Array.isArray(metrics.results)) {
    const ks = [...new Set(metrics.results.map((r) => r.labelsPerClass))];
    const mean = (method, k) => {
      const rows = metrics.results.filter((r) => r.method === method && r.labelsPerClass === k);
      return rows.length ? rows.reduce((s, r) => s + r.testAccuracy, 0) / rows.length : undefined;
    };
    const shown = [...new Set([ks[0], ks[ks.length - 1]])];
    const parts = shown.map((k) => `K=${k}: fine-tuning ${pct(mean('fine-tuning', k))} vs scratch ${pct(mean('scratch', k))}`);
    return [name, metrics.dataset ?? '?', metrics.weights ?? '?', parts.join('; '), pct(metrics.majorityBaseline), minutes];
  }
  return [name, metrics.dataset ?? '?', metrics.weights ?? '?', pct(metrics.testAccuracy), pct(metrics.majorityBaseline), minutes];
}

function printTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

const extra = process.argv.slice(2);
step([path.join('kernel-setup', 'setup.js'), '--quiet']);
const rows = [];
for (const { notebook, output } of SERIES) {
  const started = Date.now();
  step([path.join('bin', 'transferlab.js'), 'run', notebook, '--output', output, ...argsFor(notebook, extra)]);
  const minutes = `${((Date.now() - started) / 60000).toFixed(1)} min`;
  const metricsPath = path.join(output, 'metrics.json');
  const metrics = fs.existsSync(metricsPath) ? JSON.parse(fs.readFileSync(metricsPath, 'utf8')) : null;
  rows.push(summaryRow(path.basename(notebook, '.ipynb'), metrics, minutes));
}
console.log('\nWalkthrough series finished:\n');
printTable(['notebook', 'dataset', 'weights', 'test accuracy', 'majority baseline', 'wall time'], rows);
console.log(`\nExecuted notebooks and their HTML: ${SERIES.map((s) => path.relative(root, s.output)).join(', ')}`);
