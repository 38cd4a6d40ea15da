/**
 * The coordination port: the key-value, transaction, watch and lease operations
 * the programs need from etcd. `etcd_store.ts` implements it on a real etcd and
 * `memory_store.ts` in memory for the embedded mode; `store_contract.ts` holds
 * the one test suite both must pass.
 *
 * @module
 */

/** One stored key. Revisions follow etcd: store-wide, increasing, starting at 1. */
export interface KeyValue {
  /** The key. */
  readonly key: string;
  /** The value, as UTF-8 text. */
  readonly value: string;
  /** Revision of the put that created the key (its current incarnation). */
  readonly createRevision: number;
  /** Revision of the latest put to the key. */
  readonly modRevision: number;
  /** The lease the key is bound to; `undefined` when it has none. */
  readonly leaseId?: string;
}

/** A change seen by a watch. */
export type WatchEvent =
  /** The key was written; `kv` is its new state. */
  | { readonly type: "put"; readonly kv: KeyValue }
  /** The key was deleted (directly or with its lease) at `revision`. */
  | { readonly type: "delete"; readonly key: string; readonly revision: number };

/** The outcome of {@linkcode Store.createIfAbsent}. */
export type CreateResult =
  /** This call wrote the key; `kv` is what it wrote. */
  | { readonly created: true; readonly kv: KeyValue }
  /** The key existed; `current` is its state, which was left alone. */
  | { readonly created: false; readonly current: KeyValue };

/** A prefix listing together with the store revision it was read at. */
export interface PrefixSnapshot {
  /** The keys, sorted by key. */
  readonly kvs: readonly KeyValue[];
  /** Watch from `revision + 1` to see every change after this listing. */
  readonly revision: number;
}

/** Options shared by writes that may bind a key to a lease. */
export interface PutOptions {
  /** Bind the key to this lease: it is deleted when the lease ends. */
  leaseId?: string;
}

/** One write of {@linkcode Store.putAll}. */
export interface PutEntry extends PutOptions {
  readonly key: string;
  readonly value: string;
}

/** Options for {@linkcode Store.watchPrefix}. */
export interface WatchOptions {
  /** Ends the watch; the iterator then returns. */
  signal: AbortSignal;
  /** First revision to report; omitted means "changes from now on". */
  fromRevision?: number;
}

/**
 * A granted lease. Keys bound to it vanish when it expires or is revoked.
 * Keeping it alive is the caller's job (see `Session`).
 */
export interface LeaseGrant {
  /** The lease id, a decimal string. */
  readonly id: string;
  /** The TTL the server granted, which may exceed the one requested. */
  readonly ttlSeconds: number;
}

/** Raised when a lease is gone on the server (expired or revoked). */
export class LeaseNotFoundError extends Error {
  /** The lease that is gone. */
  readonly leaseId: string;
  /** Creates the error for the lease `leaseId`. */
  constructor(leaseId: string, options?: ErrorOptions) {
    super(`Lease "${leaseId}" does not exist any more`, options);
    this.name = "LeaseNotFoundError";
    this.leaseId = leaseId;
  }
}

/** Raised when the store cannot be reached; the operation may be retried. */
export class StoreUnavailableError extends Error {
  /** Creates the error; `message` says what could not be reached. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/**
 * Key-value store with leases, create-if-absent transactions and prefix watches.
 *
 * Every method that talks to a server rejects with {@linkcode StoreUnavailableError}
 * when the server cannot be reached and with {@linkcode LeaseNotFoundError} when a
 * given lease is gone.
 */
export interface Store extends AsyncDisposable {
  /** The key's current state, or `undefined` when it does not exist. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key starting with `prefix`, sorted by key. */
  getPrefix(prefix: string): Promise<PrefixSnapshot>;
  /** How many keys start with `prefix`. */
  countPrefix(prefix: string): Promise<number>;
  /** Writes `key`, replacing any previous value (and lease binding). */
  put(key: string, value: string, options?: PutOptions): Promise<void>;
  /**
   * Writes every entry in one atomic step (one etcd transaction): all or
   * none. Cheaper for the store than as many `put`s.
   */
  putAll(entries: readonly PutEntry[]): Promise<void>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  /** Returns how many keys were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Atomically writes `key` only if it does not exist (etcd: `create_revision == 0`). */
  createIfAbsent(key: string, value: string, options?: PutOptions): Promise<CreateResult>;
  /**
   * Deletes `key` only if its current incarnation is `createRevision`, so a
   * holder that lost a key never deletes its successor's. Returns whether it deleted.
   */
  deleteIfCreateRevision(key: string, createRevision: number): Promise<boolean>;
  /**
   * Changes to keys under `prefix`, in revision order. The iterator ends when
   * `signal` aborts; if the server connection breaks it resumes transparently
   * from the last revision it delivered.
   */
  watchPrefix(prefix: string, options: WatchOptions): AsyncIterable<WatchEvent>;
  /** Grants a lease of at least `ttlSeconds` (a positive integer). */
  grantLease(ttlSeconds: number): Promise<LeaseGrant>;
  /**
   * Refreshes a lease once. Resolves with the remaining TTL in seconds; rejects
   * with {@linkcode LeaseNotFoundError} if the lease is gone.
   */
  keepAliveOnce(leaseId: string): Promise<number>;
  /** Revokes a lease, deleting its keys; a lease that is already gone is not an error. */
  revokeLease(leaseId: string): Promise<void>;
  /** Ends every watch and releases the connection; later calls reject. */
  close(): Promise<void>;
}
