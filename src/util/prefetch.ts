/**
 * The one prefetcher of transferlab, after tfjs-data's `dataset.prefetch(n)`: items of a stream
 * made ahead of the consumer, handed out in the order made. The directory iterator keeps its next
 * batches decoding with it; `fit`, `evaluate` and `predictIterator` keep their next batches'
 * decoding and frozen prefix running with it while the tail trains.
 *
 * An item is made (`make`, synchronous) when it is queued; what making starts is the owner's
 * business (a promise already running, or a plan started later). The consumer takes the oldest
 * with {@link Prefetcher.take}, and tops the queue up with {@link Prefetcher.fill} when it wants:
 * right away, or once the item it took has started, so that work queued ahead never holds up the
 * item waited for.
 */

/** Options of a {@link Prefetcher}. */
export interface PrefetcherArgs<T> {
  /** Items kept made ahead of the consumer, integer ≥ 0. */
  depth: number;
  /** Makes the next item of the stream. */
  make: () => T;
  /** Items that may be made in all (the stream's length); default unbounded. */
  limit?: number;
  /** Frees an item that was made and is dropped untaken (by `clear` or `dispose`); default nothing. */
  release?: (item: T) => unknown;
}

/**
 * Items of a stream made up to `depth` ahead (see the module comment).
 *
 * @example
 * const ahead = new Prefetcher({ depth: 2, make: () => loadNext(), limit: steps, release: (p) => p.then(free, () => undefined) });
 * const item = await ahead.take();
 * ahead.fill();
 */
export class Prefetcher<T> {
  /** Items kept ahead. */
  readonly depth: number;
  private readonly args: PrefetcherArgs<T>;
  /** Made and not taken, oldest first. */
  private readonly ahead: T[] = [];
  private made = 0;
  private closed = false;

  /** @param args - see {@link PrefetcherArgs} */
  constructor(args: PrefetcherArgs<T>) {
    this.args = args;
    this.depth = args.depth;
  }

  /** The items made ahead and not taken, oldest first (the same array for the prefetcher's life; do not modify it). */
  get queued(): readonly T[] {
    return this.ahead;
  }

  /** Whether no more items will be made: all `limit` were, or the prefetcher was disposed. */
  get exhausted(): boolean {
    return this.closed || this.made >= (this.args.limit ?? Infinity);
  }

  /**
   * The next item: the oldest made ahead, else one made now. Does not refill (see {@link fill}).
   *
   * @returns the item
   * @throws Error (internal: consumers take each item once) when all `limit` items were taken already, or after `dispose`
   */
  take(): T {
    if (this.ahead.length > 0) return this.ahead.shift() as T;
    if (this.exhausted) throw new Error(`All ${this.made} items of this prefetcher were taken already${this.closed ? ' (or dropped by dispose)' : ''}.`);
    this.made++;
    return this.args.make();
  }

  /**
   * Makes items until `depth` are ahead (or `upTo`, when smaller) or the limit is reached.
   *
   * @param upTo - at most this many ahead, for a caller that knows how many it will still take. Default `depth`.
   */
  fill(upTo = this.depth): void {
    while (this.ahead.length < Math.min(this.depth, upTo) && !this.exhausted) {
      this.made++;
      this.ahead.push(this.args.make());
    }
  }

  /**
   * Drops the items made ahead (releasing each); the stream behind them is the owner's to rewind.
   * Later `take`/`fill` calls make new ones.
   *
   * @returns the dropped items, oldest first
   */
  clear(): T[] {
    const dropped = this.ahead.splice(0);
    for (const item of dropped) void this.args.release?.(item);
    return dropped;
  }

  /**
   * Drops the items made ahead, waits until each is released, and makes no more.
   *
   * @returns once every release has settled
   */
  async dispose(): Promise<void> {
    this.closed = true;
    const dropped = this.ahead.splice(0);
    await Promise.all(dropped.map(async (item) => this.args.release?.(item)));
  }
}
