/**
 * The PoolBalancer: turns an invocation into an ActivationMessage and sends
 * it to the scheduler that leads the action's queue (Kafka `scheduler{sid}`).
 *
 * With no leader yet, the activation goes to the registered scheduler with
 * the fewest queues; that scheduler elects itself leader on the first
 * activation it sees, or forwards it if another scheduler won meanwhile. So
 * the controller never waits for a queue to exist.
 *
 * @module
 */
import type { Bus } from "@faas/bus";
import type { Store } from "@faas/coordination";
import {
  type ActionDoc,
  type ActivationMessage,
  type ClusterKeys,
  clusterKeys,
  newActivationId,
  QueueLeader,
  SchedulerStates,
  type Topics,
  topics,
} from "@faas/proto";
import { currentTraceContext, inSpan, type TraceContext } from "@faas/telemetry";
import { getLogger } from "@std/log";
import type { Caller } from "./auth/authenticator.ts";
import { NoSchedulerError, ThrottledError } from "./errors.ts";

const logger = getLogger("controller", "balancer");

// How long the schedulers last seen registered still take activations while
// none is registered (they are re-registering after a lost lease).
const REGISTRATION_GAP_MS = 30_000;

/** The throttling flags the balancer consults. */
export interface ThrottleCheck {
  /** Whether invoking `fqn` in `namespace` must be refused. */
  isThrottled(namespace: string, fqn: string): boolean;
}

/** Where queue leaders are known from. */
export interface LeaderLookup {
  /** The id of the scheduler leading the queue of `fqn` for `namespace`, if known. */
  leaderOf(namespace: string, fqn: string): string | undefined;
}

/** What the balancer needs from the rest of the controller. */
export interface PoolBalancerDeps {
  /** Where leader keys and scheduler states are read. */
  readonly store: Store;
  /** Where activations are sent. */
  readonly bus: Bus;
  /** The etcd key prefix. */
  readonly cluster: string;
  /** The prefix of every Kafka topic. */
  readonly topicPrefix: string;
  /** Completions come back on `completed{controllerId}`. */
  readonly controllerId: string;
  /** Consulted before anything is sent. */
  readonly throttles: ThrottleCheck;
  /**
   * Leaders known without a round trip (a mirror of the leader keys); a queue
   * it does not know is looked up in `store`, since it may be brand new.
   */
  readonly leaders?: LeaderLookup;
  /** Sent as `user.limits.concurrentInvocations`; unset leaves the schedulers' default. */
  readonly namespaceContainerLimit?: number;
  /** The clock, in epoch ms. @default {Date.now} */
  readonly now?: () => number;
}

/** One invocation of an action. */
export interface Invocation {
  /** The action as stored; its `rev` travels as the activation's revision. */
  readonly action: ActionDoc;
  /** Who invokes it, in its own namespace. */
  readonly caller: Caller;
  /** Whether a caller waits for the result. */
  readonly blocking: boolean;
  /** The invocation's own parameters; the invoker merges the action's defaults under them. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Use this id (a blocking caller registers its wait first). @default a fresh id */
  readonly activationId?: string;
}

/** Where an activation was sent. */
export type Placement =
  /** To the scheduler leading the action's queue. */
  | { readonly kind: "leader"; readonly sid: string }
  /** No queue yet: to the scheduler with the fewest queues, which will create it. */
  | { readonly kind: "least_loaded"; readonly sid: string };

/** The outcome of {@linkcode PoolBalancer.publish}. */
export interface Published {
  /** The message as sent. */
  readonly message: ActivationMessage;
  /** The scheduler it went to, and why. */
  readonly placement: Placement;
}

/** Routes activations to schedulers. */
export class PoolBalancer {
  readonly #deps: PoolBalancerDeps;
  readonly #keys: ClusterKeys;
  readonly #topics: Topics;
  readonly #now: () => number;
  #lastSeen: { readonly states: SchedulerStates[]; readonly atMs: number } | undefined;

  /** Creates a balancer over `deps`. */
  constructor(deps: PoolBalancerDeps) {
    this.#deps = deps;
    this.#keys = clusterKeys(deps.cluster);
    this.#topics = topics(deps.topicPrefix);
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Sends the activation for `invocation` to a scheduler.
   *
   * @throws {ThrottledError} when the action or its namespace is throttled
   * @throws {NoSchedulerError} when no scheduler is registered
   */
  async publish(invocation: Invocation): Promise<Published> {
    const namespace = invocation.caller.namespace;
    const fqn = `${invocation.action.namespace}/${invocation.action.name}`;
    if (this.#deps.throttles.isThrottled(namespace, fqn)) {
      throw new ThrottledError(namespace, fqn);
    }
    const placement = await this.#place(namespace, fqn);
    const activationId = invocation.activationId ?? newActivationId();
    const attributes = {
      "faas.activation_id": activationId,
      "faas.action": fqn,
      "faas.scheduler": placement.sid,
    };
    const message = await inSpan(
      "activation.publish",
      { kind: "producer", attributes },
      async () => {
        const message = this.#message(invocation, activationId, currentTraceContext());
        await this.#deps.bus.send(this.#topics.scheduler(placement.sid), [{
          key: activationId,
          value: JSON.stringify(message),
        }]);
        return message;
      },
    );
    logger.debug("Sent activation {activationId} to scheduler {sid} ({placement})", {
      activationId: message.activationId,
      sid: placement.sid,
      placement: placement.kind,
    });
    return { message, placement };
  }

  #message(
    invocation: Invocation,
    activationId: string,
    traceContext: TraceContext | undefined,
  ): ActivationMessage {
    const { action, caller } = invocation;
    return {
      transid: [newActivationId(), this.#now()],
      action: { path: action.namespace, name: action.name, version: action.version },
      revision: action.rev,
      user: {
        subject: caller.subject,
        namespace: { name: caller.namespace, uuid: caller.uuid },
        authkey: { api_key: caller.apiKey },
        rights: ["READ", "PUT", "DELETE", "ACTIVATE"],
        limits: this.#deps.namespaceContainerLimit === undefined
          ? {}
          : { concurrentInvocations: this.#deps.namespaceContainerLimit },
      },
      activationId,
      rootControllerIndex: { asString: this.#deps.controllerId, instanceType: "controller" },
      blocking: invocation.blocking,
      content: { ...invocation.params },
      initArgs: [],
      lockedArgs: {},
      ...(traceContext ? { traceContext: { ...traceContext } } : {}),
    };
  }

  async #place(namespace: string, fqn: string): Promise<Placement> {
    const leader = this.#deps.leaders?.leaderOf(namespace, fqn) ??
      await this.#leader(namespace, fqn);
    if (leader !== undefined) return { kind: "leader", sid: leader };
    return { kind: "least_loaded", sid: await this.#leastLoaded() };
  }

  async #leader(namespace: string, fqn: string): Promise<string | undefined> {
    const kv = await this.#deps.store.get(this.#keys.queueLeader(namespace, fqn));
    if (!kv) return undefined;
    const leader = QueueLeader.safeParse(parseJson(kv.value));
    // An unreadable leader key is treated as absent, as OpenWhisk does.
    return leader.success ? leader.data.sid : undefined;
  }

  async #leastLoaded(): Promise<string> {
    const { kvs } = await this.#deps.store.getPrefix(this.#keys.schedulers);
    let states = kvs.flatMap((kv) => {
      const state = SchedulerStates.safeParse(parseJson(kv.value));
      return state.success ? [state.data] : [];
    });
    const now = this.#now();
    if (states.length > 0) this.#lastSeen = { states, atMs: now };
    else if (this.#lastSeen && now - this.#lastSeen.atMs <= REGISTRATION_GAP_MS) {
      // A scheduler that lost its lease registers again within seconds, and its
      // topic keeps what is sent meanwhile: better than refusing the invoke.
      states = this.#lastSeen.states;
    }
    if (states.length === 0) throw new NoSchedulerError(this.#deps.cluster);
    const fewest = Math.min(...states.map((s) => s.queueSize));
    const candidates = states.filter((s) => s.queueSize === fewest);
    // Random among equals, so controllers starting many queues at once spread them.
    return candidates[Math.floor(Math.random() * candidates.length)]!.sid.asString;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
