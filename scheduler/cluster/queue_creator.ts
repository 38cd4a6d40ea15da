/**
 * Queue creation across schedulers: CreateQueue places a queue on the least
 * loaded schedulers (one leader, the others followers), and a new leader
 * recruits followers so that its queue survives its death.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { CLUSTER_TOKEN_METADATA_KEY, type ClusterKeys, QueueLeader, RpcError } from "@faas/proto";
import { getLogger } from "@std/log";
import type { QueueRole } from "../queue/queue_manager.ts";
import type { Peer, Peers } from "./peers.ts";

const logger = getLogger("scheduler", "creation");

/** What the creator needs from the rest of the scheduler. */
export interface QueueCreatorDeps {
  readonly store: Store;
  readonly keys: ClusterKeys;
  readonly peers: Peers;
  /** The token peers' QueueService asks for. */
  readonly clusterToken: () => Promise<string>;
  readonly selfSid: string;
  readonly leaseId: () => string;
  /** Joins the queue locally (see `QueueManager.lead` and `Followers.follow`). */
  join(invocationNamespace: string, fqn: string, revision: string | null): Promise<QueueRole>;
}

/** Options for {@linkcode QueueCreator}. */
export interface QueueCreatorOptions {
  /** Schedulers that host each queue: one leader and the rest followers. @default {3} */
  replicas?: number;
  /** How long CreateQueue waits for a leader to appear. @default {8_000} */
  leaderWaitMs?: number;
}

/** The queue an action needs, as CreateQueue and JoinQueue name it. */
export interface QueueTarget {
  readonly invocationNamespace: string;
  /** Action path without version. */
  readonly fqn: string;
  /** The fqn JSON as received, passed on to peers unchanged. */
  readonly fqnJson: string;
  readonly revision: string | null;
}

/** Creates queues and recruits followers. */
export class QueueCreator {
  readonly #deps: QueueCreatorDeps;
  readonly #replicas: number;
  readonly #leaderWaitMs: number;
  /** Queues this creator is placing: their chosen peers are joined already. */
  readonly #placing = new Set<string>();

  constructor(deps: QueueCreatorDeps, options: QueueCreatorOptions = {}) {
    const { replicas = 3, leaderWaitMs = 8_000 } = options;
    this.#deps = deps;
    this.#replicas = replicas;
    this.#leaderWaitMs = leaderWaitMs;
  }

  /**
   * Makes sure the queue exists and answers its leader. Of many concurrent
   * callers, only the one that marks the creation in etcd places the queue;
   * the others wait for the leader key it produces. A queue placed on this
   * scheduler alone (the only one registered) needs neither the marker nor a
   * first read of the leader key: joining it answers the leader.
   *
   * @throws {RpcError} UNAVAILABLE when no leader appears in time
   */
  async create(target: QueueTarget, signal?: AbortSignal): Promise<QueueLeader> {
    const { store, keys, selfSid, leaseId } = this.#deps;
    const peers = await this.#deps.peers.list();
    if (!peers.slice(0, this.#replicas).some((peer) => peer.sid !== selfSid)) {
      // Placed here alone: joining competes for the leader key, which answers who
      // leads (also when the queue exists) and decides between racing callers.
      const local = await this.#place(target, peers);
      return local?.leader ?? await this.#waitForLeader(target, signal);
    }
    const existing = await this.#leader(target);
    if (existing) return existing;
    const marker = keys.queueCreation(target.invocationNamespace, target.fqn);
    const mark = await store.createIfAbsent(marker, selfSid, { leaseId: leaseId() });
    if (mark.created) {
      let local: QueueRole | undefined;
      try {
        local = await this.#place(target, peers);
      } finally {
        // Not awaited: callers racing this one find the leader key, not the marker.
        void store.deleteIfCreateRevision(marker, mark.kv.createRevision).catch(() => false);
      }
      // Joining here answered who leads (this scheduler, or whoever won the key).
      if (local) return local.leader;
    }
    return await this.#waitForLeader(target, signal);
  }

  /**
   * Asks `replicas − 1` other schedulers to follow a queue this scheduler now
   * leads; nothing to do when it leads because {@linkcode create} placed the
   * queue here, as that joined the chosen peers already.
   */
  async recruit(target: Omit<QueueTarget, "fqnJson"> & { fqnJson?: string }): Promise<void> {
    if (this.#placing.has(placingKey(target))) return;
    const others = (await this.#deps.peers.list()).filter((p) => p.sid !== this.#deps.selfSid);
    const fqnJson = target.fqnJson ?? JSON.stringify(splitPath(target.fqn));
    await Promise.allSettled(
      others.slice(0, this.#replicas - 1).map((peer) =>
        this.#joinRemote(peer, { ...target, fqnJson })
      ),
    );
  }

  /** Joins the chosen peers; resolves with this scheduler's role if it joined too. */
  async #place(target: QueueTarget, peers: readonly Peer[]): Promise<QueueRole | undefined> {
    const chosen = peers.slice(0, this.#replicas);
    const key = placingKey(target);
    this.#placing.add(key);
    let local: Promise<QueueRole> | undefined;
    try {
      const joins = chosen.map((peer) =>
        peer.sid === this.#deps.selfSid
          ? local = this.#deps.join(target.invocationNamespace, target.fqn, target.revision)
          : this.#joinRemote(peer, target)
      );
      const results = await Promise.allSettled(joins);
      // With every chosen peer unreachable, host the queue here rather than fail.
      if (!results.some((r) => r.status === "fulfilled")) {
        return await this.#deps.join(target.invocationNamespace, target.fqn, target.revision);
      }
    } finally {
      this.#placing.delete(key);
    }
    return await local?.catch(() => undefined);
  }

  async #joinRemote(peer: Peer, target: QueueTarget): Promise<void> {
    try {
      const metadata = { [CLUSTER_TOKEN_METADATA_KEY]: await this.#deps.clusterToken() };
      await this.#deps.peers.client(peer).joinQueue({
        invocationNamespace: target.invocationNamespace,
        fqn: target.fqnJson,
        rev: JSON.stringify(target.revision),
      }, { timeoutMs: 5_000, metadata });
    } catch (error) {
      logger.warn("Scheduler {sid} did not join the queue of {fqn}: {error}", {
        sid: peer.sid,
        fqn: target.fqn,
        error: String(error),
      });
      throw error;
    }
  }

  async #leader(target: QueueTarget): Promise<QueueLeader | undefined> {
    const kv = await this.#deps.store.get(
      this.#deps.keys.queueLeader(target.invocationNamespace, target.fqn),
    );
    if (!kv) return undefined;
    try {
      return QueueLeader.parse(JSON.parse(kv.value));
    } catch {
      return undefined;
    }
  }

  async #waitForLeader(target: QueueTarget, signal?: AbortSignal): Promise<QueueLeader> {
    const deadline = Date.now() + this.#leaderWaitMs;
    for (
      let delayMs = 5;
      Date.now() < deadline && !signal?.aborted;
      delayMs = Math.min(delayMs * 2, 200)
    ) {
      const leader = await this.#leader(target);
      if (leader) return leader;
      await new Promise((r) => setTimeout(r, delayMs));
    }
    throw new RpcError(
      "UNAVAILABLE",
      `No leader for the queue of "${target.fqn}" after ${this.#leaderWaitMs} ms`,
    );
  }
}

function placingKey(target: { invocationNamespace: string; fqn: string }): string {
  return `${target.invocationNamespace}\n${target.fqn}`;
}

function splitPath(fqn: string): { path: string; name: string } {
  const at = fqn.lastIndexOf("/");
  return { path: fqn.slice(0, at), name: fqn.slice(at + 1) };
}
