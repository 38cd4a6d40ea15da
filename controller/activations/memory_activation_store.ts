/**
 * Activation records in the process, for the embedded mode.
 *
 * @module
 */
import type { WhiskActivation } from "@faas/proto";
import {
  type ActivationQuery,
  type ActivationStore,
  type ActivationSummary,
  matching,
  page,
  summarize,
} from "./activation_store.ts";

/** Options for {@linkcode MemoryActivationStore}. */
export interface MemoryActivationStoreOptions {
  /** Records kept; storing one more drops the oldest stored. @default {10_000} */
  readonly capacity?: number;
}

/** An {@linkcode ActivationStore} in memory, bounded by count. */
export class MemoryActivationStore implements ActivationStore {
  readonly #capacity: number;
  // Map iteration order is insertion order: the first entry is the oldest stored.
  readonly #records = new Map<string, { record: WhiskActivation; summary: ActivationSummary }>();

  /**
   * Creates an empty store.
   *
   * @throws {RangeError} when the capacity is not a positive integer
   */
  constructor(options: MemoryActivationStoreOptions = {}) {
    const { capacity = 10_000 } = options;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Capacity must be a positive integer: received ${capacity}`);
    }
    this.#capacity = capacity;
  }

  put(record: WhiskActivation): Promise<void> {
    this.#records.delete(record.activationId);
    this.#records.set(record.activationId, { record, summary: summarize(record) });
    while (this.#records.size > this.#capacity) {
      this.#records.delete(this.#records.keys().next().value!);
    }
    return Promise.resolve();
  }

  get(namespace: string, activationId: string): Promise<WhiskActivation | undefined> {
    const entry = this.#records.get(activationId);
    return Promise.resolve(entry?.record.namespace === namespace ? entry.record : undefined);
  }

  list(namespace: string, query: ActivationQuery = {}): Promise<ActivationSummary[]> {
    return Promise.resolve(page(this.#matching(namespace, query), query));
  }

  count(namespace: string, query: ActivationQuery = {}): Promise<number> {
    return Promise.resolve(this.#matching(namespace, query).length);
  }

  #matching(namespace: string, query: ActivationQuery): ActivationSummary[] {
    const summaries = [...this.#records.values()]
      .map((e) => e.summary)
      .filter((s) => s.namespace === namespace);
    return matching(summaries, query);
  }
}
