/**
 * Applies container provisioning to the queues: every tick each leader queue
 * tells the provisioner what it holds, and the queue follows the decision
 * (namespace throttling, flushing, failing what can never run).
 *
 * Most of a scheduler's queues are quiet (nothing queued, handed out or
 * pulling). Once a quiet queue's decision is `none` and its first container
 * was asked for (or its action is not in the catalog), the decision can only
 * change through the namespace, which matters only when work arrives: such a
 * queue is skipped until then, and {@linkcode QueueScaler.wake} decides for it
 * again just before its next activation is enqueued.
 *
 * @module
 */
import { type ActionDoc, type ActionMetadata, actionMetadata, StatusCode } from "@faas/proto";
import type { CreationOutcome, Decision, ProvisionDemand } from "../creation/mod.ts";
import type { MemoryQueue, QueueKey } from "./memory_queue.ts";

/** What the scaler needs from the rest of the scheduler. */
export interface QueueScalerDeps {
  provision(demand: ProvisionDemand): Decision;
  release(invocationNamespace: string, fqn: string, revision: string): void;
  /** The action at `rev` from the catalog; `undefined` when it is not there. */
  action(namespacePath: string, name: string, rev: string | null): Promise<ActionDoc | undefined>;
  /** Writes `{cluster}/throttling/{ns}`. */
  setNamespaceThrottled(invocationNamespace: string, on: boolean): void;
  /** Whether a container was ever asked for the revision (see `ContainerProvisioner`). */
  initialized(invocationNamespace: string, fqn: string, revision: string): boolean;
}

/** Options for {@linkcode QueueScaler}. */
export interface QueueScalerOptions {
  /** How long an action missing from the catalog is not looked up again. @default {5_000} */
  missingRetryMs?: number;
}

type Known =
  | { readonly kind: "loading" }
  | { readonly kind: "missing"; readonly until: number }
  | { readonly kind: "found"; readonly metadata: ActionMetadata };

const keyOf = (k: QueueKey) => `${k.invocationNamespace}\n${k.fqn}\n${k.revision}`;

/**
 * Scales the queues of actions the catalog knows. An action it does not know
 * (e.g. served only by custom runtimes that pull for themselves) gets no
 * containers from here; its activations wait for such pullers.
 */
export class QueueScaler {
  readonly #deps: QueueScalerDeps;
  readonly #missingRetryMs: number;
  readonly #known = new Map<string, Known>();
  /** Quiet queues whose decision stays `none` until work arrives. */
  readonly #settled = new WeakSet<MemoryQueue>();

  constructor(deps: QueueScalerDeps, options: QueueScalerOptions = {}) {
    this.#deps = deps;
    this.#missingRetryMs = options.missingRetryMs ?? 5_000;
  }

  /** One tick of a leader queue. */
  scale(queue: MemoryQueue, now: number): void {
    const quiet = queue.quiet;
    if (!quiet) this.#settled.delete(queue);
    else if (this.#settled.has(queue)) return;
    const id = keyOf(queue.key);
    const metadata = this.#metadata(id, queue.key, now);
    if (!metadata) {
      if (quiet && this.#known.get(id)?.kind === "missing") this.#settled.add(queue);
      return;
    }
    queue.runTimeoutMs = metadata.limits.timeout;
    const counts = queue.counts(now);
    const decision = this.#deps.provision({
      invocationNamespace: queue.key.invocationNamespace,
      action: metadata,
      state: queue.state,
      queued: counts.queued,
      stale: counts.stale,
      averageDurationMs: counts.averageDurationMs,
      ...(queue.namespaceLimit === undefined ? {} : { namespaceLimit: queue.namespaceLimit }),
    });
    this.#apply(queue, decision);
    if (
      decision.kind === "none" && queue.quiet &&
      this.#deps.initialized(queue.key.invocationNamespace, queue.key.fqn, metadata.rev)
    ) this.#settled.add(queue);
  }

  /** Whether ticks of the queue change nothing until something reaches it (see the module doc). */
  settled(queue: MemoryQueue): boolean {
    return this.#settled.has(queue);
  }

  /**
   * Work is about to arrive at a quiet queue: a skipped queue decides now, so
   * it enters namespace throttling (and refuses the activation) exactly as if
   * it had been ticked all along.
   */
  wake(queue: MemoryQueue, now: number): void {
    if (this.#settled.delete(queue)) this.scale(queue, now);
  }

  /** A creation ended; `queue` is the queue of its revision, if it still exists. */
  settle(queue: MemoryQueue | undefined, outcome: CreationOutcome): void {
    if (!queue) return;
    if (outcome.kind === "created") return queue.setFlushing(false);
    if (queue.counts().containers > 0) return;
    queue.setFlushing(true);
    if (!outcome.retryable) queue.failAll(outcome.reason, StatusCode.whiskError);
  }

  /** The queue is gone: stop provisioning for it. */
  forget(key: QueueKey): void {
    const known = this.#known.get(keyOf(key));
    this.#known.delete(keyOf(key));
    if (known?.kind === "found") {
      this.#deps.release(key.invocationNamespace, key.fqn, known.metadata.rev);
    }
  }

  #apply(queue: MemoryQueue, decision: Decision): void {
    const ns = queue.key.invocationNamespace;
    switch (decision.kind) {
      case "none":
      case "add":
        return;
      case "throttle_namespace":
        queue.setNamespaceThrottled(true);
        return this.#deps.setNamespaceThrottled(ns, true);
      case "unthrottle_namespace":
        queue.setNamespaceThrottled(false);
        return this.#deps.setNamespaceThrottled(ns, false);
      case "fail":
        queue.failAll(decision.reason, StatusCode.whiskError);
        return queue.setFlushing(true);
      default:
        return decision satisfies never;
    }
  }

  #metadata(id: string, key: QueueKey, now: number): ActionMetadata | undefined {
    const known = this.#known.get(id);
    if (known?.kind === "found") return known.metadata;
    if (known?.kind === "loading" || (known?.kind === "missing" && now < known.until)) {
      return undefined;
    }
    this.#known.set(id, { kind: "loading" });
    const at = key.fqn.lastIndexOf("/");
    this.#deps.action(key.fqn.slice(0, at), key.fqn.slice(at + 1), key.revision).then(
      // Without the code: every queue keeps its revision's metadata for as long as it lives.
      (doc) =>
        this.#known.set(
          id,
          doc ? { kind: "found", metadata: actionMetadata(doc) } : this.#missing(),
        ),
      () => this.#known.set(id, this.#missing()),
    );
    return undefined;
  }

  #missing(): Known {
    return { kind: "missing", until: Date.now() + this.#missingRetryMs };
  }
}
