/**
 * Container creation for the scheduler: how many containers each queue needs,
 * on which invokers, and tracking every creation until its ack (design §2
 * "Container creation", §4.2, §4.4, §4.5).
 *
 * ## Integration surface
 *
 * One {@linkcode ContainerProvisioner} per scheduler (per session: it writes
 * in-progress keys under the scheduler's lease):
 *
 * ```ts ignore
 * const provisioner = await ContainerProvisioner.start({
 *   store, bus, keys, topics, tokens,
 *   leaseId: () => session.leaseId,
 *   self: () => endpoint.self!,            // QueueLeader {host, rpcPort, sid}
 *   onOutcome: (outcome) => queues.creationSettled(outcome),
 * });
 * ```
 *
 * `self()` must already name this scheduler when `start` runs: its `sid` names
 * the ack topic `creationAck{sid}`. `options.signal` cancels `start`.
 *
 * - `provision(demand: ProvisionDemand): Decision` — once per leader queue per
 *   tick. Synchronous and cheap; it starts the creations the decision asks for
 *   itself and returns the decision for the queue to apply the rest.
 * - `onOutcome(outcome: CreationOutcome)` — exactly once per creation started:
 *   `{kind: "created", creationId, invocationNamespace, fqn, revision, invokerId}`
 *   or `{kind: "failed", …, error, reason, retryable}`. `retryable: false`
 *   means the action cannot run as it is (e.g. `No invoker can host 4096 MB
 *   for "guest/big"; the largest has 2048 MB`): fail its activations now.
 * - `release(invocationNamespace, fqn, revision)` — when a queue is removed.
 * - `close()` / `await using` — with the scheduler or its session.
 *
 * Counts of containers come from etcd (`ContainerCounter`), so a queue does
 * not track creation ids itself. A namespace's first queue decides `none` on
 * its first tick while its counts load.
 *
 * ## A queue's 100 ms tick
 *
 * ```ts ignore
 * const counts = queue.counts(now);
 * const decision = provisioner.provision({
 *   invocationNamespace: queue.key.invocationNamespace,
 *   action,                 // ActionMetadata of the queue's revision (ActionCatalog.getRevision)
 *   state: queue.state,
 *   queued: counts.queued,
 *   stale: counts.stale,
 *   averageDurationMs: counts.averageDurationMs,
 *   incoming: held.length,  // activations waiting for the queue to exist
 *   namespaceLimit: latest.user.limits.concurrentInvocations, // or leave out: default 30
 * });
 * switch (decision.kind) {
 *   case "none":
 *   case "add": // creations already started
 *     break;
 *   case "throttle_namespace": // creations (decision.add) already started
 *     queue.setNamespaceThrottled(true);
 *     void store.put(keys.namespaceThrottling(ns), "true", { leaseId });
 *     break;
 *   case "unthrottle_namespace":
 *     queue.setNamespaceThrottled(false);
 *     void store.put(keys.namespaceThrottling(ns), "false", { leaseId });
 *     break;
 *   case "fail": // a limit of 0: nothing can ever run
 *     queue.failAll(decision.reason, StatusCode.whiskError);
 *     queue.setFlushing(true);
 *     break;
 *   default:
 *     decision satisfies never;
 * }
 *
 * // onOutcome, routed to the queue of (invocationNamespace, fqn, revision):
 * if (outcome.kind === "created") queue.setFlushing(false);
 * else if (queue.counts().containers === 0) {
 *   queue.setFlushing(true); // decide() retries a first container after 1 s
 *   if (!outcome.retryable) queue.failAll(outcome.reason, StatusCode.whiskError);
 * }
 * ```
 *
 * A flushing queue keeps taking activations; for an unhostable action the next
 * attempt (after `flushRetryDelayMs`, 1 s) fails again at once, so later
 * arrivals are failed within about a second instead of after the retention.
 *
 * Revisions: keys and commands use `action.rev`, never `null`; resolve an
 * unversioned queue to its document's revision before calling `provision`.
 *
 * ## The parts
 *
 * - {@linkcode decide}: the pure scaling decision, with the fairness rule.
 * - {@linkcode placeContainers} / {@linkcode unhostable}: pure placement over
 *   an {@linkcode InvokerPool} read.
 * - {@linkcode CreationJobManager}: in-progress keys, commands, acks, retries,
 *   timeouts.
 * - {@linkcode ContainerCounter}: live and in-progress counts from etcd,
 *   watched and periodically reconciled.
 *
 * @module
 */
export {
  type AddReason,
  decide,
  type Decision,
  type DecisionOptions,
  type QueueSnapshot,
} from "./decision.ts";
export {
  type ActionRequirements,
  actionRequirements,
  type InvokerSnapshot,
  placeContainers,
  type Placement,
  type PlacementOptions,
  type PlacementRequest,
  type Unhostable,
  unhostable,
  type Unplaced,
} from "./container_placement.ts";
export { InvokerPool, type InvokerPoolReadOptions, type InvokerPoolView } from "./invoker_pool.ts";
export {
  type CreationJobDeps,
  CreationJobManager,
  type CreationJobOptions,
} from "./creation_jobs.ts";
export type {
  CreationOutcome,
  CreationRequest,
  CreationResult,
  OutcomeKey,
} from "./creation_outcome.ts";
export type { PendingCreation } from "./job_ledger.ts";
export {
  ContainerCounter,
  type ContainerCounterOptions,
  type ContainerCounts,
} from "./container_counter.ts";
export {
  ContainerProvisioner,
  type ContainerProvisionerDeps,
  type ContainerProvisionerOptions,
  containersToAdd,
  type ProvisionDemand,
} from "./container_provisioner.ts";
export { ClosedError } from "./errors.ts";
