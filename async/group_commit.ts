/**
 * Group commit: calls that arrive while a flush is under way wait and go
 * together in the next one. With nothing in flight a call is flushed at once,
 * so a lone caller waits no longer than before; under load each flush carries
 * everything that queued up meanwhile, which turns many small requests (a
 * Kafka produce or an etcd write per activation) into few larger ones.
 *
 * @module
 */

/** What a flush says: nothing when all went well, or one error (or `undefined`) per item. */
export type FlushOutcome = void | readonly unknown[];

interface Pending<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Batches items into flushes, one flush at a time, in submission order. */
export class GroupCommit<T> {
  readonly #flush: (items: readonly T[]) => Promise<FlushOutcome>;
  readonly #maxItems: number;
  #queue: Pending<T>[] = [];
  #flushing = false;

  /**
   * @param flush sends one batch: a rejection fails every item; resolving
   *   with an array fails the items whose entry is defined (with it)
   * @param maxItems most items in one flush
   */
  constructor(flush: (items: readonly T[]) => Promise<FlushOutcome>, maxItems = 500) {
    this.#flush = flush;
    this.#maxItems = maxItems;
  }

  /** Resolves once a flush holding `item` succeeded; rejects with that flush's error. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#flushing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxItems);
      try {
        const errors = await this.#flush(batch.map((p) => p.item));
        batch.forEach((p, i) => {
          const error = errors?.[i];
          if (error === undefined) p.resolve();
          else p.reject(error);
        });
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#flushing = false;
  }
}
