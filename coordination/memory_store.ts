/**
 * The in-memory {@linkcode Store} for the embedded mode, where every program
 * runs in one process and there is no etcd. It mirrors etcd's semantics:
 * one store-wide revision counter, create/mod revisions per key, leases that
 * delete their keys when they expire, and watches that replay from a past
 * revision.
 *
 * @module
 */
import { EventHistory, eventKey, eventRevision } from "./event_history.ts";
import {
  type CreateResult,
  type KeyValue,
  type LeaseGrant,
  LeaseNotFoundError,
  type PrefixSnapshot,
  type PutEntry,
  type PutOptions,
  type Store,
  StoreUnavailableError,
  type WatchEvent,
  type WatchOptions,
} from "./store.ts";
import { WatchQueue } from "./watch_queue.ts";

/** Options for {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How many past events a watch can replay with `fromRevision`; starting
   * from an older revision throws a `RangeError`.
   *
   * @default {10000}
   */
  historyLimit?: number;
}

type Timer = ReturnType<typeof setTimeout>;

interface MemoryLease {
  readonly ttlSeconds: number;
  readonly keys: Set<string>;
  timer: Timer;
}

interface Subscriber {
  readonly prefix: string;
  readonly fromRevision: number;
  readonly queue: WatchQueue<WatchEvent>;
}

/**
 * A {@linkcode Store} held in memory. Lease expiry runs on real timers, all
 * of which {@linkcode MemoryStore.close} clears.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@faas/coordination";
 *
 * await using store = new MemoryStore();
 * const lease = await store.grantLease(10);
 * await store.createIfAbsent("leader", "me", { leaseId: lease.id });
 * ```
 */
export class MemoryStore implements Store {
  #kvs = new Map<string, KeyValue>();
  #leases = new Map<string, MemoryLease>();
  #subscribers = new Set<Subscriber>();
  #history: EventHistory;
  // A fresh etcd reports revision 1 before any write; match it.
  #revision = 1;
  #lastLeaseId = 0;
  #closed = false;

  /** Creates an empty store at revision 1. */
  constructor(options: MemoryStoreOptions = {}) {
    this.#history = new EventHistory(options.historyLimit ?? 10_000);
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#run(() => this.#kvs.get(key));
  }

  getPrefix(prefix: string): Promise<PrefixSnapshot> {
    return this.#run(() => ({ kvs: this.#under(prefix), revision: this.#revision }));
  }

  countPrefix(prefix: string): Promise<number> {
    return this.#run(() => this.#under(prefix).length);
  }

  put(key: string, value: string, options: PutOptions = {}): Promise<void> {
    return this.#run(() => void this.#write(key, value, options.leaseId));
  }

  putAll(entries: readonly PutEntry[]): Promise<void> {
    return this.#run(() => {
      // Every lease is checked before anything is written: all or none.
      for (const { leaseId } of entries) if (leaseId !== undefined) this.#lease(leaseId);
      for (const { key, value, leaseId } of entries) this.#write(key, value, leaseId);
    });
  }

  delete(key: string): Promise<boolean> {
    return this.#run(() => this.#deleteKeys([key]) > 0);
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.#run(() => this.#deleteKeys(this.#under(prefix).map((kv) => kv.key)));
  }

  createIfAbsent(key: string, value: string, options: PutOptions = {}): Promise<CreateResult> {
    return this.#run((): CreateResult => {
      const current = this.#kvs.get(key);
      if (current) return { created: false, current };
      return { created: true, kv: this.#write(key, value, options.leaseId) };
    });
  }

  deleteIfCreateRevision(key: string, createRevision: number): Promise<boolean> {
    return this.#run(() => {
      if (this.#kvs.get(key)?.createRevision !== createRevision) return false;
      return this.#deleteKeys([key]) > 0;
    });
  }

  async *watchPrefix(prefix: string, options: WatchOptions): AsyncGenerator<WatchEvent> {
    this.#assertOpen();
    const { signal, fromRevision } = options;
    const queue = new WatchQueue<WatchEvent>();
    if (fromRevision !== undefined) {
      assertRevision(fromRevision);
      // Replaying and subscribing in one synchronous step leaves no gap.
      for (const event of this.#history.since(fromRevision, prefix)) queue.push(event);
    }
    const subscriber = { prefix, fromRevision: fromRevision ?? 0, queue };
    this.#subscribers.add(subscriber);
    try {
      yield* queue.drain(signal);
    } finally {
      this.#subscribers.delete(subscriber);
    }
  }

  grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    return this.#run(() => {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
        throw new RangeError(
          `Lease TTL must be a positive whole number of seconds, got "${ttlSeconds}"`,
        );
      }
      const id = String(++this.#lastLeaseId);
      const timer = this.#startExpiry(id, ttlSeconds);
      this.#leases.set(id, { ttlSeconds, keys: new Set(), timer });
      return { id, ttlSeconds };
    });
  }

  keepAliveOnce(leaseId: string): Promise<number> {
    return this.#run(() => {
      const lease = this.#lease(leaseId);
      clearTimeout(lease.timer);
      lease.timer = this.#startExpiry(leaseId, lease.ttlSeconds);
      return lease.ttlSeconds;
    });
  }

  revokeLease(leaseId: string): Promise<void> {
    return this.#run(() => this.#endLease(leaseId));
  }

  /** Ends every watch and clears every lease timer; later calls reject. */
  close(): Promise<void> {
    this.#closed = true;
    for (const lease of this.#leases.values()) clearTimeout(lease.timer);
    this.#leases.clear();
    for (const subscriber of this.#subscribers) subscriber.queue.end();
    this.#subscribers.clear();
    return Promise.resolve();
  }

  /** Same as {@linkcode MemoryStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Runs a synchronous operation as a store call: rejected, not thrown, on failure. */
  #run<T>(operation: () => T): Promise<T> {
    try {
      this.#assertOpen();
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError("The memory store is closed");
  }

  #under(prefix: string): KeyValue[] {
    const kvs = [...this.#kvs.values()].filter((kv) => kv.key.startsWith(prefix));
    return kvs.sort((a, b) => compareKeys(a.key, b.key));
  }

  #lease(leaseId: string): MemoryLease {
    const lease = this.#leases.get(leaseId);
    if (!lease) throw new LeaseNotFoundError(leaseId);
    return lease;
  }

  #write(key: string, value: string, leaseId: string | undefined): KeyValue {
    const lease = leaseId === undefined ? undefined : this.#lease(leaseId);
    const previous = this.#kvs.get(key);
    const revision = ++this.#revision;
    const kv: KeyValue = {
      key,
      value,
      createRevision: previous?.createRevision ?? revision,
      modRevision: revision,
      ...(leaseId === undefined ? {} : { leaseId }),
    };
    this.#unbind(previous);
    lease?.keys.add(key);
    this.#kvs.set(key, kv);
    this.#publish([{ type: "put", kv }]);
    return kv;
  }

  /** Deletes the keys that exist, all at one new revision as etcd does. */
  #deleteKeys(keys: readonly string[]): number {
    const existing = keys.filter((key) => this.#kvs.has(key));
    if (existing.length === 0) return 0;
    const revision = ++this.#revision;
    for (const key of existing) {
      this.#unbind(this.#kvs.get(key));
      this.#kvs.delete(key);
    }
    this.#publish(existing.map((key) => ({ type: "delete", key, revision })));
    return existing.length;
  }

  #unbind(kv: KeyValue | undefined): void {
    if (kv?.leaseId !== undefined) this.#leases.get(kv.leaseId)?.keys.delete(kv.key);
  }

  #endLease(leaseId: string): void {
    const lease = this.#leases.get(leaseId);
    if (!lease) return;
    clearTimeout(lease.timer);
    this.#leases.delete(leaseId);
    this.#deleteKeys([...lease.keys]);
  }

  #startExpiry(leaseId: string, ttlSeconds: number): Timer {
    return setTimeout(() => this.#endLease(leaseId), ttlSeconds * 1000);
  }

  #publish(events: readonly WatchEvent[]): void {
    this.#history.append(events);
    for (const { prefix, fromRevision, queue } of this.#subscribers) {
      for (const event of events) {
        if (eventRevision(event) >= fromRevision && eventKey(event).startsWith(prefix)) {
          queue.push(event);
        }
      }
    }
  }
}

function assertRevision(revision: number): void {
  if (!Number.isInteger(revision) || revision < 1) {
    throw new RangeError(`Watch revision must be a positive integer, got "${revision}"`);
  }
}

/**
 * Orders keys by code point, which is etcd's UTF-8 byte order; plain `<`
 * compares UTF-16 units and misplaces astral characters after U+E000-U+FFFF.
 */
function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}
