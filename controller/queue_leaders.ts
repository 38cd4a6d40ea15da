/**
 * The scheduler leading each action's queue, mirrored in memory from the
 * leader keys (`{cluster}/queue/{ns}/{fqn}/leader`), so routing an activation
 * costs no etcd round trip. A leader that just changed may be seen a few
 * milliseconds late; the old leader forwards what reaches it, as it does for
 * any activation sent during a failover.
 *
 * @module
 */
import { PrefixMirror, type Store } from "@faas/coordination";
import { type ClusterKeys, clusterKeys, QueueLeader } from "@faas/proto";

/** Where each queue's leader is. */
export class QueueLeaders implements AsyncDisposable {
  readonly #keys: ClusterKeys;
  readonly #leaders: PrefixMirror<string>;

  private constructor(store: Store, cluster: string) {
    this.#keys = clusterKeys(cluster);
    this.#leaders = new PrefixMirror(store, this.#keys.queues, {
      parse: (kv) => kv.key.endsWith("/leader") ? sidOf(kv.value) : undefined,
    });
  }

  /** Reads every leader key, then follows changes until closed. */
  static async start(store: Store, cluster: string, signal?: AbortSignal): Promise<QueueLeaders> {
    const leaders = new QueueLeaders(store, cluster);
    await leaders.#leaders.whenReady(signal);
    return leaders;
  }

  /** The id of the scheduler leading the queue of `fqn` for `namespace`, if any. */
  leaderOf(namespace: string, fqn: string): string | undefined {
    return this.#leaders.get(this.#keys.queueLeader(namespace, fqn));
  }

  /** Stops following changes. */
  close(): Promise<void> {
    return this.#leaders.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// An unreadable leader key is treated as absent, as OpenWhisk does.
function sidOf(value: string): string | undefined {
  try {
    const leader = QueueLeader.safeParse(JSON.parse(value));
    return leader.success ? leader.data.sid : undefined;
  } catch {
    return undefined;
  }
}
