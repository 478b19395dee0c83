/**
 * Progress reporting that suits where the code runs: a redrawn bar on a terminal, one updating
 * output in a notebook, and periodic plain lines in a batch log (CI, nohup, the headless runner's
 * stderr). Used by downloads and by training.
 */
import { createDisplayHandle, escapeHtml, inNotebook, type DisplayHandle } from './display';

/** How progress is shown. */
export type ProgressMode = 'bar' | 'notebook' | 'lines' | 'silent';

/** Options for {@link createProgress}. */
export interface ProgressArgs {
  /** Label printed before the bar, e.g. `'chest-ctscan-images.zip'` or `'Epoch 1/8'`. */
  label: string;
  /** Total units of work, or `undefined` when unknown. */
  total?: number;
  /** How to format amounts: `'bytes'` (KB/MB) or `'count'` (plain numbers). Default `'count'`. */
  unit?: 'bytes' | 'count';
  /** Force a mode; default: notebook when inside tslab, bar on a TTY, lines otherwise. */
  mode?: ProgressMode;
  /** Minimum milliseconds between printed lines in `'lines'` mode. Default 10000. */
  lineIntervalMs?: number;
  /** Stream used for `'bar'` and `'lines'`. Default `process.stderr`. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** A running progress report. */
export interface Progress {
  /** The mode chosen. */
  readonly mode: ProgressMode;
  /** Reports `done` units finished, with an optional suffix such as `'loss: 0.42'`. */
  update(done: number, suffix?: string): void;
  /** Final report; always printed (also in `'lines'` mode). */
  finish(suffix?: string): void;
}

/** Formats a byte count as `12.3 MB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}

/** Formats seconds as `1m 05s` / `42s` / `0.8s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Chooses the mode for the current process. */
export function defaultProgressMode(stream: { isTTY?: boolean } = process.stderr): ProgressMode {
  if (inNotebook()) return 'notebook';
  return stream.isTTY ? 'bar' : 'lines';
}

/**
 * Starts a progress report.
 *
 * @param args - see {@link ProgressArgs}
 * @returns a {@link Progress}; call `finish()` when done
 * @example
 * const p = createProgress({ label: 'download', total: size, unit: 'bytes' });
 * p.update(received);
 * p.finish();
 */
export function createProgress(args: ProgressArgs): Progress {
  const stream = args.stream ?? process.stderr;
  const mode = args.mode ?? defaultProgressMode(stream);
  const unit = args.unit ?? 'count';
  const lineIntervalMs = args.lineIntervalMs ?? 10_000;
  const started = Date.now();
  let lastLine = 0;
  let lastBar = 0;
  let lastDone = 0;
  let handle: DisplayHandle | null = null;
  const amount = (n: number): string => (unit === 'bytes' ? formatBytes(n) : String(n));

  const describe = (done: number, suffix?: string): { text: string; fraction: number | null } => {
    const elapsed = (Date.now() - started) / 1000;
    const total = args.total;
    const fraction = total && total > 0 ? Math.min(1, done / total) : null;
    const parts = [args.label];
    parts.push(total !== undefined ? `${amount(done)}/${amount(total)}` : amount(done));
    if (fraction !== null) parts.push(`${Math.round(fraction * 100)}%`);
    parts.push(formatDuration(elapsed));
    if (unit === 'bytes' && elapsed > 0) parts.push(`${formatBytes(done / elapsed)}/s`);
    if (fraction !== null && fraction > 0 && fraction < 1) parts.push(`ETA ${formatDuration((elapsed / fraction) * (1 - fraction))}`);
    if (suffix) parts.push(suffix);
    return { text: parts.join(' | '), fraction };
  };

  const bar = (fraction: number | null, width: number): string => {
    if (fraction === null) return '';
    const filled = Math.round(fraction * width);
    return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (fraction >= 1 ? '=' : '>') : ''}${'.'.repeat(width - filled)}] `;
  };

  const render = (done: number, suffix: string | undefined, final: boolean): void => {
    lastDone = done;
    const now = Date.now();
    const { text, fraction } = describe(done, suffix);
    switch (mode) {
      case 'silent':
        return;
      case 'notebook': {
        if (!final && now - lastBar < 200) return;
        lastBar = now;
        handle ??= createDisplayHandle();
        const pct = fraction === null ? '' : `<progress value="${fraction.toFixed(4)}" max="1" style="width:16em"></progress> `;
        handle.update({ 'text/plain': text, 'text/html': `<div style="font-family:monospace">${pct}${escapeHtml(text)}</div>` });
        return;
      }
      case 'bar': {
        if (!final && now - lastBar < 100) return;
        lastBar = now;
        const columns = stream.columns ?? 80;
        const line = `${bar(fraction, 24)}${text}`.slice(0, Math.max(20, columns - 1));
        stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
        return;
      }
      case 'lines': {
        if (!final && now - lastLine < lineIntervalMs) return;
        lastLine = now;
        stream.write(`${text}\n`);
        return;
      }
    }
  };

  return {
    mode,
    update: (done, suffix) => render(done, suffix, false),
    finish: (suffix) => render(args.total ?? lastDone, suffix, true),
  };
}
