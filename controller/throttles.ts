/**
 * The throttling flags schedulers set in etcd, mirrored in memory so the
 * invoke path checks them without a round trip. The mirror starts from a full
 * read of `{cluster}/throttling/` and then follows a watch from that read's
 * revision: OpenWhisk's controller only watched, so flags set before it
 * started were never seen.
 *
 * @module
 */
import { sleep } from "@faas/async";
import type { Store, WatchEvent } from "@faas/coordination";
import { type ClusterKeys, clusterKeys } from "@faas/proto";
import { getLogger } from "@std/log";

const logger = getLogger("controller", "throttles");

/** Options for {@linkcode Throttles.start}. */
export interface ThrottlesOptions {
  /** Delay before reading everything again after the watch failed. @default {500} */
  readonly retryDelayMs?: number;
}

/** Which actions and namespaces the schedulers throttle right now. */
export class Throttles implements AsyncDisposable {
  readonly #store: Store;
  readonly #keys: ClusterKeys;
  readonly #retryDelayMs: number;
  readonly #flags = new Map<string, boolean>();
  readonly #stop = new AbortController();
  #running: Promise<void> = Promise.resolve();

  private constructor(store: Store, cluster: string, options: ThrottlesOptions) {
    this.#store = store;
    this.#keys = clusterKeys(cluster);
    this.#retryDelayMs = options.retryDelayMs ?? 500;
  }

  /** Loads every flag, then keeps following changes until closed. */
  static async start(
    store: Store,
    cluster: string,
    options: ThrottlesOptions = {},
  ): Promise<Throttles> {
    const throttles = new Throttles(store, cluster, options);
    const revision = await throttles.#load();
    throttles.#running = throttles.#follow(revision);
    return throttles;
  }

  /**
   * Whether invoking `fqn` in `namespace` is throttled: the action's flag
   * decides when it exists, the namespace's otherwise (as in OpenWhisk).
   */
  isThrottled(namespace: string, fqn: string): boolean {
    return this.#flags.get(this.#keys.actionThrottling(namespace, fqn)) ??
      this.#flags.get(this.#keys.namespaceThrottling(namespace)) ?? false;
  }

  /** Stops following changes. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #load(): Promise<number> {
    const snapshot = await this.#store.getPrefix(this.#keys.throttling);
    this.#flags.clear();
    for (const kv of snapshot.kvs) this.#flags.set(kv.key, kv.value === "true");
    return snapshot.revision;
  }

  async #follow(revision: number): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        const events = this.#store.watchPrefix(this.#keys.throttling, {
          signal,
          fromRevision: revision + 1,
        });
        for await (const event of events) revision = this.#apply(event);
        return;
      } catch (error) {
        if (signal.aborted) return;
        logger.warn("Throttling watch failed; reading the flags again: {error}", {
          error: String(error),
        });
        revision = await this.#reloadAfterDelay(revision);
      }
    }
  }

  async #reloadAfterDelay(revision: number): Promise<number> {
    await sleep(this.#retryDelayMs, this.#stop.signal);
    if (this.#stop.signal.aborted) return revision;
    try {
      return await this.#load();
    } catch {
      return revision;
    }
  }

  #apply(event: WatchEvent): number {
    if (event.type === "put") {
      this.#flags.set(event.kv.key, event.kv.value === "true");
      return event.kv.modRevision;
    }
    this.#flags.delete(event.key);
    return event.revision;
  }
}
