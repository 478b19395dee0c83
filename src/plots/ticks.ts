/**
 * Round axis ticks ("nice numbers": steps of 1, 2, 2.5 or 5 × 10^k) and their labels, shared by
 * the figure model (plotly.js's `dtick` for epochs) and the SVG renderer.
 */

/** Ticks of an axis: the extended domain and the tick values in it. */
export interface AxisTicks {
  min: number;
  max: number;
  step: number;
  values: number[];
}

/**
 * Chooses about `count` round tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering `[lo, hi]`.
 *
 * @param lo - smallest data value
 * @param hi - largest data value
 * @param count - wanted number of intervals. Default 5
 * @param integer - only integer steps (epochs). Default false
 * @returns the domain extended to whole steps and the tick values
 * @example
 * niceTicks(0.13, 0.92); // { min: 0, max: 1, step: 0.2, values: [0, 0.2, 0.4, 0.6, 0.8, 1] }
 */
export function niceTicks(lo: number, hi: number, count = 5, integer = false): AxisTicks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
  if (integer) step = Math.max(1, Math.round(step));
  const eps = step * 1e-9;
  const min = Math.floor((lo + eps) / step) * step;
  const max = Math.ceil((hi - eps) / step) * step;
  const values: number[] = [];
  for (let i = 0; min + i * step <= max + eps; i++) values.push(roundTo(min + i * step, step));
  return { min: roundTo(min, step), max: roundTo(max, step), step, values };
}

function decimals(step: number): number {
  if (step >= 1 && Number.isInteger(step)) return 0;
  let d = Math.max(0, -Math.floor(Math.log10(step)));
  while (d < 12 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-9) d++;
  return d;
}

function roundTo(value: number, step: number): number {
  const d = decimals(step);
  return Number(value.toFixed(d));
}

/** Formats a tick label with as many decimals as the step needs. */
export function formatTick(value: number, step: number): string {
  const d = decimals(step);
  const text = value.toFixed(d);
  return Number(text) === 0 ? (0).toFixed(d) : text;
}
