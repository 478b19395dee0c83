/**
 * Matching class indices between two iterators whose folder names differ. The chest-CT dataset's test
 * split names its folders `adenocarcinoma` while train/valid use
 * `adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib`; Keras would silently give both the same indices only
 * because the sorted orders happen to agree. No Keras original: our own helper.
 */
import { invalidParameterError } from '../util/validate';
import type { DirectoryIterator } from './directory-iterator';
import { ClassMismatchError } from './errors';

/** How to pair classes: by sorted position, by shared prefix, or by an explicit other→reference map. */
export type ClassAlignmentStrategy = 'position' | 'prefix' | Record<string, string>;

/** Options of {@link alignClassIndices}. */
export interface AlignClassIndicesArgs {
  /** Pairing strategy; default `'prefix'`. */
  by?: ClassAlignmentStrategy;
}

/** One matched pair. */
export interface ClassPair {
  /** Class name in `other`. */
  other: string;
  /** Its index in `other`. */
  otherIndex: number;
  /** The matching class name in `reference`. */
  reference: string;
  /** Its index in `reference` (the label to use). */
  referenceIndex: number;
}

/** Result of {@link alignClassIndices}. */
export interface ClassAlignment {
  /** Matched pairs, in `other` index order. */
  pairs: ClassPair[];
  /** `other` index → `reference` index (−1 when unmatched). */
  otherToReference: Int32Array;
  /** True when names and indices are identical already. */
  identical: boolean;
  /** True when every class on both sides is matched one-to-one with the same index. */
  sameIndices: boolean;
  /** Classes of `other` with no match. */
  unmatchedOther: string[];
  /** Classes of `reference` with no match. */
  unmatchedReference: string[];
  /** A printable table of the pairs. */
  table: string;
}

type Source = DirectoryIterator | Record<string, number>;

function indicesOf(s: Source): Record<string, number> {
  if (s !== null && typeof s === 'object' && 'classIndices' in s && typeof (s as DirectoryIterator).classIndices === 'object') {
    return (s as DirectoryIterator).classIndices;
  }
  if (s !== null && typeof s === 'object') return s as Record<string, number>;
  throw invalidParameterError('reference', 'DirectoryIterator or Record<string, number>', s);
}

function sortedByIndex(ci: Record<string, number>): string[] {
  return Object.keys(ci).sort((a, b) => ci[a] - ci[b]);
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

/**
 * Pairs the classes of `other` with those of `reference`.
 *
 * - `'position'`: the i-th class of each (by index) are paired (needs equal counts).
 * - `'prefix'` (default): names are paired when one, lower-cased with punctuation removed, starts with
 *   the other (`adenocarcinoma` ↔ `adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib`); each may match once,
 *   and an ambiguous name (several candidates) stays unmatched.
 * - a record `{ otherName: referenceName }`: explicit.
 *
 * @param reference - the iterator (or class indices) whose labels the model was trained with
 * @param other - the iterator (or class indices) to relabel
 * @param args - `{ by }`, see above
 * @returns the {@link ClassAlignment}, with a printable `table`
 * @throws {TypeError} for a bad `by`; {@link RangeError} for `'position'` with different class counts
 * @example
 * const a = alignClassIndices(train, test, { by: 'prefix' });
 * console.log(a.table);
 */
export function alignClassIndices(reference: Source, other: Source, args: AlignClassIndicesArgs = {}): ClassAlignment {
  const ref = indicesOf(reference);
  const oth = indicesOf(other);
  const by = args.by ?? 'prefix';
  const refNames = sortedByIndex(ref);
  const othNames = sortedByIndex(oth);
  const match = new Map<string, string>();
  if (by === 'position') {
    if (refNames.length !== othNames.length) {
      throw new RangeError(`Cannot align classes by position: reference has ${refNames.length} classes, other has ${othNames.length}. Use by: 'prefix' or an explicit mapping.`);
    }
    othNames.forEach((n, i) => match.set(n, refNames[i]));
  } else if (by === 'prefix') {
    const used = new Set<string>();
    for (const o of othNames) {
      const no = normalise(o);
      const cands = refNames.filter((r) => {
        const nr = normalise(r);
        return nr.length > 0 && no.length > 0 && (nr.startsWith(no) || no.startsWith(nr));
      });
      const exact = cands.filter((r) => r === o);
      const pick = exact.length === 1 ? exact : cands;
      if (pick.length === 1 && !used.has(pick[0])) {
        match.set(o, pick[0]);
        used.add(pick[0]);
      }
    }
  } else if (by !== null && typeof by === 'object' && !Array.isArray(by)) {
    for (const [o, r] of Object.entries(by)) {
      if (!(o in oth)) throw invalidParameterError(`by['${o}']`, `a class of other (${othNames.join(', ')})`, o);
      if (!(r in ref)) throw invalidParameterError(`by['${o}']`, `a class of reference (${refNames.join(', ')})`, r);
      match.set(o, r);
    }
  } else {
    throw invalidParameterError('by', "'position', 'prefix' or a Record<otherName, referenceName>", by);
  }
  const pairs: ClassPair[] = [];
  const otherToReference = new Int32Array(othNames.length).fill(-1);
  for (const o of othNames) {
    const r = match.get(o);
    if (r === undefined) continue;
    pairs.push({ other: o, otherIndex: oth[o], reference: r, referenceIndex: ref[r] });
    if (oth[o] >= 0 && oth[o] < otherToReference.length) otherToReference[oth[o]] = ref[r];
  }
  const matchedRef = new Set(pairs.map((p) => p.reference));
  const unmatchedOther = othNames.filter((o) => !match.has(o));
  const unmatchedReference = refNames.filter((r) => !matchedRef.has(r));
  const sameIndices = unmatchedOther.length === 0 && unmatchedReference.length === 0 && pairs.every((p) => p.otherIndex === p.referenceIndex);
  const identical = sameIndices && pairs.every((p) => p.other === p.reference);
  const rows: string[][] = [['other', 'index', '→', 'reference', 'index']];
  for (const p of pairs) rows.push([p.other, String(p.otherIndex), '→', p.reference, String(p.referenceIndex)]);
  for (const o of unmatchedOther) rows.push([o, String(oth[o]), '→', '(no match)', '-']);
  for (const r of unmatchedReference) rows.push(['(no match)', '-', '→', r, String(ref[r])]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const table = rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
  return { pairs, otherToReference, identical, sameIndices, unmatchedOther, unmatchedReference, table };
}

/**
 * A warning text when two iterators' class sets differ, or `null` when names and indices agree.
 *
 * @param reference - e.g. the training iterator
 * @param other - e.g. the test iterator
 * @param names - labels used in the text; default `['reference', 'other']`
 * @returns the warning (with the prefix-alignment table and what to do) or null
 */
export function describeClassMismatch(reference: Source, other: Source, names: [string, string] = ['reference', 'other']): string | null {
  const a = alignClassIndices(reference, other, { by: 'prefix' });
  if (a.identical) return null;
  const lines = [
    `Warning: the class folders of ${names[1]} differ from those of ${names[0]}; labels are assigned by sorted folder name, so they only line up if the orders agree.`,
    a.sameIndices
      ? `Matching by name prefix pairs every class with the same index, so the labels agree:`
      : `Matching by name prefix gives DIFFERENT indices or unmatched classes — relabel with alignClassIndices(...).otherToReference before evaluating:`,
    a.table,
  ];
  return lines.join('\n');
}

/**
 * Checks that `other` labels the same classes as `reference` with the same indices, before any
 * scoring compares their labels (`fit`'s `validationData`, `evaluate`, `predictIterator`).
 *
 * - Same names, same indices: returns null.
 * - Different names that pair one-to-one with the same indices by name prefix (the chest-CT test
 *   split's `adenocarcinoma` ↔ `adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib`): returns the alignment
 *   table as text, for the caller to print (the labels agree; the pairing is made visible).
 * - Anything else (a class only one side has, or different indices): throws.
 *
 * @param reference - class names of the training source, index = label
 * @param other - class names of the validation or evaluation source, index = label
 * @param names - how the two are called in messages, e.g. `['the training data', 'validationData']`
 * @returns null, or the alignment text to print
 * @throws {ClassMismatchError} naming the classes each side lacks and what to do
 * @example
 * const note = checkSameClasses(train.classNames, valid.classNames, ['the training data', 'validationData']);
 * if (note !== null) console.warn(note);
 */
export function checkSameClasses(reference: readonly string[], other: readonly string[], names: [string, string]): string | null {
  const ref = Object.fromEntries(reference.map((c, i) => [c, i]));
  const oth = Object.fromEntries(other.map((c, i) => [c, i]));
  const a = alignClassIndices(ref, oth, { by: 'prefix' });
  if (a.identical) return null;
  if (a.sameIndices) {
    return `Note: the class folders of ${names[1]} are named differently from those of ${names[0]}; matched by name prefix they pair with the same indices, so the labels agree:\n${a.table}`;
  }
  const onlyRef = reference.filter((c) => !(c in oth));
  const onlyOther = other.filter((c) => !(c in ref));
  const parts = [
    onlyOther.length > 0 ? `classes only in ${names[1]}: ${onlyOther.join(', ')}` : '',
    onlyRef.length > 0 ? `classes only in ${names[0]}: ${onlyRef.join(', ')}` : '',
    onlyRef.length === 0 && onlyOther.length === 0 ? 'the same names carry different indices' : '',
  ].filter((p) => p !== '');
  throw new ClassMismatchError(
    `The classes of ${names[1]} [${other.join(', ')}] do not line up with those of ${names[0]} [${reference.join(', ')}] (${parts.join('; ')}), ` +
      `so its labels would be scored against the wrong classes. Make both folders hold the same class subfolders, ` +
      `or create the iterator with classes: [${reference.map((c) => `'${c}'`).join(', ')}] (only those folders, in the training order), ` +
      `or relabel explicitly with alignClassIndices(...) and predictIterator's labelMap. Alignment by name prefix:\n${a.table}`,
    [...reference],
    [...other],
  );
}
