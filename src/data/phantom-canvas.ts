/**
 * The phantom's drawing primitives on a Float32 grayscale canvas: anti-aliased soft ellipses and
 * capsules, a separable box blur, and a table of normal deviates for image noise.
 */

/** A Float32 grayscale canvas, values nominally in [0, 1]. */
export interface Canvas {
  width: number;
  height: number;
  data: Float32Array;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Paints an anti-aliased, optionally soft-edged, rotated ellipse: each pixel moves towards `value`
 * by its coverage (from the signed distance to the edge, first-order) times `alpha`.
 * With `onlyBelow`, pixels whose current value is not below it are left alone (clipping to lungs).
 */
export function paintEllipse(
  c: Canvas, cx: number, cy: number, rx: number, ry: number, angle: number, value: number,
  alpha = 1, soft = 1, onlyBelow = Infinity,
): void {
  if (rx <= 0 || ry <= 0) return;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const r = Math.max(rx, ry) + soft + 1;
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(c.width - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(c.height - 1, Math.ceil(cy + r));
  const irx2 = 1 / (rx * rx);
  const iry2 = 1 / (ry * ry);
  const d = c.data;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    let i = y * c.width + x0;
    for (let x = x0; x <= x1; x++, i++) {
      const dx = x + 0.5 - cx;
      const u = dx * cos + dy * sin;
      const w = -dx * sin + dy * cos;
      const f = u * u * irx2 + w * w * iry2 - 1;
      const g = 2 * Math.sqrt(u * u * irx2 * irx2 + w * w * iry2 * iry2);
      const sd = g > 0 ? f / g : -Infinity;
      const cov = clamp01(0.5 - sd / soft);
      if (cov <= 0 || d[i] >= onlyBelow) continue;
      d[i] += (value - d[i]) * cov * alpha;
    }
  }
}

/** Paints an anti-aliased capsule (thick line segment) from (x0, y0) to (x1, y1) with radius r. */
export function paintSegment(c: Canvas, ax: number, ay: number, bx: number, by: number, r: number, value: number, onlyBelow = Infinity): void {
  const xa = Math.max(0, Math.floor(Math.min(ax, bx) - r - 1));
  const xb = Math.min(c.width - 1, Math.ceil(Math.max(ax, bx) + r + 1));
  const ya = Math.max(0, Math.floor(Math.min(ay, by) - r - 1));
  const yb = Math.min(c.height - 1, Math.ceil(Math.max(ay, by) + r + 1));
  const vx = bx - ax;
  const vy = by - ay;
  const len2 = vx * vx + vy * vy || 1e-9;
  const d = c.data;
  for (let y = ya; y <= yb; y++) {
    let i = y * c.width + xa;
    for (let x = xa; x <= xb; x++, i++) {
      const px = x + 0.5 - ax;
      const py = y + 0.5 - ay;
      let t = (px * vx + py * vy) / len2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * vx;
      const ey = py - t * vy;
      const cov = clamp01(0.5 - (Math.sqrt(ex * ex + ey * ey) - r));
      if (cov <= 0 || d[i] >= onlyBelow) continue;
      d[i] += (value - d[i]) * cov;
    }
  }
}

/** In-place separable box blur with edge clamping (running sums, O(pixels) per pass). */
export function boxBlur(c: Canvas, radius: number): void {
  if (radius < 1) return;
  const { width: w, height: h, data } = c;
  const tmp = new Float32Array(Math.max(w, h));
  const norm = 1 / (2 * radius + 1);
  const pass = (len: number, count: number, stride: number, step: number) => {
    for (let k = 0; k < count; k++) {
      const base = k * stride;
      let sum = 0;
      for (let j = -radius; j <= radius; j++) sum += data[base + Math.min(len - 1, Math.max(0, j)) * step];
      for (let j = 0; j < len; j++) {
        tmp[j] = sum * norm;
        sum += data[base + Math.min(len - 1, j + radius + 1) * step] - data[base + Math.max(0, j - radius) * step];
      }
      for (let j = 0; j < len; j++) data[base + j * step] = tmp[j];
    }
  };
  pass(w, h, w, 1);
  pass(h, w, 1, w);
}

const NORMAL_TABLE_SIZE = 1 << 16; // indexed by 16 random bits
let NORMALS: Float32Array | null = null;

/** 65 536 standard normal deviates at evenly spaced quantiles (inverse CDF by bisection on erf), built once. */
export function normalTable(): Float32Array {
  if (NORMALS) return NORMALS;
  const t = new Float32Array(NORMAL_TABLE_SIZE);
  // Abramowitz–Stegun 7.1.26 erf, accurate to 1.5e-7: plenty for image noise.
  const erf = (x: number) => {
    const s = Math.sign(x);
    const a = Math.abs(x);
    const k = 1 / (1 + 0.3275911 * a);
    const y = 1 - ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-a * a);
    return s * y;
  };
  for (let i = 0; i < NORMAL_TABLE_SIZE; i++) {
    const p = (i + 0.5) / NORMAL_TABLE_SIZE;
    let lo = -6;
    let hi = 6;
    for (let k = 0; k < 40; k++) {
      const mid = (lo + hi) / 2;
      if (0.5 * (1 + erf(mid / Math.SQRT2)) < p) lo = mid;
      else hi = mid;
    }
    t[i] = (lo + hi) / 2;
  }
  NORMALS = t;
  return t;
}

