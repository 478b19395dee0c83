/**
 * A small static SVG renderer for line charts: axes, "nice" ticks, grid, title, axis titles,
 * polylines with circle markers and a legend. It needs no browser, so figures have an image for
 * viewers without JavaScript (GitHub, untrusted notebooks) and something tests can check.
 */
import { escapeHtml } from '../runtime/display';
import type { Figure, FigureLayout, ScatterTrace } from './figure-model';
import { formatTick, niceTicks } from './ticks';

function fmt(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}

/** Splits a trace into runs of finite points (NaN leaves a gap). */
function segments(trace: ScatterTrace, px: (x: number) => number, py: (y: number) => number): string[][] {
  const out: string[][] = [];
  let run: string[] = [];
  trace.y.forEach((y, i) => {
    const x = trace.x[i] as number;
    if (Number.isFinite(y) && Number.isFinite(x)) run.push(`${fmt(px(x))},${fmt(py(y))}`);
    else if (run.length > 0) { out.push(run); run = []; }
  });
  if (run.length > 0) out.push(run);
  return out;
}

/**
 * Renders a figure's traces and layout as a standalone SVG document.
 *
 * @param fig - `{ data, layout }` (an existing `svg` field is ignored); `layout.yaxis.range`, when
 *   set, fixes the y axis (extended to round ticks)
 * @returns SVG text (`<svg xmlns=...>...</svg>`), one `<polyline>` per run of finite points of each trace
 * @example
 * const svg = renderSvg(lineChart([{ name: 'loss', y: [1, 0.5] }]));
 */
export function renderSvg(fig: { data: ScatterTrace[]; layout: FigureLayout } | Figure): string {
  const { data, layout } = fig;
  const W = layout.width;
  const H = layout.height;
  const title = layout.title.text;
  const legendW = layout.showlegend && data.length > 0
    ? Math.min(W / 3, 36 + 7 * Math.max(...data.map((t) => t.name.length)))
    : 0;
  const m = { left: 64, right: 16 + legendW, top: title ? 44 : 16, bottom: layout.xaxis.title.text ? 52 : 36 };
  const pw = Math.max(10, W - m.left - m.right);
  const ph = Math.max(10, H - m.top - m.bottom);

  const xs = data.flatMap((t) => t.x.filter((v, i) => Number.isFinite(v) && Number.isFinite(t.y[i] as number)));
  const ys = data.flatMap((t) => t.y.filter((v) => Number.isFinite(v)));
  const integerX = xs.every((v) => Number.isInteger(v));
  const xt = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, Math.min(8, Math.max(1, xs.length - 1)), integerX);
  const yRange = layout.yaxis.range;
  const yt = yRange ? niceTicks(yRange[0], yRange[1], 5) : niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5);
  const px = (x: number): number => m.left + ((x - xt.min) / (xt.max - xt.min)) * pw;
  const py = (y: number): number => m.top + ph - ((y - yt.min) / (yt.max - yt.min)) * ph;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title || 'Figure')}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<title>${escapeHtml(title || 'Figure')}</title>`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  if (title) parts.push(`<text class="title" x="${fmt(m.left + pw / 2)}" y="26" text-anchor="middle" font-size="16">${escapeHtml(title)}</text>`);

  // Grid and ticks.
  const grid: string[] = [];
  for (const v of yt.values) {
    const y = fmt(py(v));
    grid.push(`<line x1="${m.left}" y1="${y}" x2="${fmt(m.left + pw)}" y2="${y}" stroke="#e5e5e5"/>`);
    grid.push(`<text x="${m.left - 6}" y="${y}" dy="0.32em" text-anchor="end" fill="#444444">${formatTick(v, yt.step)}</text>`);
  }
  for (const v of xt.values) {
    const x = fmt(px(v));
    grid.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${fmt(m.top + ph)}" stroke="#f0f0f0"/>`);
    grid.push(`<text x="${x}" y="${fmt(m.top + ph + 16)}" text-anchor="middle" fill="#444444">${formatTick(v, xt.step)}</text>`);
  }
  parts.push(`<g class="grid">${grid.join('')}</g>`);
  parts.push(`<g class="axes" stroke="#444444"><line x1="${m.left}" y1="${fmt(m.top + ph)}" x2="${fmt(m.left + pw)}" y2="${fmt(m.top + ph)}"/><line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${fmt(m.top + ph)}"/></g>`);
  if (layout.xaxis.title.text) {
    parts.push(`<text class="xtitle" x="${fmt(m.left + pw / 2)}" y="${H - 12}" text-anchor="middle" font-size="13">${escapeHtml(layout.xaxis.title.text)}</text>`);
  }
  if (layout.yaxis.title.text) {
    const cy = fmt(m.top + ph / 2);
    parts.push(`<text class="ytitle" x="16" y="${cy}" text-anchor="middle" font-size="13" transform="rotate(-90 16 ${cy})">${escapeHtml(layout.yaxis.title.text)}</text>`);
  }

  // Traces.
  for (const t of data) {
    const dash = t.line.dash === 'dash' ? ' stroke-dasharray="6 4"' : '';
    const g: string[] = [`<g class="trace" data-name="${escapeHtml(t.name)}">`];
    const runs = segments(t, px, py);
    if (t.mode !== 'markers') {
      for (const run of runs) g.push(`<polyline fill="none" stroke="${t.line.color}" stroke-width="2"${dash} points="${run.join(' ')}"/>`);
    }
    if (t.mode !== 'lines') {
      const r = fmt(t.marker.size / 2);
      for (const p of runs.flat()) {
        const [cx, cy] = p.split(',');
        g.push(`<circle cx="${cx}" cy="${cy}" r="${r}" fill="${t.marker.color}"/>`);
      }
    }
    g.push('</g>');
    parts.push(g.join(''));
  }

  // Legend.
  if (legendW > 0) {
    const lx = m.left + pw + 14;
    const items = data.map((t, i) => {
      const y = m.top + 8 + i * 20;
      const dash = t.line.dash === 'dash' ? ' stroke-dasharray="6 4"' : '';
      const marker = t.mode === 'lines' ? '' : `<circle cx="${lx + 11}" cy="${y}" r="3" fill="${t.marker.color}"/>`;
      return `<g class="legend-item"><line x1="${lx}" y1="${y}" x2="${lx + 22}" y2="${y}" stroke="${t.line.color}" stroke-width="2"${dash}/>` +
        marker +
        `<text x="${lx + 28}" y="${y}" dy="0.32em">${escapeHtml(t.name)}</text></g>`;
    });
    parts.push(`<g class="legend">${items.join('')}</g>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}
