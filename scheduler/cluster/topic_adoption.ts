/**
 * Draining the topics of dead schedulers. Every scheduler records its topic
 * durably in etcd. When a scheduler's registration is gone (its lease
 * expired), one surviving scheduler wins `{cluster}/adoption/{sid}` and joins
 * the dead scheduler's consumer group: Kafka hands it every activation the
 * dead one had not released (committed), plus whatever controllers still send
 * there, and it routes them to their queues. When the scheduler comes back,
 * the adopter lets go.
 *
 * @module
 */
import type { Bus } from "@faas/bus";
import type { Store } from "@faas/coordination";
import type { ClusterKeys, Topics } from "@faas/proto";
import { getLogger } from "@std/log";
import {
  type ActivationFeed,
  type ActivationSink,
  startActivationFeed,
} from "../activation_feed.ts";

const logger = getLogger("scheduler", "adoption");

/** What adoption needs from the rest of the scheduler. */
export interface TopicAdoptionDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly keys: ClusterKeys;
  readonly topics: Topics;
  readonly selfSid: string;
  readonly leaseId: () => string;
  readonly sink: ActivationSink;
}

/** Options for {@linkcode TopicAdoption}. */
export interface TopicAdoptionOptions {
  /** How often registrations are compared with recorded topics. @default {500} */
  intervalMs?: number;
}

/** Adopts the topics of dead schedulers. */
export class TopicAdoption implements AsyncDisposable {
  readonly #deps: TopicAdoptionDeps;
  readonly #adopted = new Map<string, ActivationFeed>();
  readonly #timer: ReturnType<typeof setInterval>;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(deps: TopicAdoptionDeps, options: TopicAdoptionOptions = {}) {
    const { intervalMs = 500 } = options;
    this.#deps = deps;
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.#reconcile()).catch((error) =>
        logger.warn("Topic adoption check failed: {error}", { error: String(error) })
      );
    }, intervalMs);
  }

  /** Sids whose topics this scheduler consumes for them. */
  get adopted(): readonly string[] {
    return [...this.#adopted.keys()];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
    await Promise.all([...this.#adopted.keys()].map((sid) => this.#release(sid)));
  }

  async #reconcile(): Promise<void> {
    if (this.#closed) return;
    const { store, keys, selfSid } = this.#deps;
    const recorded = sidsUnder(await store.getPrefix(keys.schedulerTopics), keys.schedulerTopics);
    const alive = new Set(sidsUnder(await store.getPrefix(keys.schedulers), keys.schedulers));
    for (const sid of recorded) {
      if (sid === selfSid) continue;
      if (alive.has(sid)) {
        if (this.#adopted.has(sid)) await this.#release(sid);
      } else if (!this.#adopted.has(sid)) {
        await this.#tryAdopt(sid);
      }
    }
  }

  async #tryAdopt(sid: string): Promise<void> {
    const { store, keys, selfSid, leaseId, bus, topics, sink } = this.#deps;
    const claim = await store.createIfAbsent(keys.adoption(sid), selfSid, { leaseId: leaseId() });
    if (!claim.created && claim.current.leaseId !== leaseId()) return;
    const topic = topics.scheduler(sid);
    logger.info("Adopting the topic {topic} of dead scheduler {sid}", { topic, sid });
    this.#adopted.set(sid, await startActivationFeed({ bus, topic, sink }));
  }

  async #release(sid: string): Promise<void> {
    const feed = this.#adopted.get(sid);
    this.#adopted.delete(sid);
    await feed?.close();
    await this.#deps.store.delete(this.#deps.keys.adoption(sid)).catch(() => false);
    logger.info("Released the topic of scheduler {sid}", { sid });
  }
}

function sidsUnder(snapshot: { kvs: readonly { key: string }[] }, prefix: string): string[] {
  return snapshot.kvs.map((kv) => kv.key.slice(prefix.length)).filter((sid) => !sid.includes("/"));
}
