/**
 * Follower queues: this scheduler stands by for queues another scheduler
 * leads, and takes one over when its leader dies.
 *
 * A leader key disappears for two reasons: its scheduler released it (idle
 * queue, shutdown) or its scheduler's lease expired. Lease expiry deletes the
 * scheduler's registration in the same etcd revision, so a follower that still
 * finds the leader's registration knows the release was deliberate and stands
 * down; otherwise it competes for the key at once, so containers find a new
 * leader within the lease TTL.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { type ClusterKeys, QueueLeader } from "@faas/proto";
import { getLogger } from "@std/log";
import type { QueueRole } from "../queue/queue_manager.ts";

const logger = getLogger("scheduler", "followers");

/** What followers need from the rest of the scheduler. */
export interface FollowerDeps {
  readonly store: Store;
  readonly keys: ClusterKeys;
  readonly selfSid: string;
  /** Competes for a queue (see `QueueManager.lead`). */
  lead(invocationNamespace: string, fqn: string, revision: string | null): Promise<QueueRole>;
}

interface Followed {
  readonly invocationNamespace: string;
  readonly fqn: string;
  readonly revision: string | null;
  leaderSid: string;
}

/** The queues this scheduler follows, kept current by one watch on all queue keys. */
export class Followers implements AsyncDisposable {
  readonly #deps: FollowerDeps;
  readonly #followed = new Map<string, Followed>();
  readonly #stop = new AbortController();
  readonly #watching: Promise<void>;
  #takeovers = 0;

  constructor(deps: FollowerDeps) {
    this.#deps = deps;
    this.#watching = this.#watch();
  }

  /** Queues taken over so far. */
  get takeovers(): number {
    return this.#takeovers;
  }

  /** Number of queues followed. */
  get size(): number {
    return this.#followed.size;
  }

  /** Stands by for the queue that `leaderSid` leads. */
  follow(
    invocationNamespace: string,
    fqn: string,
    revision: string | null,
    leaderSid: string,
  ): void {
    const key = this.#deps.keys.queueLeader(invocationNamespace, fqn);
    this.#followed.set(key, { invocationNamespace, fqn, revision, leaderSid });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    await this.#watching;
  }

  async #watch(): Promise<void> {
    const { store, keys } = this.#deps;
    while (!this.#stop.signal.aborted) {
      try {
        for await (const event of store.watchPrefix(keys.queues, { signal: this.#stop.signal })) {
          const followed = this.#followed.get(event.type === "put" ? event.kv.key : event.key);
          if (!followed) continue;
          if (event.type === "put") this.#noteLeader(followed, event.kv.value);
          else await this.#onLeaderGone(followed);
        }
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        logger.warn("Queue watch failed, restarting: {error}", { error: String(error) });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  #noteLeader(followed: Followed, value: string): void {
    try {
      followed.leaderSid = QueueLeader.parse(JSON.parse(value)).sid;
    } catch {
      // A malformed leader value is treated as an unknown leader.
      followed.leaderSid = "";
    }
  }

  async #onLeaderGone(followed: Followed): Promise<void> {
    const { store, keys, selfSid } = this.#deps;
    const key = keys.queueLeader(followed.invocationNamespace, followed.fqn);
    const alive = followed.leaderSid !== "" && followed.leaderSid !== selfSid &&
      (await store.get(keys.scheduler(followed.leaderSid))) !== undefined;
    if (alive) {
      this.#followed.delete(key);
      return;
    }
    const role = await this.#deps.lead(
      followed.invocationNamespace,
      followed.fqn,
      followed.revision,
    );
    if (role.role === "leader") {
      this.#followed.delete(key);
      this.#takeovers++;
      logger.info("Took over the queue of {fqn} from scheduler {sid}", {
        fqn: followed.fqn,
        sid: followed.leaderSid,
      });
    } else followed.leaderSid = role.leader.sid;
  }
}
