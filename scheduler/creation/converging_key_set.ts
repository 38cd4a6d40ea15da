/**
 * The keys under one prefix, kept current by a watch and corrected by a full
 * listing every few seconds, counted per group.
 *
 * A watch alone drifts: an event lost to a broken stream, a missed lease
 * expiry or a bug leaves a key counted forever (OpenWhisk #5486, #5386). The
 * periodic listing is the truth at its revision, so after each one the set
 * equals the store, whatever the watch missed.
 *
 * Merging a listing with events that raced it follows the store revision:
 * - an event at or below the last listing's revision is already reflected
 *   in it and is ignored;
 * - a listing at revision R replaces the set, except for keys written after R
 *   (kept) and keys deleted after R (kept deleted, remembered as tombstones
 *   until a later listing covers them).
 *
 * @module
 */
import type { PrefixSnapshot, Store, WatchEvent } from "@faas/coordination";
import { getLogger } from "@std/log";
import { abortable, describe, sleep } from "./_abortable.ts";

const logger = getLogger("scheduler", "creation");

/** Options for {@linkcode ConvergingKeySet}. */
export interface ConvergingKeySetOptions {
  /** The group a key counts in; `undefined` ignores the key. */
  groupOf: (key: string) => string | undefined;
  /** Time between full listings. @default {5_000} */
  reconcileIntervalMs?: number;
  /** Pause before listing or watching again after a failure. @default {500} */
  retryDelayMs?: number;
}

interface Entry {
  readonly group: string;
  readonly revision: number;
}

/** A self-correcting count of the keys under a prefix. Dispose to stop watching. */
export class ConvergingKeySet implements AsyncDisposable {
  readonly #store: Store;
  readonly #prefix: string;
  readonly #groupOf: (key: string) => string | undefined;
  readonly #reconcileIntervalMs: number;
  readonly #retryDelayMs: number;
  readonly #closing = new AbortController();
  #present = new Map<string, Entry>();
  #tombstones = new Map<string, number>();
  #groups = new Map<string, number>();
  /** Revision of the newest listing applied. */
  #floor = 0;
  /** Newest revision seen in a listing or an event; a new watch resumes after it. */
  #seen = 0;
  #becomeReady!: () => void;
  readonly #ready = new Promise<void>((resolve) => this.#becomeReady = resolve);
  #isReady = false;
  readonly #running: Promise<void>;

  /** Starts listing and watching `prefix` at once. */
  constructor(store: Store, prefix: string, options: ConvergingKeySetOptions) {
    const { groupOf, reconcileIntervalMs = 5_000, retryDelayMs = 500 } = options;
    this.#store = store;
    this.#prefix = prefix;
    this.#groupOf = groupOf;
    this.#reconcileIntervalMs = reconcileIntervalMs;
    this.#retryDelayMs = retryDelayMs;
    this.#running = this.#run();
  }

  /** Whether the first listing has been applied (counts mean something). */
  get ready(): boolean {
    return this.#isReady;
  }

  /** Resolves once the first listing has been applied; rejects if `signal` aborts first. */
  whenReady(signal?: AbortSignal): Promise<void> {
    return abortable(this.#ready, signal);
  }

  /** Counted keys in `group`. */
  count(group: string): number {
    return this.#groups.get(group) ?? 0;
  }

  /** All counted keys. */
  get size(): number {
    return this.#present.size;
  }

  /** Whether `key` is counted now. */
  has(key: string): boolean {
    return this.#present.has(key);
  }

  /** Lists the prefix now and merges the result. */
  async reconcile(signal?: AbortSignal): Promise<void> {
    const listing = await abortable(this.#store.getPrefix(this.#prefix), signal);
    this.#applyListing(listing);
  }

  /** Stops watching and listing. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#running;
  }

  /** Same as {@linkcode ConvergingKeySet.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run(): Promise<void> {
    const signal = this.#closing.signal;
    while (!signal.aborted && !(await this.#tryReconcile("initial"))) {
      await sleep(this.#retryDelayMs, signal);
    }
    if (signal.aborted) return;
    await Promise.all([this.#watchLoop(signal), this.#reconcileLoop(signal)]);
  }

  async #watchLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const events = this.#store.watchPrefix(this.#prefix, {
          signal,
          fromRevision: this.#seen + 1,
        });
        for await (const event of events) this.#applyEvent(event);
      } catch (error) {
        if (signal.aborted) return;
        logger.warn("Watch of {prefix} failed: {error}", {
          prefix: this.#prefix,
          error: describe(error),
        });
      }
      if (signal.aborted) return;
      // The history to resume from may be gone (compacted); a listing restores the truth.
      await sleep(this.#retryDelayMs, signal);
      await this.#tryReconcile("watch restart");
    }
  }

  async #reconcileLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // ±10 % jitter keeps many sets from listing in lockstep.
      const jitter = 0.9 + Math.random() * 0.2;
      await sleep(this.#reconcileIntervalMs * jitter, signal);
      if (!signal.aborted) await this.#tryReconcile("periodic");
    }
  }

  async #tryReconcile(cause: string): Promise<boolean> {
    try {
      await this.reconcile(this.#closing.signal);
      return true;
    } catch (error) {
      if (!this.#closing.signal.aborted) {
        logger.warn("Listing {prefix} ({cause}) failed: {error}", {
          prefix: this.#prefix,
          cause,
          error: describe(error),
        });
      }
      return false;
    }
  }

  #applyEvent(event: WatchEvent): void {
    const revision = event.type === "put" ? event.kv.modRevision : event.revision;
    this.#seen = Math.max(this.#seen, revision);
    if (revision <= this.#floor) return;
    if (event.type === "put") {
      this.#tombstones.delete(event.kv.key);
      this.#add(event.kv.key, revision);
    } else {
      this.#tombstones.set(event.key, revision);
      this.#remove(event.key);
    }
  }

  #applyListing(listing: PrefixSnapshot): void {
    const at = listing.revision;
    if (at < this.#floor) return; // an older listing that finished late
    this.#seen = Math.max(this.#seen, at);
    const next = new Map<string, number>();
    for (const kv of listing.kvs) {
      if ((this.#tombstones.get(kv.key) ?? 0) > at) continue;
      next.set(kv.key, Math.max(at, this.#present.get(kv.key)?.revision ?? 0));
    }
    for (const [key, entry] of this.#present) {
      if (entry.revision > at && !next.has(key)) next.set(key, entry.revision);
    }
    for (const [key, revision] of this.#tombstones) {
      if (revision <= at) this.#tombstones.delete(key);
    }
    this.#floor = at;
    this.#rebuild(next);
    if (!this.#isReady) {
      this.#isReady = true;
      this.#becomeReady();
    }
  }

  #rebuild(revisions: ReadonlyMap<string, number>): void {
    this.#present = new Map();
    this.#groups = new Map();
    for (const [key, revision] of revisions) this.#add(key, revision);
  }

  #add(key: string, revision: number): void {
    const group = this.#groupOf(key);
    if (group === undefined) return;
    const known = this.#present.has(key);
    this.#present.set(key, { group, revision });
    if (!known) this.#groups.set(group, (this.#groups.get(group) ?? 0) + 1);
  }

  #remove(key: string): void {
    const entry = this.#present.get(key);
    if (!entry) return;
    this.#present.delete(key);
    const left = (this.#groups.get(entry.group) ?? 1) - 1;
    if (left > 0) this.#groups.set(entry.group, left);
    else this.#groups.delete(entry.group);
  }
}
