import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { InceptionV3 } from '../../src/applications';
import { compareWithListing, describeModel, readInceptionV3NotopListing, type DescribedLayer } from './keras-listing';

// Keras's .h5 files are loaded by layer order, so our model.layers order must be Keras's exactly.
const listing = readInceptionV3NotopListing();
let model: tf.LayersModel;
before(async () => {
  await tf.setBackend('cpu');
  model = await InceptionV3({ includeTop: false, weights: null, inputShape: [224, 224, 3] });
});
after(() => model.dispose());

/** Our name as Keras 2.0 gave it: fresh-session names are 0-based (`conv2d`, `conv2d_1`), Keras 2.0's 1-based. */
function asKeras2(name: string): string {
  if (name.startsWith('mixed')) return name; // named explicitly
  if (name === 'input_layer') return 'input_1';
  const match = /^(.*?)(?:_(\d+))?$/.exec(name)!;
  return `${match[1]}_${Number(match[2] ?? 0) + 1}`;
}

test("InceptionV3 without the top at 224 has Keras 2's layer order at all 311 positions: class, parameters, wiring and creation numbers", () => {
  assert.match(listing.source, /^Keras 2\.x/);
  const ours = describeModel(model);
  assert.deepEqual(compareWithListing(ours, listing), []);
  assert.equal(ours.length, 311);
  assert.equal(listing.layers.reduce((a, l) => a + l.params, 0), 21802784);
  // Same names up to Keras 2.0's 1-based numbering: layers were created in the same order, so a
  // file's Keras numbers run as our model's (what loadWeightsFromH5 checks).
  assert.deepEqual(ours.map((l) => asKeras2(l.name)), listing.layers.map((l) => l.name));
});

test('the comparison fails when two same-shaped parallel convolutions trade places', () => {
  const ours = describeModel(model);
  // mixed0's branch1x1 and the first conv of its branch3x3dbl (Keras conv2d_6 and conv2d_9): both 1x1, 192 -> 64, from the same input.
  const a = ours.findIndex((l) => l.name === 'conv2d_5');
  const b = ours.findIndex((l) => l.name === 'conv2d_8');
  assert.deepEqual([ours[a].kerasClass, ours[a].params, ours[a].inbound], [ours[b].kerasClass, ours[b].params, ours[b].inbound]);
  assert.deepEqual([ours[a].kerasClass, ours[a].params], ['Conv2D', 12288]);
  // The order a different topological sort would give: the two exchange positions, every reference follows.
  const move = (p: number) => (p === a ? b : p === b ? a : p);
  const swapped: DescribedLayer[] = ours.map((_, i) => ({ ...ours[move(i)], inbound: ours[move(i)].inbound.map(move) }));
  const diffs = compareWithListing(swapped, listing);
  // Class and parameter counts agree everywhere; the wiring shows the swap, at the two layers that read the convolutions.
  assert.deepEqual([a, b], [28, 18]);
  assert.deepEqual(diffs, [
    '#19 (batch_normalization_8, Keras batch_normalization_9): inputs from #[28], Keras #[18]',
    '#32 (batch_normalization_5, Keras batch_normalization_6): inputs from #[18], Keras #[28]',
  ]);
});
