/**
 * Talking to the notebook front end. tslab's public `display.*` sends one MIME type per call;
 * a figure that must render everywhere (Plotly JSON + HTML + a static image) needs one
 * `display_data` message carrying all of them. This module sends such bundles through the
 * kernel that is running this process, and falls back to plain text outside a notebook.
 */
import { randomBytes } from 'node:crypto';

/** A MIME bundle: MIME type → payload. Binary payloads are base64-encoded for you. */
export type MimeBundle = Record<string, string | Uint8Array | object>;

interface TslabJupyterModule {
  lastWriteDisplayData: ((data: object, update: boolean) => void) | null;
}

function tslabJupyter(): TslabJupyterModule | null {
  try {
    const resolved = require.resolve('tslab/dist/jupyter');
    const cached = require.cache[resolved];
    if (!cached) return null;
    const mod = cached.exports as TslabJupyterModule;
    return typeof mod.lastWriteDisplayData === 'function' ? mod : null;
  } catch {
    return null;
  }
}

/**
 * Whether this code runs inside a tslab kernel that can show rich output.
 *
 * @returns true in a notebook (interactive or headless), false in a plain Node process
 */
export function inNotebook(): boolean {
  return tslabJupyter() !== null;
}

function encode(bundle: MimeBundle): Record<string, string | object> {
  const data: Record<string, string | object> = {};
  for (const [mime, value] of Object.entries(bundle)) {
    if (value instanceof Uint8Array) data[mime] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    else data[mime] = value;
  }
  return data;
}

/**
 * Shows a multi-MIME bundle as one output. In a notebook the front end picks the richest type it
 * can render; elsewhere `text/plain` (if present) is printed to stdout.
 *
 * @param bundle - e.g. `{ 'text/html': html, 'image/svg+xml': svg, 'text/plain': 'Figure' }`
 * @param metadata - optional per-MIME metadata
 * @example
 * displayBundle({ 'text/markdown': '**Done**', 'text/plain': 'Done' });
 */
export function displayBundle(bundle: MimeBundle, metadata: Record<string, unknown> = {}): void {
  const jupyter = tslabJupyter();
  if (jupyter?.lastWriteDisplayData) {
    jupyter.lastWriteDisplayData({ data: encode(bundle), metadata, transient: {} }, false);
    return;
  }
  const text = bundle['text/plain'];
  if (typeof text === 'string') process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** One output area that can be replaced in place (Jupyter's `display_id`). */
export interface DisplayHandle {
  /** The display id shared by the first `display_data` and later `update_display_data` messages. */
  readonly id: string;
  /** Shows (first call) or replaces (later calls) the output. */
  update(bundle: MimeBundle): void;
}

/**
 * Creates an updatable output, used for live progress. Outside a notebook each update prints its
 * `text/plain` as a line.
 *
 * @returns a {@link DisplayHandle}
 * @example
 * const handle = createDisplayHandle();
 * handle.update({ 'text/plain': 'epoch 1/8' });
 * handle.update({ 'text/plain': 'epoch 2/8' }); // replaces the line in a notebook
 */
export function createDisplayHandle(): DisplayHandle {
  const id = randomBytes(8).toString('hex');
  let shown = false;
  return {
    id,
    update(bundle: MimeBundle): void {
      const jupyter = tslabJupyter();
      if (jupyter?.lastWriteDisplayData) {
        jupyter.lastWriteDisplayData({ data: encode(bundle), metadata: {}, transient: { display_id: id } }, shown);
        shown = true;
        return;
      }
      displayBundle(bundle);
    },
  };
}

/** Escapes text for safe inclusion in HTML output. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
