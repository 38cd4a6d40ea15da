/**
 * The keys under one prefix, kept current by a {@linkcode PrefixMirror}
 * (watch plus a full listing every few seconds, so it converges whatever the
 * watch missed), counted per group.
 *
 * @module
 */
import { PrefixMirror, type Store } from "@faas/coordination";

/** Options for {@linkcode ConvergingKeySet}. */
export interface ConvergingKeySetOptions {
  /** The group a key counts in; `undefined` ignores the key. */
  groupOf: (key: string) => string | undefined;
  /** Time between full listings. @default {5_000} */
  reconcileIntervalMs?: number;
  /** Pause before listing or watching again after a failure. @default {500} */
  retryDelayMs?: number;
}

/** A self-correcting count of the keys under a prefix. Dispose to stop watching. */
export class ConvergingKeySet implements AsyncDisposable {
  readonly #groups = new Map<string, number>();
  readonly #mirror: PrefixMirror<string>;

  /** Starts listing and watching `prefix` at once. */
  constructor(store: Store, prefix: string, options: ConvergingKeySetOptions) {
    this.#mirror = new PrefixMirror(store, prefix, {
      parse: (kv) => options.groupOf(kv.key),
      onChange: (_key, group, previous) => {
        if (previous !== undefined) this.#add(previous, -1);
        if (group !== undefined) this.#add(group, 1);
      },
      ...(options.reconcileIntervalMs === undefined
        ? {}
        : { reconcileIntervalMs: options.reconcileIntervalMs }),
      ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    });
  }

  /** Whether the first listing has been applied (counts mean something). */
  get ready(): boolean {
    return this.#mirror.ready;
  }

  /** Resolves once the first listing has been applied; rejects if `signal` aborts first. */
  whenReady(signal?: AbortSignal): Promise<void> {
    return this.#mirror.whenReady(signal);
  }

  /** Counted keys in `group`. */
  count(group: string): number {
    return this.#groups.get(group) ?? 0;
  }

  /** All counted keys. */
  get size(): number {
    return this.#mirror.size;
  }

  /** Whether `key` is counted now. */
  has(key: string): boolean {
    return this.#mirror.has(key);
  }

  /** Lists the prefix now and merges the result. */
  reconcile(signal?: AbortSignal): Promise<void> {
    return this.#mirror.reconcile(signal);
  }

  /** Stops watching and listing. */
  close(): Promise<void> {
    return this.#mirror.close();
  }

  /** Same as {@linkcode ConvergingKeySet.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #add(group: string, delta: number): void {
    const count = (this.#groups.get(group) ?? 0) + delta;
    if (count > 0) this.#groups.set(group, count);
    else this.#groups.delete(group);
  }
}
