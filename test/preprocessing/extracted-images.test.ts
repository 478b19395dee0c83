import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { checkExtractedImages } from '../../src/preprocessing/extracted-images';
import { ExtractedImagesMismatchError } from '../../src/preprocessing/errors';

const dest = path.resolve('/data/chest-ct');
const files = ['Data/train/a/1.png', 'Data/train/a/2.png', 'Data/train/b/3.jpg', 'Data/train/notes.txt', 'Data/train/b/readme.md', 'Data/test/a/9.png'];
const iterator = (dir: string, classes: string[], found: string[]) => ({
  directory: path.join(dest, dir),
  classIndices: Object.fromEntries(classes.map((c, i) => [c, i])),
  filepaths: found.map((f) => path.join(dest, dir, f)),
});

test('counts the images extracted into each iterator folder and those found, ignoring what Keras ignores', () => {
  const report = checkExtractedImages({ dest, files }, {
    train: iterator('Data/train', ['a', 'b'], ['a/1.png', 'a/2.png', 'b/3.jpg']),
    test: iterator('Data/test', ['a'], ['a/9.png']),
  });
  assert.deepEqual(report, { extracted: 4, found: 4, byName: { train: { extracted: 3, found: 3 }, test: { extracted: 1, found: 1 } } });
});

test('leftovers of an earlier run in the folder are an error naming the iterator, both counts and examples', () => {
  assert.throws(
    () => checkExtractedImages({ dest, files }, { train: iterator('Data/train', ['a', 'b'], ['a/1.png', 'a/2.png', 'b/3.jpg', 'a/old-1.png', 'b/old-2.png']) }),
    (e: unknown) => {
      assert.ok(e instanceof ExtractedImagesMismatchError);
      assert.deepEqual([e.extracted, e.found, e.path], [3, 5, dest]);
      assert.equal(
        e.message,
        `Expected iterator train to find the 3 images extracted into ${path.join(dest, 'Data/train')} but it found 5: 2 not written by the extraction (e.g. a/old-1.png, b/old-2.png). ` +
          'The folder mixes data from elsewhere (an earlier run?); extract into a new folder or with overwrite: true, which replaces it.',
      );
      return true;
    },
  );
  assert.throws(() => checkExtractedImages({ dest, files }, { test: iterator('Data/test', ['a'], []) }), /found 0: 1 extracted but not found \(e\.g\. a\/9\.png\)/);
  assert.throws(() => checkExtractedImages({ dest, files }, { other: { directory: '/elsewhere', classIndices: {}, filepaths: [] } }), /Expected iterator other to read a folder inside the extracted/);
});
