/**
 * The time limits of a download (see `downloadFile` in `download.ts`): the overall deadline of one call, and
 * the minimum speed of one attempt's body. The socket-silence and response-header limits
 * (`timeoutMs`) live with the request (`http-client.ts`, `http-get.ts`).
 */

/**
 * The overall time limit of one `downloadFile` call: an abort signal that fires when it passes,
 * and sleeps that end early when it does. The timer is deliberately not `unref()`ed, so a script
 * awaiting a download that can make no progress still settles (with an error) instead of exiting
 * silently. Call {@link Deadline.dispose} when the call ends.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  /** @param ms - the limit in milliseconds; `Infinity` never fires */
  constructor(readonly ms: number) {
    if (Number.isFinite(ms)) this.timer = setTimeout(() => this.controller.abort(), ms);
  }

  /** Aborts when the deadline passes. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the deadline has passed. */
  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  /** Milliseconds left (`Infinity` without a limit, 0 once passed). */
  remaining(): number {
    return Number.isFinite(this.ms) ? Math.max(0, this.ms - (Date.now() - this.startedAt)) : Infinity;
  }

  /**
   * Waits `ms`, or less when the deadline passes first.
   *
   * @param ms - the wait in milliseconds
   * @returns a promise that always resolves
   */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.expired) return resolve();
      const done = (): void => {
        clearTimeout(t);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.min(ms, this.remaining()));
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops the timer (the signal never fires afterwards). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

/** The minimum speed of one attempt (the `minSpeed` option of `downloadFile`). */
export interface SpeedRule {
  /** Minimum average bytes per second over any `windowMs`; 0 turns the rule off. */
  minBytesPerSecond: number;
  /** The window in milliseconds. */
  windowMs: number;
}

/**
 * Watches a transfer's byte count and calls `onSlow` once fewer than
 * `minBytesPerSecond × windowMs / 1000` bytes arrived in the last `windowMs` (a trickle is not a
 * download). The check runs a few times a window on an `unref()`ed timer.
 *
 * @param rule - see {@link SpeedRule}; a rule of 0 bytes/s watches nothing
 * @param received - returns the bytes received so far
 * @param onSlow - called with the reason (a sentence naming `minSpeed`) when the rule is broken
 * @returns a function that stops watching (call it when the transfer ends)
 */
export function watchSpeed(rule: SpeedRule, received: () => number, onSlow: (reason: string) => void): () => void {
  if (rule.minBytesPerSecond <= 0) return () => undefined;
  const need = (rule.minBytesPerSecond * rule.windowMs) / 1000;
  const samples: Array<[number, number]> = [[Date.now(), received()]];
  const ticker = setInterval(() => {
    const now = Date.now();
    const bytes = received();
    samples.push([now, bytes]);
    while (samples.length > 1 && samples[1][0] <= now - rule.windowMs) samples.shift();
    const [t0, b0] = samples[0];
    if (now - t0 >= rule.windowMs && bytes - b0 < need) {
      onSlow(`only ${bytes - b0} bytes arrived in ${now - t0} ms, slower than the minimum of ${rule.minBytesPerSecond} bytes/s (minSpeed)`);
    }
  }, Math.max(10, Math.min(1000, Math.floor(rule.windowMs / 4))));
  ticker.unref();
  return () => clearInterval(ticker);
}
