import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PLOTLY_LOADER_MARKER, PLOTLY_MIME_TYPE, figureMimeBundle, lineChart, plotHistory, plotlyBundlePath, showFigure } from '../../src/plots';

const BUNDLE_HEADER = 'plotly.js (basic - minified)';

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

// Runs first in this file's process: the first figure carries plotly.js, the others do not.
test("includePlotly: 'once' inlines plotly.js once across several figures in one process", () => {
  const htmls: string[] = [];
  const fig = lineChart([{ name: 'loss', y: [1, 0.5] }]);
  for (let i = 0; i < 3; i++) htmls.push(showFigure(fig, { includePlotly: 'once' })['text/html'] as string);
  for (const f of plotHistory({ loss: [1, 0.5], val_loss: [1.2, 0.7], accuracy: [0.5, 0.7], val_accuracy: [0.4, 0.6] })) {
    assert.ok(f.svg.startsWith('<svg'));
  }
  const all = htmls.join('\n');
  assert.equal(count(all, PLOTLY_LOADER_MARKER), 1);
  assert.equal(count(all, BUNDLE_HEADER), 1);
  assert.ok(count(htmls[0]!, BUNDLE_HEADER) === 1, 'the first figure carries it');
  assert.ok(htmls[0]!.length > 1_000_000 && htmls[1]!.length < 50_000);
});

test('the MIME bundle holds plotly JSON, html that draws with Plotly over an SVG image, the SVG and a text summary', () => {
  const fig = lineChart([{ name: 'loss', y: [1, 0.5, 0.25] }, { name: 'val_loss', y: [1.1, 0.6, 0.4] }], { title: 'Loss' });
  const bundle = figureMimeBundle(fig, { includePlotly: 'never' });
  assert.deepEqual(Object.keys(bundle).sort(), [PLOTLY_MIME_TYPE, 'image/svg+xml', 'text/html', 'text/plain'].sort());
  const spec = bundle[PLOTLY_MIME_TYPE] as { data: Array<{ name: string; y: number[] }>; layout: { title: { text: string } } };
  assert.deepEqual(spec.data.map((t) => t.name), ['loss', 'val_loss']);
  assert.equal(spec.layout.title.text, 'Loss');
  assert.equal(bundle['image/svg+xml'], fig.svg);
  const html = bundle['text/html'] as string;
  assert.match(html, /window\.Plotly/);
  assert.match(html, /newPlot/);
  assert.doesNotMatch(html, new RegExp(PLOTLY_LOADER_MARKER));
  const img = /<img src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/.exec(html);
  assert.ok(img, 'static image fallback inside the html');
  assert.equal(Buffer.from(img[1]!, 'base64').toString('utf8'), fig.svg);
  // Only one </script> per <script>: the JSON cannot end the element early.
  assert.equal(count(html, '<script'), count(html, '</script>'));
  assert.equal(bundle['text/plain'], 'Figure: Loss (loss, val_loss; 3 points)');
});

test("includePlotly: 'always' inlines the bundle with require.js and CommonJS shadowed", () => {
  const html = figureMimeBundle(lineChart([{ name: 'a', y: [1] }]), { includePlotly: 'always' })['text/html'] as string;
  assert.equal(count(html, BUNDLE_HEADER), 1);
  assert.match(html, /if \(typeof window !== 'undefined' && !window\.Plotly\)/);
  assert.match(html, /\(function \(module, exports, define\) \{/);
  assert.equal(count(html, '</script>'), 2, 'loader and draw script; the bundle holds no </script>');
  assert.throws(() => figureMimeBundle(lineChart([{ name: 'a', y: [1] }]), { includePlotly: 'yes' as never }),
    { message: "Expected one of 'page', 'once', 'always', 'never' for includePlotly but received 'yes' of type string" });
});

test("by default ('page') the bundle a notebook keeps holds no plotly.js; TRANSFERLAB_PLOTLY changes the default", () => {
  const fig = lineChart([{ name: 'a', y: [1, 2] }]);
  const before = process.env.TRANSFERLAB_PLOTLY;
  try {
    delete process.env.TRANSFERLAB_PLOTLY;
    assert.equal(count(showFigure(fig)['text/html'] as string, BUNDLE_HEADER), 0);
    process.env.TRANSFERLAB_PLOTLY = 'always';
    assert.equal(count(figureMimeBundle(fig)['text/html'] as string, BUNDLE_HEADER), 1);
    process.env.TRANSFERLAB_PLOTLY = 'inline';
    assert.throws(() => figureMimeBundle(fig), { message: "Expected one of 'page', 'once', 'always', 'never' for TRANSFERLAB_PLOTLY but received 'inline' of type string" });
  } finally {
    if (before === undefined) delete process.env.TRANSFERLAB_PLOTLY;
    else process.env.TRANSFERLAB_PLOTLY = before;
  }
});

test('plotlyBundlePath points at the basic minified bundle (about 1.2 MB)', () => {
  const size = fs.statSync(plotlyBundlePath()).size;
  assert.ok(size > 500_000 && size < 2_000_000, `size ${size}`);
});
