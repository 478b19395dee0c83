// End to end through real Jupyter: a temporary notebook on the project's tslab kernel shows two
// figures and nbconvert (Debian's /usr/bin/python3) executes it to a notebook and to HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
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

test("a saved notebook keeps figures without plotly.js by default; TRANSFERLAB_PLOTLY=once exports interactive HTML with one copy", { skip: !hasJupyter() && 'Debian Jupyter not installed', timeout: 240_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-plots-'));
  try {
    // Kernelspec in a private JUPYTER_PATH; node_modules linked so 'transferlab' resolves to dist/.
    const kernelDir = path.join(dir, 'jupyter', 'kernels', 'transferlab');
    fs.mkdirSync(kernelDir, { recursive: true });
    fs.writeFileSync(path.join(kernelDir, 'kernel.json'), JSON.stringify({
      argv: [process.execPath, path.join(root, 'kernel-setup', 'kernel.js'), '--config-path', '{connection_file}'],
      display_name: 'TypeScript (transferlab)',
      language: 'typescript',
    }));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const nbPath = path.join(dir, 'figures.ipynb');
    fs.writeFileSync(nbPath, JSON.stringify(notebook([
      "import { plotHistory } from 'transferlab';",
      "const figs = plotHistory({ loss: [0.9, 0.6, 0.45], val_loss: [1.0, 0.7, 0.62], acc: [0.5, 0.7, 0.8], val_acc: [0.45, 0.62, 0.7] });\nfigs.length",
    ])));
    const base = { ...process.env, JUPYTER_PATH: path.join(dir, 'jupyter'), JUPYTER_DATA_DIR: path.join(dir, 'data'), JUPYTER_RUNTIME_DIR: path.join(dir, 'runtime'), JUPYTER_CONFIG_DIR: path.join(dir, 'config') };
    delete (base as NodeJS.ProcessEnv).TRANSFERLAB_PLOTLY;
    const nbconvert = (args: string[], env: NodeJS.ProcessEnv) =>
      new Promise<{ status: number; stderr: string }>((resolve) => {
        const child = spawn(python, ['-m', 'jupyter', 'nbconvert', '--execute', '--ExecutePreprocessor.timeout=180', ...args, nbPath], { cwd: dir, env });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ status: code ?? -1, stderr }));
      });
    const [saved, exported] = await Promise.all([
      nbconvert(['--to', 'notebook', '--output', 'saved'], base),
      nbconvert(['--to', 'html'], { ...base, TRANSFERLAB_PLOTLY: 'once' }),
    ]);
    assert.equal(saved.status, 0, `nbconvert failed:\n${saved.stderr}`);
    assert.equal(exported.status, 0, `nbconvert failed:\n${exported.stderr}`);

    // The saved notebook (default 'page'): both figures, their SVGs, no plotly.js, a few kB.
    const savedText = fs.readFileSync(path.join(dir, 'saved.ipynb'), 'utf8');
    assert.equal(savedText.split(BUNDLE_HEADER).length - 1, 0, 'no copy of plotly.js in the saved notebook');
    const outputs = (JSON.parse(savedText) as { cells: { outputs: { output_type: string; data?: Record<string, unknown> }[] }[] }).cells[1].outputs;
    assert.equal(outputs.filter((o) => o.output_type === 'display_data' && o.data?.['image/svg+xml'] !== undefined).length, 2);
    assert.ok(Buffer.byteLength(savedText) < 100_000, `saved notebook is ${Buffer.byteLength(savedText)} bytes`);

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
