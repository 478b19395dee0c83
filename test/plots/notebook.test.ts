// End to end through real Jupyter: a temporary notebook on the project's tslab kernel shows two
// figures and nbconvert (Debian's /usr/bin/python3) executes it to HTML, as the runner does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const python = '/usr/bin/python3';
const BUNDLE_HEADER = 'plotly.js (basic - minified)';

function hasJupyter(): boolean {
  if (!fs.existsSync(python)) return false;
  return spawnSync(python, ['-c', 'import nbconvert, nbclient'], { stdio: 'ignore' }).status === 0;
}

function notebook(sources: string[]): object {
  return {
    cells: sources.map((source) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { name: 'transferlab', display_name: 'TypeScript (transferlab)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

test('an executed notebook renders both figures with one copy of plotly.js and stays small', { skip: !hasJupyter() && 'Debian Jupyter not installed', timeout: 240_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-plots-'));
  try {
    // Kernelspec in a private JUPYTER_PATH; node_modules linked so 'transferlab' resolves to dist/.
    const kernelDir = path.join(dir, 'jupyter', 'kernels', 'transferlab');
    fs.mkdirSync(kernelDir, { recursive: true });
    fs.writeFileSync(path.join(kernelDir, 'kernel.json'), JSON.stringify({
      argv: [process.execPath, path.join(root, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', '{connection_file}'],
      display_name: 'TypeScript (transferlab)',
      language: 'typescript',
    }));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const nbPath = path.join(dir, 'figures.ipynb');
    fs.writeFileSync(nbPath, JSON.stringify(notebook([
      "import { plotHistory } from 'transferlab';",
      "const figs = plotHistory({ loss: [0.9, 0.6, 0.45], val_loss: [1.0, 0.7, 0.62], acc: [0.5, 0.7, 0.8], val_acc: [0.45, 0.62, 0.7] });\nfigs.length",
    ])));
    const env = { ...process.env, JUPYTER_PATH: path.join(dir, 'jupyter'), JUPYTER_DATA_DIR: path.join(dir, 'data'), JUPYTER_RUNTIME_DIR: path.join(dir, 'runtime'), JUPYTER_CONFIG_DIR: path.join(dir, 'config') };
    const res = spawnSync(python, ['-m', 'jupyter', 'nbconvert', '--to', 'html', '--execute', '--ExecutePreprocessor.timeout=180', nbPath], { cwd: dir, env, encoding: 'utf8', timeout: 220_000 });
    assert.equal(res.status, 0, `nbconvert failed:\n${res.stderr}`);
    const html = fs.readFileSync(path.join(dir, 'figures.html'), 'utf8');
    fs.copyFileSync(path.join(dir, 'figures.html'), path.join(root, '.build', 'plots-notebook.html'));
    assert.equal(html.split(BUNDLE_HEADER).length - 1, 1, 'exactly one copy of plotly.js');
    const images = [...html.matchAll(/<img src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1] as string, 'base64').toString('utf8'));
    assert.equal(images.length, 2, 'both static figures');
    assert.match(images[0] as string, /<title>Loss<\/title>/);
    assert.match(images[1] as string, /<title>Accuracy<\/title>/);
    assert.equal((html.match(/Plotly\.newPlot|P\.newPlot\(el/g) ?? []).length >= 2, true);
    // nbconvert's lab template adds ≈0.56 MB of its own CSS to any page; our share is plotly.js
    // (≈1.19 MB, once) plus a few kB per figure.
    const size = Buffer.byteLength(html);
    const styles = [...html.matchAll(/<style[\s\S]*?<\/style>/g)].reduce((n, m) => n + Buffer.byteLength(m[0]), 0);
    assert.ok(size - styles < 1_300_000, `HTML without the template's CSS is ${size - styles} bytes`);
    assert.ok(size < 1_600_000 + styles, `HTML is ${size} bytes`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
