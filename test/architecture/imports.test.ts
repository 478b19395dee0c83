// The import graph of src/ (issue 12): no cycle, and no arrow that points up the layers.
//
// The layers, bottom to top (an area may import its own files and any area strictly below it):
//
//   util                         validation, seeds, randomness, the TransferlabError base
//   layers, runtime              side layers, importable by every area above util, importing only
//                                util: `layers` holds Keras-semantics layers (applications and
//                                training build with them); `runtime` chooses the backend, shows
//                                progress and talks to the notebook (data reports download
//                                progress through it, plots display through it, notebooks read
//                                their parameters through it)
//   data                         downloads, archives, the phantom dataset
//   preprocessing                image I/O, augmentation, directory iterators
//   applications                 InceptionV3, PhantomNet, weights
//   acceleration                 prefix engines (ONNX Runtime, TF.js), the feature cache; engine
//                                contracts live here, so it needs nothing from training
//   training                     fit, evaluate, the batch queue, callbacks, reports
//   plots                        figures of training results
//   cli                          the notebook runner and the `transferlab` command
//   src/index.ts                 re-exports only
//
// The graph is read with TypeScript's own scanner (ts.preProcessFile): static imports,
// `export ... from`, `import type` (a type arrow is an arrow of the design too) and dynamic
// `import()`. Only relative specifiers that resolve to a file under src/ count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..', '..');
const src = path.join(root, 'src');

/** Rank of each area; an import must go to the same area or to a strictly lower rank. */
const RANK: Record<string, number> = {
  util: 0,
  layers: 1,
  runtime: 1,
  data: 2,
  preprocessing: 3,
  applications: 4,
  acceleration: 5,
  training: 6,
  plots: 7,
  cli: 8,
  'index.ts': 9,
};

/**
 * Edges allowed for now although they break a rule, each with its reason. Empty is the goal; the
 * test also fails when a listed edge is gone, so the list only shrinks.
 */
const KNOWN_EXCEPTIONS: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function resolve(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (candidate.startsWith(src + path.sep) && fs.existsSync(candidate) && fs.statSync(candidate).isFile() && candidate.endsWith('.ts')) return candidate;
  }
  return undefined;
}

/** `src/<area>/...` → area; `src/index.ts` → 'index.ts'. */
function areaOf(file: string): string {
  return path.relative(src, file).split(path.sep)[0];
}

const rel = (file: string): string => path.relative(root, file).split(path.sep).join('/');

/** file → the src/ files it imports (relative specifiers only). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((s) => s.startsWith('./') || s.startsWith('../'))
      .map((s) => resolve(file, s))
      .filter((t): t is string => t !== undefined);
    graph.set(rel(file), [...new Set(targets.map(rel))].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan), each sorted. */
function cycles(graph: Map<string, string[]>, skip: (edge: string) => boolean): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (skip(`${v} -> ${w}`)) continue;
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!order.has(v)) visit(v);
  return found;
}

function upwardArrows(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = areaOf(path.join(root, from));
    for (const to of targets) {
      const b = areaOf(path.join(root, to));
      if (a === b) continue;
      assert.ok(a in RANK && b in RANK, `an area without a rank: ${a} or ${b}; add it to RANK and to the comment above`);
      if (RANK[b] >= RANK[a]) out.push(`${from} -> ${to}`);
    }
  }
  return out.sort();
}

test('the scanner sees the imports (sanity: a known arrow and every area)', () => {
  const graph = importGraph();
  assert.ok((graph.get('src/index.ts') ?? []).includes('src/training/index.ts'));
  assert.ok((graph.get('src/data/errors.ts') ?? []).includes('src/util/errors.ts'));
  const areas = new Set([...graph.keys()].map((f) => areaOf(path.join(root, f))));
  assert.deepEqual([...areas].sort(), Object.keys(RANK).sort());
});

test('src/ has no import cycle', () => {
  const graph = importGraph();
  assert.deepEqual(cycles(graph, (edge) => edge in KNOWN_EXCEPTIONS), [], 'files that import each other (directly or around a loop)');
});

test('no import points up the layers (util < layers, runtime < data < preprocessing < applications < acceleration < training < plots < cli)', () => {
  const graph = importGraph();
  const up = upwardArrows(graph).filter((edge) => !(edge in KNOWN_EXCEPTIONS));
  assert.deepEqual(up, [], 'move the shared piece down, or the importing code up');
});

test('every known exception still exists (the list only shrinks)', () => {
  const graph = importGraph();
  const edges = new Set([...graph].flatMap(([from, targets]) => targets.map((to) => `${from} -> ${to}`)));
  assert.deepEqual(Object.keys(KNOWN_EXCEPTIONS).filter((edge) => !edges.has(edge)), []);
});

test('the checks find a cycle and an upward arrow in a graph that has them', () => {
  const graph = new Map([
    ['src/util/a.ts', ['src/training/b.ts']],
    ['src/training/b.ts', ['src/util/a.ts']],
  ]);
  assert.deepEqual(cycles(graph, () => false), [['src/training/b.ts', 'src/util/a.ts']]);
  assert.deepEqual(upwardArrows(graph), ['src/util/a.ts -> src/training/b.ts']);
});
