/**
 * A {@linkcode Store} wrapper for tests whose watches lose events on purpose,
 * as a broken stream or a missed lease expiry would.
 *
 * @module
 */
import type {
  CreateResult,
  KeyValue,
  LeaseGrant,
  PrefixSnapshot,
  PutEntry,
  PutOptions,
  Store,
  WatchEvent,
  WatchOptions,
} from "./store.ts";

/**
 * A store whose watches silently drop the events `drop` selects, as a broken
 * stream or a missed lease expiry would. Everything else goes to `inner`.
 */
export class LossyStore implements Store {
  readonly #inner: Store;
  /** Events for which this returns true never reach a watcher. */
  drop: (event: WatchEvent) => boolean = () => false;

  constructor(inner: Store) {
    this.#inner = inner;
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#inner.get(key);
  }
  getPrefix(prefix: string): Promise<PrefixSnapshot> {
    return this.#inner.getPrefix(prefix);
  }
  countPrefix(prefix: string): Promise<number> {
    return this.#inner.countPrefix(prefix);
  }
  put(key: string, value: string, options?: PutOptions): Promise<void> {
    return this.#inner.put(key, value, options);
  }
  putAll(entries: readonly PutEntry[]): Promise<void> {
    return this.#inner.putAll(entries);
  }
  delete(key: string): Promise<boolean> {
    return this.#inner.delete(key);
  }
  deletePrefix(prefix: string): Promise<number> {
    return this.#inner.deletePrefix(prefix);
  }
  createIfAbsent(key: string, value: string, options?: PutOptions): Promise<CreateResult> {
    return this.#inner.createIfAbsent(key, value, options);
  }
  deleteIfCreateRevision(key: string, createRevision: number): Promise<boolean> {
    return this.#inner.deleteIfCreateRevision(key, createRevision);
  }
  async *watchPrefix(prefix: string, options: WatchOptions): AsyncGenerator<WatchEvent> {
    for await (const event of this.#inner.watchPrefix(prefix, options)) {
      if (!this.drop(event)) yield event;
    }
  }
  grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    return this.#inner.grantLease(ttlSeconds);
  }
  keepAliveOnce(leaseId: string): Promise<number> {
    return this.#inner.keepAliveOnce(leaseId);
  }
  revokeLease(leaseId: string): Promise<void> {
    return this.#inner.revokeLease(leaseId);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A {@linkcode LossyStore} whose listings wait for the test's `release()` while `hold` is set. */
export class HeldListingStore extends LossyStore {
  /** While true, new listings are held back. */
  hold = false;
  /** Lets the listing held last complete. */
  release: () => void = () => {};
  override getPrefix(prefix: string): Promise<PrefixSnapshot> {
    const listing = super.getPrefix(prefix);
    if (!this.hold) return listing;
    return new Promise((resolve) => this.release = () => resolve(listing));
  }
}
