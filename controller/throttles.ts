/**
 * The throttling flags schedulers set in etcd, mirrored in memory so the
 * invoke path checks them without a round trip. The mirror starts from a full
 * read of `{cluster}/throttling/` and then follows a watch: OpenWhisk's
 * controller only watched, so flags set before it started were never seen.
 *
 * @module
 */
import { PrefixMirror, type Store } from "@faas/coordination";
import { type ClusterKeys, clusterKeys } from "@faas/proto";

/** Which actions and namespaces the schedulers throttle right now. */
export class Throttles implements AsyncDisposable {
  readonly #keys: ClusterKeys;
  readonly #flags: PrefixMirror<boolean>;

  private constructor(store: Store, cluster: string) {
    this.#keys = clusterKeys(cluster);
    this.#flags = new PrefixMirror(store, this.#keys.throttling, {
      parse: (kv) => kv.value === "true",
    });
  }

  /** Loads every flag, then keeps following changes until closed. */
  static async start(store: Store, cluster: string, signal?: AbortSignal): Promise<Throttles> {
    const throttles = new Throttles(store, cluster);
    await throttles.#flags.whenReady(signal);
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
  close(): Promise<void> {
    return this.#flags.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
