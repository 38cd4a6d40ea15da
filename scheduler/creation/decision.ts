/**
 * The scaling decision: how many containers one action revision needs now.
 * A pure function of a {@linkcode QueueSnapshot} and the time, so every rule
 * is a row in a table test.
 *
 * It follows OpenWhisk's `SchedulingDecisionMaker` (reference §7) for the
 * arithmetic and changes what that reference gets wrong:
 * - namespace throttling cannot starve an action (see {@linkcode decide});
 * - a limit of 0 fails the waiting activations at once instead of pausing;
 * - an action-throttled queue (a full backlog) still scales, where the
 *   reference skips every state but running;
 * - every cap counts `concurrency`: one container takes that many activations;
 * - after a failed creation with no container left, the next attempt waits
 *   `flushRetryDelayMs` instead of firing on every tick;
 * - a queue being removed hands its activations back, so it adds nothing.
 *
 * @module
 */
import type { QueueState } from "../queue/memory_queue.ts";

/** What one queue looks like to the decision. Namespace counts include this action's. */
export interface QueueSnapshot {
  /** The queue's state; idle, removing and removed queues add nothing. */
  readonly state: QueueState;
  /** Whether a container was ever requested for this queue. */
  readonly initialized: boolean;
  /** Activations waiting in the queue. */
  readonly queued: number;
  /** Activations on their way into the queue (accepted, not enqueued yet). */
  readonly incoming: number;
  /** Queued activations that waited longer than the stale threshold. */
  readonly stale: number;
  /** Mean run time reported by containers; `undefined` until one reported. */
  readonly averageDurationMs: number | undefined;
  /** Live containers of this action revision. */
  readonly existing: number;
  /** Creations of this action revision not acknowledged yet. */
  readonly inProgress: number;
  /** Live containers of every action of the namespace. */
  readonly namespaceExisting: number;
  /** Creations in the namespace not acknowledged yet. */
  readonly namespaceInProgress: number;
  /** Most containers the namespace may hold. */
  readonly namespaceLimit: number;
  /** Most containers of this action (`limits.instances`); `undefined` means the namespace limit. */
  readonly actionLimit: number | undefined;
  /** Activations one container runs at once (`limits.concurrency`). */
  readonly concurrency: number;
  /** When the last creation for this queue failed, in epoch ms. */
  readonly lastFailureAt: number | undefined;
}

/** Why containers are added. */
export type AddReason =
  /** The action has none: one container, to learn its duration. */
  | "first_container"
  /** The backlog outgrows the containers there are. */
  | "scale_up"
  /** Creation failed before and no container exists; trying again. */
  | "retry_after_failure";

/** What the queue should do; `add` counts are containers to create now. */
export type Decision =
  | { readonly kind: "none" }
  | { readonly kind: "add"; readonly count: number; readonly reason: AddReason }
  /** The namespace has no room left, not even for a first container: throttle it. */
  | { readonly kind: "throttle_namespace"; readonly add: number }
  /** The namespace has room again: stop throttling. */
  | { readonly kind: "unthrottle_namespace"; readonly add: number }
  /** No container can ever be created under these limits: fail what waits. */
  | {
    readonly kind: "fail";
    readonly error: "ZeroNamespaceLimit" | "InvalidActionLimitError";
    readonly reason: string;
  };

/** Options for {@linkcode decide}. */
export interface DecisionOptions {
  /** The latency target: activations older than this are stale. @default {100} */
  staleThresholdMs?: number;
  /**
   * The namespace may exceed its limit up to `ceil(limit × ratio)` (at least
   * limit + 1), but only with first containers of actions that have none.
   * @default {1.5}
   */
  overProvisionRatio?: number;
  /** Pause after a failed creation before a flushing queue tries again. @default {1_000} */
  flushRetryDelayMs?: number;
}

const NONE: Decision = Object.freeze({ kind: "none" });

interface Settings {
  readonly staleThresholdMs: number;
  readonly overProvisionRatio: number;
  readonly flushRetryDelayMs: number;
}

/**
 * Decides how many containers to add for one queue.
 *
 * Fairness rule (design §4.4, OpenWhisk #5257). The namespace limit caps
 * growth: an action that has containers grows only while the namespace is
 * below its limit. Above the limit lies a margin, `ceil(limit × ratio) −
 * limit` containers (at least one), reserved for first containers: an action
 * with none and work waiting gets exactly one while the namespace is inside
 * the margin. So a namespace whose hot action holds the whole limit still
 * runs every other action (progress for all, e.g. A calling B), and the
 * namespace never exceeds `ceil(limit × ratio)`. The namespace is throttled
 * only once that margin is used up, since only then can a new action not
 * start. Proportional sharing would need taking containers away from a busy
 * action, which is removal's job, not creation's.
 */
export function decide(
  snapshot: QueueSnapshot,
  now: number,
  options: DecisionOptions = {},
): Decision {
  const { staleThresholdMs = 100, overProvisionRatio = 1.5, flushRetryDelayMs = 1_000 } = options;
  const settings = { staleThresholdMs, overProvisionRatio, flushRetryDelayMs };
  const { state } = snapshot;
  if (state === "idle" || state === "removing" || state === "removed") return NONE;
  const impossible = impossibleLimit(snapshot);
  if (impossible) return impossible;
  const total = snapshot.existing + snapshot.inProgress;
  const add = total === 0
    ? firstContainer(snapshot, now, settings)
    : Math.min(scaleUp(snapshot, settings), growthRoom(snapshot));
  // Odd inputs (a fractional limit, a NaN duration) must not become odd counts.
  return verdict(snapshot, Number.isFinite(add) ? Math.max(0, Math.floor(add)) : 0, settings);
}

/** A limit of 0 can never be met; fail what waits rather than letting it time out. */
function impossibleLimit(s: QueueSnapshot): Decision | undefined {
  const waiting = s.queued + s.incoming > 0;
  if (s.namespaceLimit <= 0) {
    if (!waiting) return NONE;
    const reason = `Cannot create containers: the namespace limit is "${s.namespaceLimit}"`;
    return { kind: "fail", error: "ZeroNamespaceLimit", reason };
  }
  if (s.actionLimit !== undefined && s.actionLimit <= 0) {
    if (!waiting) return NONE;
    const reason = `Cannot create containers: the action instance limit is "${s.actionLimit}"`;
    return { kind: "fail", error: "InvalidActionLimitError", reason };
  }
  return undefined;
}

/** One container for an action with none, inside the namespace's over-provision margin. */
function firstContainer(s: QueueSnapshot, now: number, settings: Settings): number {
  const waiting = s.queued + s.incoming > 0;
  if (s.state === "flushing") {
    const resting = s.lastFailureAt !== undefined &&
      now - s.lastFailureAt < settings.flushRetryDelayMs;
    if (!waiting || resting) return 0;
  } else if (!waiting && s.initialized) return 0;
  return namespaceTotal(s) < overProvisionCeiling(s, settings) ? 1 : 0;
}

/**
 * Containers wanted beyond those there are, before limits (reference §7 step 4.5/4.6):
 * enough that the backlog drains within one stale threshold, never more than
 * the waiting activations can occupy.
 */
function scaleUp(s: QueueSnapshot, settings: Settings): number {
  // Flushing with a creation in progress: wait for its outcome.
  if (s.state === "flushing") return 0;
  const concurrency = Math.max(1, s.concurrency);
  const available = s.queued + s.incoming;
  const duration = s.averageDurationMs;
  if (duration === undefined) {
    // No duration yet: one container per `concurrency` stale activations.
    if (s.stale === 0) return 0;
    return Math.min(Math.ceil(s.stale / concurrency) - s.inProgress, available);
  }
  // Activations one container finishes within one stale threshold.
  const perWindow = duration <= 0
    ? concurrency
    : (settings.staleThresholdMs / duration) * concurrency;
  const staleNeed = s.stale > 0
    ? Math.min(Math.ceil(s.stale / perWindow), Math.ceil(s.stale / concurrency)) - s.inProgress
    : 0;
  const fresh = available - s.stale;
  return freshNeed(s, { fresh, perWindow, concurrency, durationMs: duration }) + staleNeed;
}

interface Throughput {
  /** Waiting activations not stale yet. */
  readonly fresh: number;
  /** Activations one container finishes within one stale threshold. */
  readonly perWindow: number;
  readonly concurrency: number;
  readonly durationMs: number;
}

/** Containers for activations not stale yet, when the current ones fall behind. */
function freshNeed(s: QueueSnapshot, t: Throughput): number {
  const total = s.existing + s.inProgress;
  const occupiable = Math.ceil(t.fresh / t.concurrency);
  if (t.durationMs <= 0 || t.fresh < t.perWindow * total || total >= occupiable) return 0;
  const wanted = Math.ceil(t.fresh / t.perWindow - total);
  return Math.min(wanted, occupiable - total);
}

/** Room to grow an action that has containers: both limits bind. */
function growthRoom(s: QueueSnapshot): number {
  const total = s.existing + s.inProgress;
  const actionRoom = (s.actionLimit ?? s.namespaceLimit) - total;
  const namespaceRoom = s.namespaceLimit - namespaceTotal(s);
  return Math.min(actionRoom, namespaceRoom);
}

/** Turns a container count into a decision, with the namespace's throttling state. */
function verdict(s: QueueSnapshot, add: number, settings: Settings): Decision {
  const exhausted = namespaceTotal(s) + add >= overProvisionCeiling(s, settings);
  // Only running and namespace_throttled queues move between the two states.
  if (s.state === "running" && exhausted) return { kind: "throttle_namespace", add };
  if (s.state === "namespace_throttled" && !exhausted) {
    return { kind: "unthrottle_namespace", add };
  }
  if (add <= 0) return NONE;
  const total = s.existing + s.inProgress;
  const reason: AddReason = total > 0
    ? "scale_up"
    : s.state === "flushing"
    ? "retry_after_failure"
    : "first_container";
  return { kind: "add", count: add, reason };
}

function namespaceTotal(s: QueueSnapshot): number {
  return s.namespaceExisting + s.namespaceInProgress;
}

function overProvisionCeiling(s: QueueSnapshot, settings: Settings): number {
  const limit = s.namespaceLimit;
  return Math.max(limit + 1, Math.ceil(limit * settings.overProvisionRatio));
}
