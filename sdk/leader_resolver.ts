/**
 * Finding the scheduler that leads an action's queue.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { clusterKeys, QueueLeader, type SchedulerEndpoints } from "@faas/proto";

/** Looks up where an action's queue lives now. */
export interface LeaderResolver {
  /** The leader's endpoint, or `undefined` when no scheduler leads the queue. */
  resolve(invocationNamespace: string, fqn: string): Promise<SchedulerEndpoints | undefined>;
}

/** Reads the leader key of the action from the coordination store (etcd). */
export function storeLeaderResolver(store: Store, cluster: string): LeaderResolver {
  const keys = clusterKeys(cluster);
  return {
    async resolve(invocationNamespace, fqn) {
      const kv = await store.get(keys.queueLeader(invocationNamespace, fqn));
      if (!kv) return undefined;
      let raw: unknown;
      try {
        raw = JSON.parse(kv.value);
      } catch {
        return undefined;
      }
      const leader = QueueLeader.safeParse(raw);
      return leader.success ? { host: leader.data.host, rpcPort: leader.data.rpcPort } : undefined;
    },
  };
}
