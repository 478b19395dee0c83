/**
 * Renders one synthetic axial chest-CT slice (a phantom) into a Float32 canvas: body outline with a
 * fat layer, two lungs with branching vessels, heart, aorta, vertebra with spinal canal, ribs,
 * main bronchi, benign distractors in every class, and the class's finding. Then a cheap box blur,
 * Gaussian noise and a small gain/offset jitter, quantised to 8-bit grayscale.
 *
 * Coordinates: image x to the right, y down (anterior at the top, patient's left on the image's
 * right, the radiological convention). Anatomy is placed in "body units" (u, v) in [-1, 1] relative
 * to the body ellipse, then rotated and scaled per image.
 */
import type { Random } from '../util/random';
import { boxBlur, normalTable, paintEllipse, paintSegment, type Canvas } from './phantom-canvas';

/** Which finding to draw. */
export type PhantomFinding = 'adenocarcinoma' | 'large.cell.carcinoma' | 'normal' | 'squamous.cell.carcinoma';

/**
 * Where a finding was drawn, in image pixels (pixel (i, j) covers [i, i + 1) × [j, j + 1)), for
 * tests, teaching and scoring explanations. `null` for normal slices.
 */
export interface LesionBox {
  /** Centre, x. */
  x: number;
  /** Centre, y. */
  y: number;
  /** The blob's radius (pixels per body unit × its size); lobes may reach past it. */
  radius: number;
  /**
   * The box around every ellipse painted for the lesion (main blob and lobes), widened by its soft
   * edge and the image-formation blur, clipped to the image: `x0 ≤ x < x1`, `y0 ≤ y < y1`.
   */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Widest blur of image formation ({@link boxBlur} radius 2): how far a lesion's edge can spread. */
const BLUR_MARGIN = 2;

const LUNG = 0.1;
const ONLY_LUNG = 0.3;

/** The drawn anatomy of one slice: its canvas, body-unit mapping and the structures findings attach to. */
interface Frame {
  c: Canvas;
  /** Body units → image x. */
  X: (u: number, v: number) => number;
  /** Body units → image y. */
  Y: (u: number, v: number) => number;
  /** Pixels per body unit (the smaller half-axis of the body). */
  unit: number;
  /** Uniform jitter in [-a, a]. */
  j: (a: number) => number;
  /** Pixel box `[x0, y0, x1, y1]` of an ellipse in body units (as `ellipse` would paint it, before clipping), with its soft edge and the blur margin. */
  bounds: (u: number, v: number, ru: number, rv: number, a: number, soft: number) => [number, number, number, number];
  /** Paints an ellipse in body units. */
  ellipse: (u: number, v: number, ru: number, rv: number, a: number, value: number, alpha?: number, soft?: number, onlyBelow?: number) => void;
  /** The two lungs in body units: [0] image left (patient's right), [1] image right (patient's left). */
  lungs: Array<{ u: number; v: number; ru: number; rv: number; a: number }>;
  /** The main bronchi in body units, same order as `lungs`. */
  bronchi: Array<{ u: number; v: number }>;
}

/** Draws body, lungs, vessels, mediastinum, spine, ribs, bronchi and benign distractors. */
function drawAnatomy(rng: Random, width: number, height: number): Frame {
  const c: Canvas = { width, height, data: new Float32Array(width * height) };
  c.data.fill(0.02);
  const theta = rng.uniform(-5, 5) * (Math.PI / 180);
  const cx = width * (0.5 + rng.uniform(-0.03, 0.03));
  const cy = height * (0.5 + rng.uniform(-0.03, 0.03));
  const bw = width * rng.uniform(0.4, 0.47);
  const bh = height * rng.uniform(0.4, 0.46);
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const X = (u: number, v: number) => cx + u * bw * cos - v * bh * sin;
  const Y = (u: number, v: number) => cy + u * bw * sin + v * bh * cos;
  const unit = Math.min(bw, bh);
  const j = (a: number) => rng.uniform(-a, a);
  const ellipse = (u: number, v: number, ru: number, rv: number, a: number, value: number, alpha = 1, soft = 1, onlyBelow = Infinity) =>
    paintEllipse(c, X(u, v), Y(u, v), ru * bw, rv * bh, theta + a, value, alpha, soft, onlyBelow);
  const bounds = (u: number, v: number, ru: number, rv: number, a: number, soft: number): [number, number, number, number] => {
    const rx = ru * bw;
    const ry = rv * bh;
    const ca = Math.cos(theta + a);
    const sa = Math.sin(theta + a);
    const hx = Math.hypot(rx * ca, ry * sa) + soft / 2 + BLUR_MARGIN;
    const hy = Math.hypot(rx * sa, ry * ca) + soft / 2 + BLUR_MARGIN;
    return [X(u, v) - hx, Y(u, v) - hy, X(u, v) + hx, Y(u, v) + hy];
  };

  // Table under the patient, body with subcutaneous fat, muscle/soft tissue.
  paintSegment(c, 0, Y(0, 1.12), width, Y(0, 1.12), Math.max(1, unit * 0.02), 0.3);
  ellipse(0, 0, 1, 1, 0, 0.36);
  ellipse(0, 0.01, 0.93 + j(0.02), 0.91 + j(0.02), 0, 0.5);

  // Lungs (image left = patient's right lung, a little larger).
  const lungs = [
    { u: -0.43 + j(0.03), v: -0.03 + j(0.03), ru: 0.35 + j(0.03), rv: 0.66 + j(0.04), a: -0.12 + j(0.05) },
    { u: 0.45 + j(0.03), v: -0.01 + j(0.03), ru: 0.32 + j(0.03), rv: 0.63 + j(0.04), a: 0.12 + j(0.05) },
  ];
  for (const l of lungs) ellipse(l.u, l.v, l.ru, l.rv, l.a, LUNG + j(0.02));

  // Vessels: small trees from each hilum, clipped to the lungs.
  for (const side of [-1, 1]) {
    const hu = side * 0.2;
    const hv = 0.08;
    const branches = 6 + rng.int(4);
    for (let b = 0; b < branches; b++) {
      let ang = rng.uniform(-Math.PI, Math.PI);
      let x = X(hu, hv);
      let y = Y(hu, hv);
      let r = unit * rng.uniform(0.012, 0.022);
      const steps = 4 + rng.int(4);
      for (let s = 0; s < steps && r > 0.4; s++) {
        const len = unit * rng.uniform(0.06, 0.12);
        const nx = x + Math.cos(ang) * len * (side > 0 ? 1 : 1);
        const ny = y + Math.sin(ang) * len;
        paintSegment(c, x, y, nx, ny, r, 0.47 + j(0.04), ONLY_LUNG);
        if (rng.next() < 0.35) {
          const ba = ang + rng.uniform(0.4, 0.9) * (rng.next() < 0.5 ? -1 : 1);
          paintSegment(c, nx, ny, nx + Math.cos(ba) * len * 0.8, ny + Math.sin(ba) * len * 0.8, r * 0.6, 0.46, ONLY_LUNG);
        }
        x = nx;
        y = ny;
        ang += j(0.35);
        r *= rng.uniform(0.7, 0.85);
      }
    }
    // Vessel cross-sections: bright dots.
    const dots = 6 + rng.int(10);
    const l = lungs[side < 0 ? 0 : 1];
    for (let k = 0; k < dots; k++) {
      const t = rng.uniform(0, 2 * Math.PI);
      const rr = Math.sqrt(rng.next()) * 0.9;
      paintEllipse(c, X(l.u + Math.cos(t) * l.ru * rr, l.v + Math.sin(t) * l.rv * rr), Y(l.u + Math.cos(t) * l.ru * rr, l.v + Math.sin(t) * l.rv * rr),
        unit * rng.uniform(0.006, 0.014), unit * rng.uniform(0.006, 0.014), 0, 0.5, 1, 1, ONLY_LUNG);
    }
  }

  // Mediastinum: heart, aortas, pulmonary trunk; spine; ribs.
  ellipse(0.13 + j(0.04), -0.27 + j(0.04), 0.3 + j(0.03), 0.28 + j(0.03), -0.35 + j(0.1), 0.56 + j(0.02));
  ellipse(0.0 + j(0.02), -0.42 + j(0.03), 0.09, 0.1, 0, 0.6);
  ellipse(0.13 + j(0.02), 0.42 + j(0.03), 0.09 + j(0.01), 0.1 + j(0.01), 0, 0.6);
  ellipse(0, 0.63, 0.16, 0.16, 0, 0.95);
  ellipse(0, 0.63, 0.13, 0.13, 0, 0.74 + j(0.04));
  ellipse(0, 0.84, 0.06, 0.06, 0, 0.32);
  ellipse(0, 0.94, 0.035, 0.07, 0, 0.88);
  const ribs = 10 + rng.int(5);
  for (let k = 0; k < ribs; k++) {
    const t = (k / ribs) * 2 * Math.PI + j(0.1);
    if (Math.abs(Math.sin(t)) > 0.97) continue; // none straight over the sternum or spine
    ellipse(Math.cos(t) * 0.87, Math.sin(t) * 0.86, 0.035, 0.045, t, 0.88, 1, 1.2);
  }
  // Main bronchi: a soft-tissue wall, air inside.
  const bronchi = [
    { u: -0.11 + j(0.02), v: 0.12 + j(0.02) },
    { u: 0.12 + j(0.02), v: 0.14 + j(0.02) },
  ];
  for (const b of bronchi) {
    ellipse(b.u, b.v, 0.065, 0.07, 0, 0.5);
    ellipse(b.u, b.v, 0.045, 0.05, 0, 0.03);
  }

  // Benign distractors in every class: small nodules, a calcified granuloma, hilar lymph nodes.
  const nodules = rng.int(4);
  for (let k = 0; k < nodules; k++) {
    const l = lungs[rng.int(2)];
    const t = rng.uniform(0, 2 * Math.PI);
    const rr = Math.sqrt(rng.next()) * 0.8;
    const rad = rng.uniform(0.015, 0.04);
    ellipse(l.u + Math.cos(t) * l.ru * rr, l.v + Math.sin(t) * l.rv * rr, rad, rad, 0, rng.uniform(0.35, 0.52), 1, 1.5, ONLY_LUNG);
  }
  if (rng.next() < 0.25) {
    const l = lungs[rng.int(2)];
    ellipse(l.u + j(0.5) * l.ru, l.v + j(0.6) * l.rv, 0.013, 0.013, 0, 0.92, 1, 1, ONLY_LUNG);
  }
  if (rng.next() < 0.35) {
    const side = rng.next() < 0.5 ? -1 : 1;
    const rad = rng.uniform(0.035, 0.065);
    ellipse(side * rng.uniform(0.2, 0.27), rng.uniform(0.0, 0.15), rad, rad * rng.uniform(0.8, 1.2), 0, 0.5, 1, 1.5);
  }

  return { c, X, Y, unit, j, bounds, ellipse, lungs, bronchi };
}

/** A lobulated blob (optionally cavitated) centred at (u, v) in body units; returns where it was drawn. */
function drawBlob(f: Frame, rng: Random, u: number, v: number, rad: number, value: number, lobes: number, soft: number): LesionBox {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const paint = (eu: number, ev: number, ru: number, rv: number, a: number) => {
    f.ellipse(eu, ev, ru, rv, a, value, 1, soft);
    const b = f.bounds(eu, ev, ru, rv, a, soft);
    box[0] = Math.min(box[0], b[0]);
    box[1] = Math.min(box[1], b[1]);
    box[2] = Math.max(box[2], b[2]);
    box[3] = Math.max(box[3], b[3]);
  };
  const rv = rad * rng.uniform(0.8, 1.2); // drawn in the order the generator always drew them
  paint(u, v, rad, rv, f.j(1));
  for (let k = 0; k < lobes; k++) {
    const t = rng.uniform(0, 2 * Math.PI);
    const lr = rad * rng.uniform(0.4, 0.7);
    paint(u + Math.cos(t) * rad * 0.6, v + Math.sin(t) * rad * 0.6, lr, lr, 0);
  }
  const { width, height } = f.c;
  const clip = (z: number, hi: number) => Math.min(hi, Math.max(0, z));
  return {
    x: f.X(u, v), y: f.Y(u, v), radius: rad * f.unit,
    x0: clip(box[0], width), y0: clip(box[1], height), x1: clip(box[2], width), y1: clip(box[3], height),
  };
}

/** Draws the class's finding, always in the patient's left lung (image right). */
function drawFinding(f: Frame, rng: Random, finding: PhantomFinding): LesionBox | null {
  const { j, ellipse, bronchi } = f;
  const L = f.lungs[1];
  let lesion: LesionBox | null = null;
  const lesionBlob = (u: number, v: number, rad: number, value: number, lobes: number, soft: number) => {
    lesion = drawBlob(f, rng, u, v, rad, value, lobes, soft);
  };
  if (finding === 'adenocarcinoma') {
    // Peripheral nodule, lateral or posterior, lower half of the lung; sometimes small and faint.
    const t = rng.uniform(-0.9, 1.4);
    const faint = rng.next() < 0.3;
    const rad = faint ? rng.uniform(0.025, 0.045) : rng.uniform(0.045, 0.09);
    const inset = 0.72 - rad * 1.2;
    const value = LUNG + (faint ? rng.uniform(0.2, 0.32) : rng.uniform(0.3, 0.45));
    lesionBlob(L.u + Math.cos(t) * L.ru * inset, L.v + 0.15 + Math.sin(t) * L.rv * inset * 0.8, rad, value, 1 + rng.int(3), faint ? 2 : 1.5);
  } else if (finding === 'large.cell.carcinoma') {
    // Large lobulated mass at the left hilum.
    const rad = rng.uniform(0.11, 0.19);
    lesionBlob(0.33 + j(0.04), 0.1 + j(0.07), rad, rng.uniform(0.46, 0.56), 3 + rng.int(3), 1.5);
  } else if (finding === 'squamous.cell.carcinoma') {
    // Central mass hugging the left main bronchus; some cavitate.
    const b = bronchi[1];
    const rad = rng.uniform(0.07, 0.12);
    const u = b.u + 0.06 + rad * 0.7 + j(0.02);
    const v = b.v + j(0.08);
    lesionBlob(u, v, rad, rng.uniform(0.48, 0.56), 1 + rng.int(3), 1.2);
    ellipse(b.u, b.v, 0.03, 0.035, 0, 0.03); // narrowed bronchus
    if (rng.next() < 0.35) ellipse(u + j(rad * 0.3), v + j(rad * 0.3), rad * 0.35, rad * 0.3, j(1), 0.06, 1, 1.5);
  }

  return lesion;
}

/** Image formation: blur, noise, gain/offset, quantisation to 8 bits. */
function formImage(c: Canvas, rng: Random): Uint8Array {
  const { width, height } = c;
  // Image formation: blur, noise, gain/offset, quantise.
  boxBlur(c, width > 360 && rng.next() < 0.5 ? 2 : 1);
  const noise = rng.uniform(0.012, 0.035);
  const gain = rng.uniform(0.92, 1.08);
  const offset = rng.uniform(-0.03, 0.03);
  const pixels = new Uint8Array(width * height);
  const d = c.data;
  const scale = 255 * gain;
  const shift = 255 * offset;
  const table = normalTable();
  for (let i = 0; i < d.length; i += 2) {
    // One 32-bit draw gives two 16-bit indices into a fixed table of normal deviates
    // (several times cheaper than Box–Muller; this loop dominates the render).
    const bits = (rng.next() * 4294967296) >>> 0;
    const a = (d[i] + noise * table[bits & 0xffff]) * scale + shift;
    pixels[i] = a <= 0 ? 0 : a >= 255 ? 255 : Math.round(a);
    if (i + 1 < d.length) {
      const b = (d[i + 1] + noise * table[bits >>> 16]) * scale + shift;
      pixels[i + 1] = b <= 0 ? 0 : b >= 255 ? 255 : Math.round(b);
    }
  }
  return pixels;
}

/**
 * Renders one slice.
 *
 * @param rng - the image's own generator (one per image keeps images independent of order)
 * @param finding - the class's finding
 * @param width - image width in pixels
 * @param height - image height in pixels
 * @returns 8-bit grayscale pixels (row-major) and where the finding was drawn
 */
export function renderPhantomSlice(rng: Random, finding: PhantomFinding, width: number, height: number): { pixels: Uint8Array; lesion: LesionBox | null } {
  const frame = drawAnatomy(rng, width, height);
  const lesion = drawFinding(frame, rng, finding);
  return { pixels: formImage(frame.c, rng), lesion };
}

/** Which lung a source-task lesion sits in, in the patient's terms (image left = patient's right). */
export type LesionSide = 'right' | 'left';

/** Where in the lung a source-task lesion sits: by the hilum and main bronchus, or out towards the chest wall. */
export type LesionZone = 'central' | 'peripheral';

/** One lesion of a source-task slice (see {@link renderSourceSlice}). */
export interface LesionSite {
  side: LesionSide;
  zone: LesionZone;
}

/**
 * Renders one slice for the *source* task: the same anatomy, distractors and image formation as
 * {@link renderPhantomSlice}, but with lesions at the given sites, in either lung, each of a random
 * kind (small or faint nodule, lobulated mass, cavitated mass) and a random size — so what tells
 * the sites apart is where a lesion is, never what kind it is.
 *
 * @param rng - the image's own generator
 * @param sites - lesions to draw (empty for a slice without findings)
 * @param width - image width in pixels
 * @param height - image height in pixels
 * @returns 8-bit grayscale pixels and where each lesion was drawn
 */
export function renderSourceSlice(rng: Random, sites: readonly LesionSite[], width: number, height: number): { pixels: Uint8Array; lesions: LesionBox[] } {
  const frame = drawAnatomy(rng, width, height);
  const lesions: LesionBox[] = [];
  for (const site of sites) {
    const sign = site.side === 'left' ? 1 : -1;
    const L = frame.lungs[site.side === 'left' ? 1 : 0];
    const rad = rng.next() < 0.3 ? rng.uniform(0.025, 0.05) : rng.uniform(0.05, 0.16);
    const faint = rad < 0.05 && rng.next() < 0.5;
    const value = faint ? LUNG + rng.uniform(0.2, 0.32) : rng.uniform(0.4, 0.56);
    const lobes = rng.int(5);
    const soft = rng.uniform(1.1, 2);
    let u: number;
    let v: number;
    if (site.zone === 'central') {
      const b = frame.bronchi[site.side === 'left' ? 1 : 0];
      u = b.u + sign * (0.05 + rad * 0.7 + rng.uniform(0, 0.12));
      v = b.v + frame.j(0.1);
    } else {
      const t = rng.uniform(0, 2 * Math.PI);
      const inset = Math.max(0.3, 0.74 - rad * 1.2);
      u = L.u + Math.cos(t) * L.ru * inset;
      v = L.v + Math.sin(t) * L.rv * inset;
    }
    lesions.push(drawBlob(frame, rng, u, v, rad, value, lobes, soft));
    if (!faint && rad > 0.07 && rng.next() < 0.25) frame.ellipse(u + frame.j(rad * 0.3), v + frame.j(rad * 0.3), rad * 0.35, rad * 0.3, frame.j(1), 0.06, 1, 1.5);
  }
  return { pixels: formImage(frame.c, rng), lesions };
}
