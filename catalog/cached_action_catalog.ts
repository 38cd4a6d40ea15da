/**
 * The action catalog with the current version of recently read actions kept
 * in memory, so an invoke costs no store round trip. A watch on the catalog
 * drops an entry as soon as its action changes anywhere (and this catalog's
 * own writes drop it at once); while the watch is down nothing is served from
 * memory. Entries are bounded; the least recently used go first.
 *
 * @module
 */
import { sleep } from "@faas/async";
import type { Store } from "@faas/coordination";
import { type ActionDoc, type ClusterKeys, clusterKeys } from "@faas/proto";
import { getLogger } from "@std/log";
import { ActionCatalog, type ActionInput } from "./action_catalog.ts";

const logger = getLogger("catalog", "latest");

/** Options for {@linkcode CachedActionCatalog.start}. */
export interface CachedActionCatalogOptions {
  /** Most actions kept. @default {1_000} */
  readonly maxEntries?: number;
  /** Pause before watching again after the watch failed. @default {500} */
  readonly retryDelayMs?: number;
}

/** An {@linkcode ActionCatalog} whose `get` reads through a cache kept valid by a watch. */
export class CachedActionCatalog extends ActionCatalog implements AsyncDisposable {
  readonly #store: Store;
  readonly #keys: ClusterKeys;
  readonly #maxEntries: number;
  readonly #retryDelayMs: number;
  readonly #entries = new Map<string, ActionDoc | undefined>();
  /** Reads under way per key, and whether the key changed meanwhile (then they may be stale). */
  readonly #reads = new Map<string, { readers: number; changed: boolean }>();
  readonly #stop = new AbortController();
  #watching = false;
  /** Bumped whenever the watch stops: reads begun before may have missed a change. */
  #epoch = 0;
  #running: Promise<void> = Promise.resolve();

  private constructor(store: Store, cluster: string, options: CachedActionCatalogOptions) {
    super(store, cluster);
    this.#store = store;
    this.#keys = clusterKeys(cluster);
    this.#maxEntries = options.maxEntries ?? 1_000;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
  }

  /** Starts watching the catalog of `cluster`; resolves once the watch follows it. */
  static async start(
    store: Store,
    cluster: string,
    options: CachedActionCatalogOptions = {},
  ): Promise<CachedActionCatalog> {
    const cache = new CachedActionCatalog(store, cluster, options);
    const from = await cache.#currentRevision();
    cache.#running = cache.#follow(from);
    return cache;
  }

  /** Like {@linkcode ActionCatalog.get}; answers from memory when it safely can. */
  override async get(namespacePath: string, name: string): Promise<ActionDoc | undefined> {
    const key = this.#keys.action(namespacePath, name);
    if (this.#watching && this.#entries.has(key)) {
      const doc = this.#entries.get(key);
      this.#entries.delete(key); // the most recently used goes last
      this.#entries.set(key, doc);
      return doc;
    }
    const epoch = this.#epoch;
    const read = this.#reads.get(key) ?? { readers: 0, changed: false };
    read.readers++;
    this.#reads.set(key, read);
    try {
      const doc = await super.get(namespacePath, name);
      if (this.#watching && epoch === this.#epoch && !read.changed) this.#remember(key, doc);
      return doc;
    } finally {
      if (--read.readers === 0) this.#reads.delete(key);
    }
  }

  override async put(
    input: ActionInput,
    options: { overwrite?: boolean } = {},
  ): Promise<ActionDoc> {
    try {
      return await super.put(input, options);
    } finally {
      this.#forget(this.#keys.action(input.namespace, input.name));
    }
  }

  override async delete(namespacePath: string, name: string): Promise<ActionDoc | undefined> {
    try {
      return await super.delete(namespacePath, name);
    } finally {
      this.#forget(this.#keys.action(namespacePath, name));
    }
  }

  /** How many actions are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Stops watching. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Drops `key`, and keeps reads of it under way from caching what they read. */
  #forget(key: string): void {
    this.#entries.delete(key);
    const read = this.#reads.get(key);
    if (read) read.changed = true;
  }

  #remember(key: string, doc: ActionDoc | undefined): void {
    this.#entries.set(key, doc);
    if (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** The store's revision now: a watch from the next one misses nothing read after. */
  async #currentRevision(): Promise<number> {
    // An empty range answers with the store revision and no data.
    const { revision } = await this.#store.getPrefix(`${this.#keys.allActions}\u0000probe/`);
    return revision;
  }

  async #follow(fromRevision: number): Promise<void> {
    const signal = this.#stop.signal;
    let next = fromRevision + 1;
    while (!signal.aborted) {
      try {
        this.#watching = true;
        const events = this.#store.watchPrefix(this.#keys.allActions, {
          signal,
          fromRevision: next,
        });
        for await (const event of events) {
          this.#forget(event.type === "put" ? event.kv.key : event.key);
          next = (event.type === "put" ? event.kv.modRevision : event.revision) + 1;
        }
      } catch (error) {
        if (!signal.aborted) {
          logger.warn("Catalog watch failed; reading actions from the store: {error}", {
            error: String(error),
          });
        }
      }
      this.#watching = false;
      this.#epoch++;
      this.#entries.clear();
      if (signal.aborted) return;
      await sleep(this.#retryDelayMs, signal);
      try {
        // The history may be compacted: start again from now with an empty cache.
        next = (await this.#currentRevision()) + 1;
      } catch {
        // Still unreachable: the next round tries again.
      }
    }
  }
}
