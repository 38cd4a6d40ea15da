/**
 * The one object a scheduler's queues use to get containers: it completes a
 * queue's {@linkcode ProvisionDemand} with container counts, runs
 * {@linkcode decide}, starts the creations the decision asks for and hands
 * every creation's outcome back. See `mod.ts` for how a queue tick uses it.
 *
 * @module
 */
import { type ActionMetadata, entityPath } from "@faas/proto";
import { getLogger } from "@std/log";
import type { QueueState } from "../queue/memory_queue.ts";
import { ContainerCounter, type ContainerCounterOptions } from "./container_counter.ts";
import {
  type CreationJobDeps,
  CreationJobManager,
  type CreationJobOptions,
} from "./creation_jobs.ts";
import type { CreationOutcome } from "./creation_outcome.ts";
import { decide, type Decision, type DecisionOptions, type QueueSnapshot } from "./decision.ts";

const logger = getLogger("scheduler", "creation");

/** What a queue knows about itself on a tick. */
export interface ProvisionDemand {
  /** The namespace the queue runs activations for. */
  readonly invocationNamespace: string;
  /** The action revision the queue runs; `action.rev` names it. */
  readonly action: ActionMetadata;
  /** The queue's state (`MemoryQueue.state`). */
  readonly state: QueueState;
  /** Activations waiting in the queue. */
  readonly queued: number;
  /** Queued activations older than the stale threshold. */
  readonly stale: number;
  /** Mean run time reported by containers, if any reported yet. */
  readonly averageDurationMs: number | undefined;
  /** Activations accepted but not enqueued yet. @default {0} */
  readonly incoming?: number;
  /** The namespace's container limit (`user.limits.concurrentInvocations`). @default the provisioner's */
  readonly namespaceLimit?: number;
}

/** What the provisioner needs from the scheduler; `onOutcome` gets every creation's end. */
export type ContainerProvisionerDeps = CreationJobDeps;

/** Options for {@linkcode ContainerProvisioner.start}. */
export interface ContainerProvisionerOptions {
  /** Namespace limit for demands that carry none. @default {30} */
  defaultNamespaceLimit?: number;
  /** Options of {@linkcode decide}. @default {{}} */
  decision?: DecisionOptions;
  /** Options of the {@linkcode CreationJobManager}. @default {{}} */
  jobs?: CreationJobOptions;
  /** Options of the {@linkcode ContainerCounter}. @default {{}} */
  counter?: ContainerCounterOptions;
  /** Clock in epoch ms. @default {Date.now} */
  now?: () => number;
  /** Cancels {@linkcode ContainerProvisioner.start}, which then rejects with its reason. */
  signal?: AbortSignal;
}

interface QueueRecord {
  initialized: boolean;
  lastFailureAt: number | undefined;
  readonly watch: Disposable;
}

const NONE: Decision = Object.freeze({ kind: "none" });
const queueId = (ns: string, fqn: string, revision: string) => `${ns}\n${fqn}\n${revision}`;

/** Decides and creates containers for the queues of one scheduler. */
export class ContainerProvisioner implements AsyncDisposable {
  readonly #counter: ContainerCounter;
  readonly #options: ContainerProvisionerOptions;
  readonly #now: () => number;
  readonly #queues = new Map<string, QueueRecord>();
  #jobs!: CreationJobManager;
  #closing: Promise<void> | undefined;

  private constructor(deps: ContainerProvisionerDeps, options: ContainerProvisionerOptions) {
    this.#counter = new ContainerCounter(deps.store, deps.keys, options.counter);
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts the counts and the ack consumer; resolves once acks are received. */
  static async start(
    deps: ContainerProvisionerDeps,
    options: ContainerProvisionerOptions = {},
  ): Promise<ContainerProvisioner> {
    const provisioner = new ContainerProvisioner(deps, options);
    provisioner.#jobs = await CreationJobManager.start({
      ...deps,
      onOutcome: (outcome) => provisioner.#settled(outcome, deps.onOutcome),
    }, {
      now: provisioner.#now,
      ...options.jobs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return provisioner;
  }

  /**
   * One tick of one queue: decides, starts the creations the decision asks
   * for, and returns the decision so the queue can apply the rest (throttle,
   * unthrottle, fail). Never waits. Until the namespace's counts are first
   * loaded it decides `none`, as an empty count would over-create.
   */
  provision(demand: ProvisionDemand): Decision {
    if (this.#closing) return NONE;
    const { invocationNamespace: ns, action } = demand;
    const fqn = entityPath({ path: action.namespace, name: action.name });
    const record = this.#record(ns, fqn, action.rev);
    if (!this.#counter.isReady(ns)) return NONE;
    const snapshot = this.#snapshot(demand, fqn, record);
    const decision = decide(snapshot, this.#now(), this.#options.decision);
    const count = containersToAdd(decision);
    if (count > 0) {
      record.initialized = true;
      const first = snapshot.existing === 0 && snapshot.inProgress === 0;
      const ids = this.#jobs.create({ invocationNamespace: ns, action, count, first });
      logger.info("Creating {count} containers of {fqn} in {namespace}", {
        count,
        fqn,
        namespace: ns,
        revision: action.rev,
        decision: decision.kind,
        creationIds: ids,
      });
    }
    return decision;
  }

  /** Whether a container was ever asked for the revision; until then a new queue still wants one. */
  initialized(invocationNamespace: string, fqn: string, revision: string): boolean {
    return this.#queues.get(queueId(invocationNamespace, fqn, revision))?.initialized ?? false;
  }

  /** Forgets a queue that was removed; its namespace stops being counted with its last queue. */
  release(invocationNamespace: string, fqn: string, revision: string): void {
    const id = queueId(invocationNamespace, fqn, revision);
    const record = this.#queues.get(id);
    if (!record) return;
    this.#queues.delete(id);
    record.watch[Symbol.dispose]();
  }

  /** Counts namespaces now instead of at the next interval (tests, after a known change). */
  reconcile(signal?: AbortSignal): Promise<void> {
    return this.#counter.reconcile(signal);
  }

  /** Stops counting and abandons creations without an outcome. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#jobs.close();
      await this.#counter.close();
      this.#queues.clear();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode ContainerProvisioner.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #record(ns: string, fqn: string, revision: string): QueueRecord {
    const id = queueId(ns, fqn, revision);
    let record = this.#queues.get(id);
    if (!record) {
      record = { initialized: false, lastFailureAt: undefined, watch: this.#counter.retain(ns) };
      this.#queues.set(id, record);
    }
    return record;
  }

  /**
   * Counts come from etcd, plus this scheduler's creations whose in-progress
   * key the counter has not seen yet: without them, the ticks between sending
   * a creation and its watch event would create the same containers again.
   */
  #snapshot(demand: ProvisionDemand, fqn: string, record: QueueRecord): QueueSnapshot {
    const { invocationNamespace: ns, action } = demand;
    const unseen = this.#jobs.pending(ns).filter((p) => !this.#counter.countsInProgress(p.key));
    const own = unseen.filter((p) => p.fqn === fqn && p.revision === action.rev).length;
    const counts = this.#counter.action(ns, fqn, action.rev);
    const inNamespace = this.#counter.namespace(ns);
    return {
      state: demand.state,
      initialized: record.initialized,
      queued: demand.queued,
      incoming: demand.incoming ?? 0,
      stale: demand.stale,
      averageDurationMs: demand.averageDurationMs,
      existing: counts.existing,
      inProgress: counts.inProgress + own,
      namespaceExisting: inNamespace.existing,
      namespaceInProgress: inNamespace.inProgress + unseen.length,
      namespaceLimit: demand.namespaceLimit ?? this.#options.defaultNamespaceLimit ?? 30,
      actionLimit: action.limits.instances,
      concurrency: action.limits.concurrency,
      lastFailureAt: record.lastFailureAt,
    };
  }

  #settled(outcome: CreationOutcome, onOutcome: (outcome: CreationOutcome) => void): void {
    if (outcome.kind === "failed") {
      const id = queueId(outcome.invocationNamespace, outcome.fqn, outcome.revision);
      const record = this.#queues.get(id);
      if (record) record.lastFailureAt = this.#now();
    }
    onOutcome(outcome);
  }
}

/** How many containers a decision creates. */
export function containersToAdd(decision: Decision): number {
  switch (decision.kind) {
    case "add":
      return decision.count;
    case "throttle_namespace":
    case "unthrottle_namespace":
      return decision.add;
    case "none":
    case "fail":
      return 0;
    default:
      return decision satisfies never;
  }
}
