/**
 * The keys under one prefix and their parsed values, mirrored in memory: a
 * first listing, then a watch, and a full listing again every few seconds.
 *
 * A watch alone drifts: an event lost to a broken stream, a missed lease
 * expiry or a bug leaves a stale entry forever (OpenWhisk #5486, #5386). The
 * periodic listing is the truth at its revision, so after each one the mirror
 * equals the store, whatever the watch missed.
 *
 * Merging a listing with events that raced it follows the store revision:
 * - an event at or below the last listing's revision is already reflected in
 *   it and is ignored;
 * - a listing at revision R replaces the mirror, except for keys written
 *   after R (kept) and keys deleted after R (kept deleted, remembered as
 *   tombstones until a later listing covers them).
 *
 * @module
 */
import { abortable, sleep } from "@faas/async";
import { getLogger } from "@std/log";
import type { KeyValue, PrefixSnapshot, Store, WatchEvent } from "./store.ts";

const logger = getLogger("coordination", "mirror");

/** Options for {@linkcode PrefixMirror}. */
export interface PrefixMirrorOptions<T> {
  /** The value kept for a key; `undefined` leaves the key out of the mirror. */
  readonly parse: (kv: KeyValue) => T | undefined;
  /** Called after a key's value changed; `value` is `undefined` once the key is gone. */
  readonly onChange?: (key: string, value: T | undefined, previous: T | undefined) => void;
  /** Time between full listings. @default {5_000} */
  readonly reconcileIntervalMs?: number;
  /** Pause before listing or watching again after a failure. @default {500} */
  readonly retryDelayMs?: number;
}

interface Entry<T> {
  readonly value: T;
  readonly revision: number;
}

/** A self-correcting copy of the keys under a prefix. Dispose to stop following. */
export class PrefixMirror<T> implements AsyncDisposable {
  readonly #store: Store;
  readonly #prefix: string;
  readonly #options: PrefixMirrorOptions<T>;
  readonly #closing = new AbortController();
  #present = new Map<string, Entry<T>>();
  readonly #tombstones = new Map<string, number>();
  /** Revision of the newest listing applied. */
  #floor = 0;
  /** Newest revision seen in a listing or an event; a new watch resumes after it. */
  #seen = 0;
  #becomeReady!: () => void;
  readonly #ready = new Promise<void>((resolve) => this.#becomeReady = resolve);
  #isReady = false;
  readonly #running: Promise<void>;

  /** Starts listing and watching `prefix` at once. */
  constructor(store: Store, prefix: string, options: PrefixMirrorOptions<T>) {
    this.#store = store;
    this.#prefix = prefix;
    this.#options = options;
    this.#running = this.#run();
  }

  /** Whether the first listing has been applied (reads mean something). */
  get ready(): boolean {
    return this.#isReady;
  }

  /** Resolves once the first listing has been applied; rejects if `signal` aborts first. */
  whenReady(signal?: AbortSignal): Promise<void> {
    return abortable(this.#ready, signal);
  }

  /** The value of `key`, if mirrored. */
  get(key: string): T | undefined {
    return this.#present.get(key)?.value;
  }

  /** Whether `key` is mirrored now. */
  has(key: string): boolean {
    return this.#present.has(key);
  }

  /** How many keys are mirrored. */
  get size(): number {
    return this.#present.size;
  }

  /** Every mirrored key and value. */
  *entries(): IterableIterator<[string, T]> {
    for (const [key, entry] of this.#present) yield [key, entry.value];
  }

  /** Lists the prefix now and merges the result; gives up when `signal` aborts. */
  async reconcile(signal?: AbortSignal): Promise<void> {
    this.#applyListing(await abortable(this.#store.getPrefix(this.#prefix), signal));
  }

  /** Stops watching and listing. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#running;
  }

  /** Same as {@linkcode PrefixMirror.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run(): Promise<void> {
    const signal = this.#closing.signal;
    while (!signal.aborted && !(await this.#tryReconcile("initial"))) {
      await sleep(this.#options.retryDelayMs ?? 500, signal);
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
      await sleep(this.#options.retryDelayMs ?? 500, signal);
      await this.#tryReconcile("watch restart");
    }
  }

  async #reconcileLoop(signal: AbortSignal): Promise<void> {
    const intervalMs = this.#options.reconcileIntervalMs ?? 5_000;
    while (!signal.aborted) {
      // ±10 % jitter keeps many mirrors from listing in lockstep.
      await sleep(intervalMs * (0.9 + Math.random() * 0.2), signal);
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
      const value = this.#options.parse(event.kv);
      if (value === undefined) this.#remove(event.kv.key);
      else this.#set(event.kv.key, { value, revision });
    } else {
      this.#tombstones.set(event.key, revision);
      this.#remove(event.key);
    }
  }

  #applyListing(listing: PrefixSnapshot): void {
    const at = listing.revision;
    if (at < this.#floor) return; // an older listing that finished late
    this.#seen = Math.max(this.#seen, at);
    const previous = this.#present;
    const next = new Map<string, Entry<T>>();
    for (const kv of listing.kvs) {
      if ((this.#tombstones.get(kv.key) ?? 0) > at) continue;
      // A known entry as new as the listed one (or newer, from a raced event) stays as is.
      const known = previous.get(kv.key);
      if (known && known.revision >= kv.modRevision) {
        next.set(kv.key, known);
        continue;
      }
      const value = this.#options.parse(kv);
      if (value !== undefined) next.set(kv.key, { value, revision: kv.modRevision });
    }
    for (const [key, entry] of previous) {
      if (entry.revision > at && !next.has(key)) next.set(key, entry);
    }
    for (const [key, revision] of this.#tombstones) {
      if (revision <= at) this.#tombstones.delete(key);
    }
    this.#floor = at;
    this.#present = next;
    this.#notifyDifferences(previous, next);
    if (!this.#isReady) {
      this.#isReady = true;
      this.#becomeReady();
    }
  }

  #notifyDifferences(before: Map<string, Entry<T>>, after: Map<string, Entry<T>>): void {
    const onChange = this.#options.onChange;
    if (!onChange) return;
    for (const [key, entry] of after) {
      const old = before.get(key);
      if (old?.value !== entry.value) onChange(key, entry.value, old?.value);
    }
    for (const [key, entry] of before) {
      if (!after.has(key)) onChange(key, undefined, entry.value);
    }
  }

  #set(key: string, entry: Entry<T>): void {
    const previous = this.#present.get(key)?.value;
    this.#present.set(key, entry);
    if (previous !== entry.value) this.#options.onChange?.(key, entry.value, previous);
  }

  #remove(key: string): void {
    const entry = this.#present.get(key);
    if (!entry) return;
    this.#present.delete(key);
    this.#options.onChange?.(key, undefined, entry.value);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
