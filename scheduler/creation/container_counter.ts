/**
 * Live and in-progress container counts per action revision and per
 * namespace, for the scaling decision (design §4.2).
 *
 * Live containers are the keys invokers write under
 * `{cluster}/namespace/{ns}/…` with their leases; creations in progress are
 * the keys creation job managers write under `{cluster}/in-progress/{ns}/…`.
 * Each namespace a queue asks about gets two {@linkcode ConvergingKeySet}s:
 * a watch for speed plus a full listing every `reconcileIntervalMs`, so counts
 * return to the truth after crashes, lease expiries and lost events, and never
 * drift upwards for longer than one interval.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import type { ClusterKeys, ContainerKeyParts } from "@faas/proto";
import { ConvergingKeySet } from "./converging_key_set.ts";

/** Containers of one action revision or one namespace. */
export interface ContainerCounts {
  /** Live containers (registered by invokers). */
  readonly existing: number;
  /** Creations not acknowledged yet (registered by schedulers). */
  readonly inProgress: number;
}

/** Options for {@linkcode ContainerCounter}. */
export interface ContainerCounterOptions {
  /** Time between full listings of each namespace. @default {5_000} */
  reconcileIntervalMs?: number;
  /** Pause before listing or watching again after a failure. @default {500} */
  retryDelayMs?: number;
}

interface NamespaceCounts {
  readonly existing: ConvergingKeySet;
  readonly inProgress: ConvergingKeySet;
  references: number;
}

const ZERO: ContainerCounts = Object.freeze({ existing: 0, inProgress: 0 });
const groupKey = (fqn: string, revision: string) => `${fqn}\n${revision}`;

/**
 * Counts containers of the namespaces someone retains.
 *
 * @example
 * ```ts
 * const counter = new ContainerCounter(store, keys);
 * using _watch = counter.retain("guest");
 * await counter.whenReady("guest");
 * counter.action("guest", "guest/hello", "1-a"); // { existing, inProgress }
 * ```
 */
export class ContainerCounter implements AsyncDisposable {
  readonly #store: Store;
  readonly #keys: ClusterKeys;
  readonly #options: ContainerCounterOptions;
  readonly #namespaces = new Map<string, NamespaceCounts>();
  readonly #stopping = new Set<Promise<void>>();

  /** Counts nothing until a namespace is retained. */
  constructor(store: Store, keys: ClusterKeys, options: ContainerCounterOptions = {}) {
    this.#store = store;
    this.#keys = keys;
    this.#options = options;
  }

  /** Starts counting `invocationNamespace`, or adds a reference; dispose to drop it. */
  retain(invocationNamespace: string): Disposable {
    const counts = this.#namespaces.get(invocationNamespace) ?? this.#start(invocationNamespace);
    counts.references++;
    let released = false;
    return {
      [Symbol.dispose]: () => {
        if (released) return;
        released = true;
        if (--counts.references > 0) return;
        this.#namespaces.delete(invocationNamespace);
        this.#stop(counts);
      },
    };
  }

  /** Whether the counts of a retained namespace reflect a first listing. */
  isReady(invocationNamespace: string): boolean {
    const counts = this.#namespaces.get(invocationNamespace);
    return counts !== undefined && counts.existing.ready && counts.inProgress.ready;
  }

  /** Resolves once a retained namespace is ready. */
  async whenReady(invocationNamespace: string, signal?: AbortSignal): Promise<void> {
    const counts = this.#namespaces.get(invocationNamespace);
    if (!counts) throw new RangeError(`Namespace "${invocationNamespace}" is not retained`);
    await Promise.all([counts.existing.whenReady(signal), counts.inProgress.whenReady(signal)]);
  }

  /** Counts of one action revision; zero for a namespace not retained. */
  action(invocationNamespace: string, fqn: string, revision: string): ContainerCounts {
    const counts = this.#namespaces.get(invocationNamespace);
    if (!counts) return ZERO;
    const group = groupKey(fqn, revision);
    return { existing: counts.existing.count(group), inProgress: counts.inProgress.count(group) };
  }

  /** Counts of every action of a namespace; zero for a namespace not retained. */
  namespace(invocationNamespace: string): ContainerCounts {
    const counts = this.#namespaces.get(invocationNamespace);
    if (!counts) return ZERO;
    return { existing: counts.existing.size, inProgress: counts.inProgress.size };
  }

  /** Whether an in-progress key is counted now (its registration reached the counter). */
  countsInProgress(key: string): boolean {
    const parts = this.#keys.parseContainerKey(key);
    if (parts?.kind !== "in_progress") return false;
    return this.#namespaces.get(parts.invocationNamespace)?.inProgress.has(key) ?? false;
  }

  /** Lists every retained namespace now, instead of waiting for the next interval. */
  async reconcile(signal?: AbortSignal): Promise<void> {
    const sets = [...this.#namespaces.values()].flatMap((c) => [c.existing, c.inProgress]);
    await Promise.all(sets.map((set) => set.reconcile(signal)));
  }

  /** Stops counting every namespace. */
  async close(): Promise<void> {
    for (const counts of this.#namespaces.values()) this.#stop(counts);
    this.#namespaces.clear();
    await Promise.all(this.#stopping);
  }

  /** Same as {@linkcode ContainerCounter.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #start(invocationNamespace: string): NamespaceCounts {
    const set = (prefix: string, kind: ContainerKeyParts["kind"]) =>
      new ConvergingKeySet(this.#store, prefix, {
        ...this.#options,
        groupOf: (key) => {
          const parts = this.#keys.parseContainerKey(key);
          // Also rejects `in-progress/queue/…` markers when the namespace is called "queue".
          if (parts?.kind !== kind || parts.invocationNamespace !== invocationNamespace) {
            return undefined;
          }
          return groupKey(parts.fqn, parts.revision);
        },
      });
    const counts: NamespaceCounts = {
      existing: set(this.#keys.namespaceContainers(invocationNamespace), "existing"),
      inProgress: set(this.#keys.namespaceInProgress(invocationNamespace), "in_progress"),
      references: 0,
    };
    this.#namespaces.set(invocationNamespace, counts);
    return counts;
  }

  #stop(counts: NamespaceCounts): void {
    const stopping = Promise.all([counts.existing.close(), counts.inProgress.close()]).then(
      () => {},
    );
    this.#stopping.add(stopping);
    void stopping.finally(() => this.#stopping.delete(stopping));
  }
}
