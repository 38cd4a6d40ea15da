/**
 * Coordination for the scheduler's programs: a small key-value {@linkcode Store}
 * port with leases, create-if-absent transactions and prefix watches, and a
 * {@linkcode Session} that keeps one lease alive per program.
 *
 * - {@linkcode connectEtcd} opens the etcd-backed store for the cluster mode.
 * - {@linkcode MemoryStore} is the same store in memory for the embedded mode.
 * - {@linkcode Session} / {@linkcode openSession} tie a program's keys to its
 *   liveness; a lost session aborts its `signal` and is replaced, not revived.
 *
 * The behavioural test suite both stores pass is exported separately, as
 * `@faas/coordination/testing`.
 *
 * @example
 * ```ts
 * import { MemoryStore, Session } from "@faas/coordination";
 *
 * await using store = new MemoryStore();
 * await using session = await Session.create(store, { ttlSeconds: 10 });
 * const claim = await store.createIfAbsent("leader", "scheduler-1", {
 *   leaseId: session.leaseId,
 * });
 * if (claim.created) {
 *   // Lead until session.signal aborts.
 * }
 * ```
 *
 * @module
 */
export type {
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
export { LeaseNotFoundError, StoreUnavailableError } from "./store.ts";
export { SessionLostError } from "./errors.ts";
export { connectEtcd, EtcdStore, type EtcdStoreOptions } from "./etcd_store.ts";
export { MemoryStore, type MemoryStoreOptions } from "./memory_store.ts";
export { Session, type SessionOptions } from "./session.ts";
export { openSession, type OpenSessionOptions } from "./open_session.ts";
export { PrefixMirror, type PrefixMirrorOptions } from "./prefix_mirror.ts";
