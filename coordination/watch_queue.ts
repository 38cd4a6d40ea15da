/**
 * The buffer between a store's watch callbacks and the async iterator a
 * caller consumes: both stores push events in, the caller pulls them out.
 *
 * @module
 */

/**
 * An unbounded single-consumer queue. Producers never wait, so a slow
 * consumer cannot stall the store; events simply accumulate.
 */
export class WatchQueue<T> {
  #items: T[] = [];
  #ended = false;
  #failure: { error: unknown } | undefined;
  #wake: (() => void) | undefined;

  /** Whether {@linkcode WatchQueue.end} or {@linkcode WatchQueue.fail} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Appends an item; ignored once the queue has ended. */
  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#notify();
  }

  /** Ends the queue: the consumer gets what is queued, then the iterator returns. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** Ends the queue with an error the consumer sees after the queued items. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#failure = { error };
    this.end();
  }

  /**
   * Yields queued items until the queue ends (returns), fails (throws) or
   * `signal` aborts (returns at once, dropping what is still queued).
   */
  async *drain(signal: AbortSignal): AsyncGenerator<T, void, undefined> {
    const onAbort = () => this.#notify();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        if (this.#items.length > 0) {
          yield this.#items.shift() as T;
        } else if (this.#failure) {
          throw this.#failure.error;
        } else if (this.#ended) {
          return;
        } else {
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
