/**
 * The etcd keys this invoker owns, all bound to its one lease. Remembering
 * them lets the invoker retry deletes that failed (so counts in etcd converge
 * back to the truth) and write them all again under a new lease after the old
 * one was lost.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { getLogger } from "@std/log";

const logger = getLogger("invoker", "keys");

/**
 * Keys written under one lease, with failed deletes retried on
 * {@linkcode LeasedKeys.sync}. Writes and deletes of one key are applied in
 * call order, so a delete never overtakes the put before it and leaves a key
 * behind.
 */
export class LeasedKeys {
  readonly #store: Store;
  #leaseId: string;
  readonly #owned = new Map<string, string>();
  readonly #toDelete = new Set<string>();
  readonly #pending = new Map<string, Promise<void>>();

  /** Starts empty, writing under `leaseId`. */
  constructor(store: Store, leaseId: string) {
    this.#store = store;
    this.#leaseId = leaseId;
  }

  /** How many keys are held now. */
  get size(): number {
    return this.#owned.size;
  }

  /** Writes `key` under the lease and remembers it. */
  set(key: string, value: string): Promise<void> {
    this.#toDelete.delete(key);
    this.#owned.set(key, value);
    return this.#inOrder(key, () => this.#store.put(key, value, { leaseId: this.#leaseId }));
  }

  /** Deletes `key`; a failed delete is retried by {@linkcode LeasedKeys.sync}. Never rejects. */
  remove(key: string): Promise<void> {
    this.#owned.delete(key);
    this.#toDelete.add(key);
    return this.#inOrder(key, () => this.#tryDelete(key));
  }

  /** Retries the deletes that failed. Never rejects. */
  async sync(): Promise<void> {
    await Promise.all(
      [...this.#toDelete].map((key) => this.#inOrder(key, () => this.#tryDelete(key))),
    );
  }

  /** Writes every held key again under `leaseId` (the old lease is gone, and its keys with it). */
  async rebind(leaseId: string): Promise<void> {
    this.#leaseId = leaseId;
    await Promise.all(
      [...this.#owned].map(([key, value]) =>
        this.#inOrder(key, () => this.#store.put(key, value, { leaseId }))
      ),
    );
  }

  #inOrder(key: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.#pending.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(operation);
    this.#pending.set(key, next);
    const forget = () => {
      if (this.#pending.get(key) === next) this.#pending.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  async #tryDelete(key: string): Promise<void> {
    // A set() since the delete was asked for claimed the key again; keep it.
    if (this.#owned.has(key)) return void this.#toDelete.delete(key);
    try {
      await this.#store.delete(key);
      this.#toDelete.delete(key);
    } catch (error) {
      logger.warn("Cannot delete key {key} yet: {error}", { key, error: String(error) });
    }
  }
}
