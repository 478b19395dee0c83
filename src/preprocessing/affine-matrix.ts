/**
 * The sampling matrix of Keras's `apply_affine_transform`, ported from
 * `keras/src/legacy/preprocessing/image.py` (`apply_affine_transform`'s matrix product,
 * `transform_matrix_offset_center`), in the row/column form scipy receives for a channels-last
 * image (see `affine.ts` for why the first coordinate is the column). Resampling is `affine.ts`'s.
 */

/** A 3×3 homogeneous matrix, row-major: `[[a, b, c], [d, e, f], [0, 0, 1]]`. */
export type Matrix3 = [number, number, number, number, number, number, number, number, number];

function matmul(a: Matrix3, b: Matrix3): Matrix3 {
  const out = new Array(9).fill(0) as Matrix3;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[i * 3 + k] * b[k * 3 + j];
      out[i * 3 + j] = s;
    }
  }
  return out;
}

/**
 * Keras `transform_matrix_offset_center`: conjugates `matrix` by a translation to `(x/2 - 0.5, y/2 - 0.5)`
 * so that it acts about the centre.
 *
 * @param matrix - 3×3 transform
 * @param x - size along the first coordinate (Keras passes the row count here)
 * @param y - size along the second coordinate (Keras passes the column count)
 * @returns `offset · matrix · reset`
 * @example
 * transformMatrixOffsetCenter([1, 0, 0, 0, 1, 0, 0, 0, 1], 4, 4); // identity
 */
export function transformMatrixOffsetCenter(matrix: Matrix3, x: number, y: number): Matrix3 {
  const ox = x / 2 - 0.5;
  const oy = y / 2 - 0.5;
  const offset: Matrix3 = [1, 0, ox, 0, 1, oy, 0, 0, 1];
  const reset: Matrix3 = [1, 0, -ox, 0, 1, -oy, 0, 0, 1];
  return matmul(matmul(offset, matrix), reset);
}

/** Parameters of {@link affineMatrix}, as Keras `apply_affine_transform` (angles in degrees). */
export interface AffineParams {
  /** Rotation angle in degrees; default 0. */
  theta?: number;
  /** Shift along the first matrix coordinate (columns for channels-last images), pixels; default 0. */
  tx?: number;
  /** Shift along the second matrix coordinate (rows), pixels; default 0. */
  ty?: number;
  /** Shear angle in DEGREES; default 0. */
  shear?: number;
  /** Zoom along the first coordinate (columns); default 1. */
  zx?: number;
  /** Zoom along the second coordinate (rows); default 1. */
  zy?: number;
}

/**
 * The sampling matrix scipy receives from Keras for a channels-last `[h, w, c]` image, or `null` when
 * Keras skips the transform (all parameters neutral). `out[r, c] = in[A·(r, c) + offset]` where
 * `A = [m[0], m[1]; m[3], m[4]]` and `offset = (m[2], m[5])`.
 *
 * @param params - rotation/shift/shear/zoom
 * @param h - image height (rows)
 * @param w - image width (columns)
 * @returns the row/column sampling matrix, or `null` for the identity
 * @example
 * affineMatrix({ tx: 2 }, 5, 5); // [1, 0, 0, 0, 1, 2, 0, 0, 1]: column + 2
 */
export function affineMatrix(params: AffineParams, h: number, w: number): Matrix3 | null {
  const theta = params.theta ?? 0;
  const tx = params.tx ?? 0;
  const ty = params.ty ?? 0;
  const shear = params.shear ?? 0;
  const zx = params.zx ?? 1;
  const zy = params.zy ?? 1;
  let m: Matrix3 | null = null;
  if (theta !== 0) {
    const t = theta * (Math.PI / 180);
    m = [Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t), 0, 0, 0, 1];
  }
  if (tx !== 0 || ty !== 0) {
    const s: Matrix3 = [1, 0, tx, 0, 1, ty, 0, 0, 1];
    m = m === null ? s : matmul(m, s);
  }
  if (shear !== 0) {
    const s = shear * (Math.PI / 180);
    const sh: Matrix3 = [1, -Math.sin(s), 0, 0, Math.cos(s), 0, 0, 0, 1];
    m = m === null ? sh : matmul(m, sh);
  }
  if (zx !== 1 || zy !== 1) {
    const z: Matrix3 = [zx, 0, 0, 0, zy, 0, 0, 0, 1];
    m = m === null ? z : matmul(m, z);
  }
  if (m === null) return null;
  const c = transformMatrixOffsetCenter(m, h, w);
  // Channels-last: swap the first two rows and columns (Keras: col_axis > row_axis).
  return [c[4], c[3], c[5], c[1], c[0], c[2], 0, 0, 1];
}
