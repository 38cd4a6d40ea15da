/**
 * Routes activations to the queue of their action revision, creating the queue
 * (and winning its leader key in etcd) on first use, and serves container
 * fetches from those queues.
 *
 * @module
 */
import { sleep } from "@faas/async";
import type { Store } from "@faas/coordination";
import {
  type ActivationMessage,
  type ClusterKeys,
  compareRevisions,
  entityPath,
  type FetchResult,
  QueueLeader,
  type StatusCode,
} from "@faas/proto";
import { getLogger } from "@std/log";
import {
  type FetchQuery,
  MemoryQueue,
  type MemoryQueueOptions,
  type QueueCounts,
  type QueuedActivation,
} from "./memory_queue.ts";
import type { QueueScaler } from "./queue_scaler.ts";
import { RecentIds } from "./recent_ids.ts";
import type { CreationOutcome } from "../creation/mod.ts";

const logger = getLogger("scheduler", "queue");

/** What the manager needs from the rest of the scheduler. */
export interface QueueManagerDeps {
  readonly store: Store;
  /** The lease every key this scheduler writes is bound to. */
  readonly leaseId: () => string;
  readonly keys: ClusterKeys;
  /** This scheduler, as written into the leader keys it wins (known once its server listens). */
  readonly self: () => QueueLeader;
  /** Sends an activation to the scheduler `sid` (its Kafka topic). */
  forward(sid: string, message: ActivationMessage): Promise<void>;
  /** Completes an activation with an error record. */
  complete(message: ActivationMessage, error: string, statusCode: StatusCode): Promise<void>;
  /** Provisions containers for leader queues; without it, only self-pulling containers serve. */
  readonly scaler?: QueueScaler;
  /** Called after this scheduler became the leader of a queue, to recruit followers. */
  onLeading?(invocationNamespace: string, fqn: string, revision: string | null): void;
}

/** Options for {@linkcode QueueManager}. */
export interface QueueManagerOptions {
  /** Options for every queue. */
  queue?: MemoryQueueOptions;
  /** Activation ids remembered to drop redelivered duplicates. @default {100_000} */
  dedupeCapacity?: number;
  /** Delay between leader-key attempts while etcd is unreachable. @default {250} */
  retryDelayMs?: number;
}

/** A fetch, validated and parsed. */
export interface ActionFetch extends FetchQuery {
  readonly invocationNamespace: string;
  readonly fqn: string;
  readonly revision: string | null;
}

interface ActionQueues {
  readonly invocationNamespace: string;
  readonly fqn: string;
  readonly leaderCreateRevision: number;
  current: MemoryQueue;
  /** Every live queue of the action by revision, the current one included. */
  readonly byRevision: Map<string, MemoryQueue>;
  /**
   * Ticks skip the action until then: its only queue is quiet and its scaling
   * settled, so nothing but time changes it. Anything reaching the queue wakes
   * it (sets 0) first.
   */
  sleepsUntil: number;
}

/** The outcome of competing for a queue's leader key. */
export type Election =
  | { readonly kind: "leader"; readonly createRevision: number }
  | { readonly kind: "follower"; readonly leader: QueueLeader };

/** This scheduler's role for one queue after {@linkcode QueueManager.lead}. */
export type QueueRole =
  | { readonly role: "leader"; readonly leader: QueueLeader }
  | { readonly role: "follower"; readonly leader: QueueLeader };

const revisionKey = (rev: string | null) => rev ?? "";
const actionKey = (ns: string, fqn: string) => `${ns}\n${fqn}`;

/** The registry of this scheduler's queues. */
export class QueueManager implements AsyncDisposable {
  readonly #deps: QueueManagerDeps;
  readonly #queueOptions: MemoryQueueOptions;
  readonly #retryDelayMs: number;
  readonly #actions = new Map<string, ActionQueues>();
  readonly #pending = new Map<string, QueuedActivation[]>();
  readonly #elections = new Map<string, Promise<Election>>();
  readonly #seen: RecentIds;
  readonly #closing = new AbortController();
  #duplicates = 0;

  constructor(deps: QueueManagerDeps, options: QueueManagerOptions = {}) {
    const { queue = {}, dedupeCapacity = 100_000, retryDelayMs = 250 } = options;
    this.#deps = deps;
    this.#queueOptions = queue;
    this.#retryDelayMs = retryDelayMs;
    this.#seen = new RecentIds(dedupeCapacity);
  }

  /** Number of actions whose queue this scheduler leads. */
  get leaderCount(): number {
    return this.#actions.size;
  }

  /** Redelivered activations dropped so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * Takes an activation from the feed. Never waits: an action whose queue is
   * still being created holds its activations without stalling the others.
   */
  route(message: ActivationMessage, release: () => void, now = Date.now()): void {
    if (this.#seen.has(message.activationId)) {
      this.#duplicates++;
      logger.debug("Dropped duplicate activation {activationId}", {
        activationId: message.activationId,
      });
      release();
      return;
    }
    this.#dispatch({ message, release, enqueuedAt: now });
  }

  /** Serves a container's fetch. */
  fetch(request: ActionFetch, signal: AbortSignal): Promise<FetchResult> {
    const action = this.#actions.get(actionKey(request.invocationNamespace, request.fqn));
    if (!action) return Promise.resolve({ kind: "no_queue" });
    const queue = action.byRevision.get(revisionKey(request.revision));
    if (!queue) return Promise.resolve({ kind: "action_mismatch" });
    action.sleepsUntil = 0;
    return queue.fetch(request, signal);
  }

  /** Puts back an activation a container could not run; false if no queue here takes it. */
  reschedule(message: ActivationMessage): boolean {
    const fqn = entityPath(message.action);
    const action = this.#actions.get(actionKey(message.user.namespace.name, fqn));
    if (!action) return false;
    const entry = {
      message: this.#withRevision(message, action),
      release: () => {},
      enqueuedAt: Date.now(),
    };
    action.sleepsUntil = 0;
    return action.current.requeue(entry);
  }

  /**
   * Competes for the queue of an action (queue creation, or a follower taking
   * over): leads it if nobody does, otherwise reports who leads.
   */
  async lead(
    invocationNamespace: string,
    fqn: string,
    revision: string | null,
  ): Promise<QueueRole> {
    const key = actionKey(invocationNamespace, fqn);
    const local = this.#actions.get(key);
    if (local) return { role: "leader", leader: this.#deps.self() };
    const election = await this.#electOnce(invocationNamespace, fqn);
    if (election.kind === "follower") return { role: "follower", leader: election.leader };
    this.#install(invocationNamespace, fqn, revision, election.createRevision);
    return { role: "leader", leader: this.#deps.self() };
  }

  /** Whether this scheduler leads the queue of the action. */
  leads(invocationNamespace: string, fqn: string): boolean {
    return this.#actions.has(actionKey(invocationNamespace, fqn));
  }

  /** Counts of one action's current queue, if this scheduler leads it. */
  counts(invocationNamespace: string, fqn: string): QueueCounts | undefined {
    return this.#actions.get(actionKey(invocationNamespace, fqn))?.current.counts();
  }

  /** Counts of every action queue this scheduler leads (current revisions), e.g. for metrics. */
  *snapshot(): Generator<{
    readonly invocationNamespace: string;
    readonly fqn: string;
    readonly counts: QueueCounts;
  }> {
    for (const action of this.#actions.values()) {
      const { invocationNamespace, fqn } = action;
      yield { invocationNamespace, fqn, counts: action.current.counts() };
    }
  }

  /**
   * Advances every queue's timers and scaling; removes queues idle past their
   * grace. A sleeping action (see `sleepsUntil`) costs one comparison.
   */
  tick(now = Date.now()): void {
    const scaler = this.#deps.scaler;
    // Removal deletes from the maps while they are iterated, which Map iteration allows.
    for (const action of this.#actions.values()) {
      if (action.sleepsUntil > now) continue;
      const only = action.byRevision.size === 1 ? action.current : undefined;
      if (only) {
        if (only.tick(now)) void this.#removeAction(action, { reroute: true });
        else {
          scaler?.scale(only, now);
          if (!scaler || scaler.settled(only)) action.sleepsUntil = only.nextTickAt;
        }
        continue;
      }
      for (const [rev, queue] of action.byRevision) {
        const expired = queue.tick(now);
        if (queue === action.current) {
          if (expired && action.byRevision.size === 1) {
            void this.#removeAction(action, { reroute: true });
          } else this.#deps.scaler?.scale(queue, now);
        } else if (isDrained(queue.counts(now))) {
          this.#deps.scaler?.forget(queue.key);
          queue.remove();
          action.byRevision.delete(rev);
        }
      }
    }
  }

  /** A container creation ended: the queue of its revision adjusts (flushing, failing). */
  creationSettled(outcome: CreationOutcome): void {
    const action = this.#actions.get(actionKey(outcome.invocationNamespace, outcome.fqn));
    if (action) action.sleepsUntil = 0;
    const queue = action?.byRevision.get(revisionKey(outcome.revision));
    this.#deps.scaler?.settle(queue, outcome);
  }

  /**
   * Gives up every queue after the lease was lost: their keys are gone and
   * another scheduler may lead them now. Returns the activations they held.
   */
  abandonAll(): QueuedActivation[] {
    const held: QueuedActivation[] = [];
    for (const action of this.#actions.values()) {
      for (const queue of action.byRevision.values()) held.push(...queue.remove());
    }
    this.#actions.clear();
    return held;
  }

  /** Routes activations again, e.g. those {@linkcode abandonAll} returned, once a new lease exists. */
  readmit(entries: readonly QueuedActivation[]): void {
    for (const entry of entries) this.#dispatch(entry);
  }

  /**
   * Releases every leader key. Queued activations are dropped unreleased: their
   * offsets stay uncommitted, so the topic's next consumer receives them again.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing.abort();
    const actions = [...this.#actions.values()];
    await Promise.all(actions.map((action) => this.#removeAction(action, { reroute: false })));
  }

  #dispatch(entry: QueuedActivation): void {
    const { message } = entry;
    const ns = message.user.namespace.name;
    const fqn = entityPath(message.action);
    const key = actionKey(ns, fqn);
    const action = this.#actions.get(key);
    if (action) return this.#enqueue(action, entry);
    // Held while the election runs: owned here, so a redelivered copy is a duplicate.
    this.#seen.add(message.activationId);
    const pending = this.#pending.get(key);
    if (pending) return void pending.push(entry);
    this.#pending.set(key, [entry]);
    this.#electOnce(ns, fqn).then(
      (election) => this.#settle(key, ns, fqn, election),
      (error) => this.#giveUp(key, error),
    );
  }

  // Concurrent callers for one action share a single election.
  #electOnce(ns: string, fqn: string): Promise<Election> {
    const key = actionKey(ns, fqn);
    let election = this.#elections.get(key);
    if (!election) {
      election = this.#elect(ns, fqn).finally(() => this.#elections.delete(key));
      this.#elections.set(key, election);
    }
    return election;
  }

  // Ids are remembered only once a local queue owns them: an activation this
  // scheduler merely forwarded may come back to it and must not look like a duplicate.
  #enqueue(action: ActionQueues, entry: QueuedActivation): void {
    action.sleepsUntil = 0;
    this.#seen.add(entry.message.activationId);
    const rev = entry.message.revision;
    if (compareRevisions(rev, action.current.key.revision) > 0) this.#upgrade(action, rev);
    if (action.current.quiet) this.#deps.scaler?.wake(action.current, entry.enqueuedAt);
    const message = this.#withRevision(entry.message, action);
    const accepted = action.current.enqueue(
      message === entry.message ? entry : { ...entry, message },
    );
    // A queue stops accepting only after it left the registry; route again shortly.
    if (!accepted) setTimeout(() => this.#dispatch(entry), this.#retryDelayMs);
  }

  // Older revisions run on the current code, as the action was updated under them.
  #withRevision(message: ActivationMessage, action: ActionQueues): ActivationMessage {
    const rev = action.current.key.revision;
    return message.revision === rev ? message : { ...message, revision: rev };
  }

  #upgrade(action: ActionQueues, revision: string | null): void {
    const previous = action.current;
    action.current = this.#newQueue(action.invocationNamespace, action.fqn, revision);
    action.byRevision.set(revisionKey(revision), action.current);
    logger.info("Action {fqn} updated to revision {revision}", { fqn: action.fqn, revision });
    // Containers of the old revision keep pulling what it holds; without any, move it over.
    if (previous.counts().containers === 0) {
      action.byRevision.delete(revisionKey(previous.key.revision));
      for (const entry of previous.remove()) this.#enqueue(action, entry);
    }
  }

  async #elect(ns: string, fqn: string): Promise<Election> {
    const { store, keys, leaseId } = this.#deps;
    const self = this.#deps.self();
    const key = keys.queueLeader(ns, fqn);
    while (!this.#closing.signal.aborted) {
      try {
        const result = await store.createIfAbsent(key, JSON.stringify(self), {
          leaseId: leaseId(),
        });
        if (result.created) return { kind: "leader", createRevision: result.kv.createRevision };
        const leader = QueueLeader.safeParse(safeJson(result.current.value));
        if (leader.success && leader.data.sid !== self.sid) {
          return { kind: "follower", leader: leader.data };
        }
        // Our own key from an earlier lease, or garbage: it cannot be a live leader.
        if (result.current.leaseId !== leaseId()) {
          await store.deleteIfCreateRevision(key, result.current.createRevision);
          continue;
        }
        return { kind: "leader", createRevision: result.current.createRevision };
      } catch (error) {
        logger.warn("Cannot elect the leader of {fqn} yet: {error}", { fqn, error: String(error) });
        await sleep(this.#retryDelayMs, this.#closing.signal);
      }
    }
    throw new Error(`Stopped electing the leader of "${fqn}": the scheduler is closing`);
  }

  #settle(key: string, ns: string, fqn: string, election: Election): void {
    const held = this.#pending.get(key) ?? [];
    this.#pending.delete(key);
    if (election.kind === "follower") {
      for (const entry of held) {
        // Handed on: if it comes back (e.g. through an adopted topic), it is not a duplicate.
        this.#seen.delete(entry.message.activationId);
        this.#deps.forward(election.leader.sid, entry.message).then(
          entry.release,
          (error) =>
            logger.error("Cannot forward activation {activationId}: {error}", {
              activationId: entry.message.activationId,
              error: String(error),
            }),
        );
      }
      return;
    }
    const action = this.#install(
      ns,
      fqn,
      held[0]?.message.revision ?? null,
      election.createRevision,
    );
    for (const entry of held) this.#enqueue(action, entry);
  }

  // Idempotent: the route path and lead() may both settle one election.
  #install(ns: string, fqn: string, revision: string | null, createRevision: number): ActionQueues {
    const key = actionKey(ns, fqn);
    const existing = this.#actions.get(key);
    if (existing) return existing;
    const current = this.#newQueue(ns, fqn, revision);
    const action: ActionQueues = {
      invocationNamespace: ns,
      fqn,
      leaderCreateRevision: createRevision,
      current,
      byRevision: new Map([[revisionKey(revision), current]]),
      sleepsUntil: 0,
    };
    this.#actions.set(key, action);
    this.#setThrottled(ns, fqn, false);
    logger.info("Leading the queue of {fqn} in {namespace}", { fqn, namespace: ns });
    this.#deps.onLeading?.(ns, fqn, revision);
    return action;
  }

  // Only reached while closing: the held activations stay uncommitted in Kafka.
  #giveUp(key: string, error: unknown): void {
    this.#pending.delete(key);
    logger.warn("Dropped pending queue creation: {error}", { error: String(error) });
  }

  #newQueue(ns: string, fqn: string, revision: string | null): MemoryQueue {
    const key = { invocationNamespace: ns, fqn, revision };
    return new MemoryQueue(key, {
      fail: (entry, error, statusCode) => {
        this.#deps.complete(entry.message, error, statusCode).then(
          entry.release,
          (e) =>
            logger.error("Cannot complete activation {activationId}: {error}", {
              activationId: entry.message.activationId,
              error: String(e),
            }),
        );
      },
      actionThrottled: (on) => this.#setThrottled(ns, fqn, on),
    }, this.#queueOptions);
  }

  #setThrottled(ns: string, fqn: string, on: boolean): void {
    const { store, keys, leaseId } = this.#deps;
    store.put(keys.actionThrottling(ns, fqn), String(on), { leaseId: leaseId() }).catch((error) =>
      logger.warn("Cannot write the throttling flag of {fqn}: {error}", {
        fqn,
        error: String(error),
      })
    );
  }

  async #removeAction(action: ActionQueues, options: { reroute: boolean }): Promise<void> {
    const { store, keys } = this.#deps;
    this.#actions.delete(actionKey(action.invocationNamespace, action.fqn));
    for (const queue of action.byRevision.values()) this.#deps.scaler?.forget(queue.key);
    const leftovers = [...action.byRevision.values()].flatMap((q) => q.remove());
    logger.info("Removed the queue of {fqn}", { fqn: action.fqn });
    try {
      await store.deleteIfCreateRevision(
        keys.queueLeader(action.invocationNamespace, action.fqn),
        action.leaderCreateRevision,
      );
      await store.delete(keys.actionThrottling(action.invocationNamespace, action.fqn));
    } catch (error) {
      logger.warn("Cannot release the keys of {fqn}: {error}", {
        fqn: action.fqn,
        error: String(error),
      });
    }
    if (options.reroute) { for (const entry of leftovers) this.#dispatch(entry); }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isDrained(counts: QueueCounts): boolean {
  return counts.queued === 0 && counts.containers === 0;
}
