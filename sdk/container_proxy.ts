/**
 * The container side of the activation pull: a loop that fetches the next
 * activation of one action from the scheduler leading its queue, runs it, and
 * reports how long it took in the next fetch.
 *
 * @module
 */
import { sleep } from "@faas/async";
import {
  type ActivationMessage,
  ActivationServiceClient,
  decodeFetchResult,
  FETCH_TOKEN_METADATA_KEY,
  type FetchRequest,
  type FetchResult,
  type FullyQualifiedName,
  MalformedFieldError,
  RpcError,
  type SchedulerEndpoints,
} from "@faas/proto";
import { getLogger } from "@std/log";
import { RescheduleActivationError } from "./errors.ts";
import type { LeaderResolver } from "./leader_resolver.ts";

const logger = getLogger("sdk");

/** Why a proxy stopped pulling. */
export type CloseReason =
  /** `close()` was called or the signal aborted. */
  | { readonly kind: "stopped" }
  /** No scheduler leads the action's queue any more: the container should terminate. */
  | { readonly kind: "no_leader" }
  /** The queue runs another revision: this container's code is outdated. */
  | { readonly kind: "action_mismatch" }
  /** No activation arrived for `idleTimeoutMs`. */
  | { readonly kind: "idle" }
  /** The scheduler refused this container (bad token, bad request). */
  | { readonly kind: "refused"; readonly error: RpcError };

/** What a handler gets besides the activation. */
export interface ActivationContext {
  /** Aborted when the proxy shuts down. */
  readonly signal: AbortSignal;
}

/**
 * Runs one activation. It reports the result itself (e.g. to Kafka). Throwing
 * {@linkcode RescheduleActivationError} hands the activation back to the scheduler.
 */
export type ActivationHandler = (
  message: ActivationMessage,
  context: ActivationContext,
) => Promise<void>;

/** Options for {@linkcode ContainerProxy.start}. */
export interface ContainerProxyOptions {
  /** The namespace the action is invoked in. */
  readonly invocationNamespace: string;
  /** The action this container runs, with version. */
  readonly action: FullyQualifiedName;
  readonly revision: string | null;
  readonly containerId: string;
  /** Token the scheduler minted for this action; sent on every call. */
  readonly fetchToken: string;
  /** Finds the leader again after failures. */
  readonly resolver: LeaderResolver;
  /** Where to pull first; resolved when omitted. */
  readonly endpoint?: SchedulerEndpoints;
  /** Stops the proxy, like `close()`. */
  readonly signal?: AbortSignal;
  /**
   * Stop after this long without an activation; 0 never. A function is asked
   * at every check, so the time can change while the container lives.
   * @default {0}
   */
  readonly idleTimeoutMs?: number | (() => number);
  /** Client-side limit for one fetch (the server holds it about 1 s). @default {15_000} */
  readonly fetchTimeoutMs?: number;
  /** First delay before retrying after a failure; doubles up to 2 s. @default {50} */
  readonly retryDelayMs?: number;
  /** Consecutive `no_queue` answers from the current leader before giving up. @default {20} */
  readonly maxNoQueueRetries?: number;
  /**
   * How long to keep looking for a leader before terminating with
   * `no_leader`. A scheduler that lost its lease (etcd overloaded, a pause)
   * registers again within seconds; containers that waited keep their warm
   * state instead of being recreated. @default {10_000}
   */
  readonly noLeaderGraceMs?: number;
}

type Step = { readonly done: false } | { readonly done: true; readonly reason: CloseReason };
const CONTINUE: Step = Object.freeze({ done: false });

/**
 * A running pull loop.
 *
 * @example
 * ```ts ignore
 * const proxy = ContainerProxy.start(options, async (message, { signal }) => {
 *   const result = await runAction(message.content, signal);
 *   await reportResult(message, result);
 * });
 * const reason = await proxy.closed; // e.g. { kind: "no_leader" }: exit the container
 * ```
 */
export class ContainerProxy implements AsyncDisposable {
  readonly #options: ContainerProxyOptions;
  readonly #handler: ActivationHandler;
  readonly #stop = new AbortController();
  readonly #closed: Promise<CloseReason>;
  #client: ActivationServiceClient | undefined;
  #warmed = false;
  /** Duration of the last run, until a fetch has reported it. */
  #unreportedDurationMs: number | undefined;
  #lastActivationAt = Date.now();
  #noQueueInARow = 0;
  #failuresInARow = 0;
  #activations = 0;

  private constructor(options: ContainerProxyOptions, handler: ActivationHandler) {
    this.#options = options;
    this.#handler = handler;
    if (options.signal) {
      options.signal.addEventListener("abort", () => this.#stop.abort(), { once: true });
      if (options.signal.aborted) this.#stop.abort();
    }
    this.#closed = this.#run();
  }

  /** Starts pulling; the loop runs until it closes (see {@linkcode CloseReason}). */
  static start(options: ContainerProxyOptions, handler: ActivationHandler): ContainerProxy {
    return new ContainerProxy(options, handler);
  }

  /** Resolves with the reason once the loop has stopped and said goodbye to the scheduler. */
  get closed(): Promise<CloseReason> {
    return this.#closed;
  }

  /** True once the container has run an activation (its code is initialized). */
  get warmed(): boolean {
    return this.#warmed;
  }

  /** Activations run so far. */
  get activations(): number {
    return this.#activations;
  }

  /** The scheduler currently pulled from, as `host:port`. */
  get address(): string | undefined {
    return this.#client?.address;
  }

  /** Stops pulling; a running activation's handler sees its signal abort. */
  close(): Promise<CloseReason> {
    this.#stop.abort();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #run(): Promise<CloseReason> {
    let reason: CloseReason = { kind: "stopped" };
    try {
      reason = await this.#loop();
    } finally {
      await this.#sayGoodbye();
    }
    logger.info("Container {containerId} stopped pulling: {reason}", {
      containerId: this.#options.containerId,
      reason: reason.kind,
    });
    return reason;
  }

  async #loop(): Promise<CloseReason> {
    const first = this.#options.endpoint ?? await this.#leaderWithinGrace();
    if (!first) return { kind: "no_leader" };
    this.#connect(first);
    while (!this.#stop.signal.aborted) {
      const step = await this.#fetchOnce();
      if (step.done) return step.reason;
    }
    return { kind: "stopped" };
  }

  async #fetchOnce(): Promise<Step> {
    let result: FetchResult;
    try {
      const response = await this.#client!.fetchActivation(
        this.#request(true),
        this.#callOptions(),
      );
      this.#unreportedDurationMs = undefined;
      result = decodeFetchResult(response.activationMessage);
    } catch (error) {
      return await this.#onFailure(error);
    }
    this.#failuresInARow = 0;
    return await this.#onResult(result);
  }

  async #onResult(result: FetchResult): Promise<Step> {
    switch (result.kind) {
      case "activation":
        this.#noQueueInARow = 0;
        await this.#runActivation(result.message);
        return CONTINUE;
      case "no_activation":
        this.#noQueueInARow = 0;
        return this.#idleCheck();
      case "no_queue":
        return await this.#onNoQueue();
      case "action_mismatch":
        return { done: true, reason: { kind: "action_mismatch" } };
      default:
        return result satisfies never;
    }
  }

  #idleCheck(): Step {
    const { idleTimeoutMs = 0 } = this.#options;
    const limitMs = typeof idleTimeoutMs === "function" ? idleTimeoutMs() : idleTimeoutMs;
    if (limitMs > 0 && Date.now() - this.#lastActivationAt >= limitMs) {
      return { done: true, reason: { kind: "idle" } };
    }
    return CONTINUE;
  }

  // The queue is not on the scheduler we call: it moved, or it is gone everywhere.
  async #onNoQueue(): Promise<Step> {
    const { maxNoQueueRetries = 20 } = this.#options;
    const leader = await this.#leaderWithinGrace();
    if (!leader) return { done: true, reason: { kind: "no_leader" } };
    if (this.#reconnectIfMoved(leader)) {
      this.#noQueueInARow = 0;
      return CONTINUE;
    }
    if (++this.#noQueueInARow > maxNoQueueRetries) {
      return { done: true, reason: { kind: "no_leader" } };
    }
    await this.#backoff(this.#noQueueInARow);
    return CONTINUE;
  }

  async #onFailure(error: unknown): Promise<Step> {
    if (this.#stop.signal.aborted) return { done: true, reason: { kind: "stopped" } };
    if (error instanceof RpcError && isRefusal(error)) {
      return { done: true, reason: { kind: "refused", error } };
    }
    if (!(error instanceof RpcError || error instanceof MalformedFieldError)) throw error;
    logger.warn("Fetch from {address} failed: {error}", {
      address: this.address,
      error: error.message,
    });
    const leader = await this.#leaderWithinGrace();
    if (!leader) return { done: true, reason: { kind: "no_leader" } };
    this.#reconnectIfMoved(leader);
    await this.#backoff(++this.#failuresInARow);
    return CONTINUE;
  }

  async #runActivation(message: ActivationMessage): Promise<void> {
    const started = performance.now();
    this.#activations++;
    try {
      await this.#handler(message, { signal: this.#stop.signal });
    } catch (error) {
      if (error instanceof RescheduleActivationError) await this.#reschedule(message);
      else {
        logger.error("Handler failed on activation {activationId}: {error}", {
          activationId: message.activationId,
          error: String(error),
        });
      }
    }
    this.#unreportedDurationMs = Math.round(performance.now() - started);
    this.#lastActivationAt = Date.now();
    this.#warmed = true;
  }

  async #reschedule(message: ActivationMessage): Promise<void> {
    const { invocationNamespace, action, revision } = this.#options;
    try {
      const { isRescheduled } = await this.#client!.rescheduleActivation({
        invocationNamespace,
        fqn: JSON.stringify(action),
        rev: JSON.stringify(revision),
        activationMessage: JSON.stringify(message),
      }, { metadata: this.#metadata(), timeoutMs: 5_000 });
      if (!isRescheduled) throw new Error("the scheduler did not take it back");
    } catch (error) {
      logger.error("Cannot reschedule activation {activationId}: {error}", {
        activationId: message.activationId,
        error: String(error),
      });
    }
  }

  #request(alive: boolean): FetchRequest {
    const { invocationNamespace, action, revision, containerId } = this.#options;
    return {
      invocationNamespace,
      fqn: JSON.stringify(action),
      rev: JSON.stringify(revision),
      containerId,
      warmed: this.#warmed,
      // Reported once, with the next fetch or the goodbye: the scheduler reads
      // it as "what you handed me is done".
      lastDuration: this.#unreportedDurationMs,
      alive,
    };
  }

  #callOptions() {
    const { fetchTimeoutMs = 15_000 } = this.#options;
    return { signal: this.#stop.signal, timeoutMs: fetchTimeoutMs, metadata: this.#metadata() };
  }

  #metadata(): Record<string, string> {
    return { [FETCH_TOKEN_METADATA_KEY]: this.#options.fetchToken };
  }

  #resolve(): Promise<SchedulerEndpoints | undefined> {
    const { invocationNamespace, action } = this.#options;
    return this.#options.resolver.resolve(invocationNamespace, `${action.path}/${action.name}`);
  }

  // A lookup that fails (etcd unreachable) is not proof that the leader is gone.
  async #resolveOrUndefined(): Promise<SchedulerEndpoints | undefined> {
    for (let attempt = 1; !this.#stop.signal.aborted; attempt++) {
      try {
        return await this.#resolve();
      } catch (error) {
        logger.warn("Cannot look up the leader: {error}", { error: String(error) });
        await this.#backoff(attempt);
      }
    }
    return undefined;
  }

  /** The leader, looked up again with backoff while none is found, for up to the grace period. */
  async #leaderWithinGrace(): Promise<SchedulerEndpoints | undefined> {
    const { noLeaderGraceMs = 10_000 } = this.#options;
    const deadline = Date.now() + noLeaderGraceMs;
    for (let attempt = 1;; attempt++) {
      const leader = await this.#resolveOrUndefined();
      if (leader || this.#stop.signal.aborted || Date.now() >= deadline) return leader;
      await this.#backoff(attempt);
    }
  }

  #connect(endpoint: SchedulerEndpoints): void {
    this.#client?.close();
    this.#client = new ActivationServiceClient(`${endpoint.host}:${endpoint.rpcPort}`);
  }

  /** Reconnects when the leader is elsewhere now; returns whether it moved. */
  #reconnectIfMoved(endpoint: SchedulerEndpoints): boolean {
    if (this.#client?.address === `${endpoint.host}:${endpoint.rpcPort}`) return false;
    logger.info("Following the queue to {host}:{port}", {
      host: endpoint.host,
      port: endpoint.rpcPort,
    });
    this.#connect(endpoint);
    return true;
  }

  #backoff(attempt: number): Promise<void> {
    const { retryDelayMs = 50 } = this.#options;
    const ms = Math.min(2_000, retryDelayMs * 2 ** Math.min(attempt - 1, 6));
    return sleep(ms, this.#stop.signal);
  }

  // The final fetch with alive=false lets the queue forget this container at once.
  async #sayGoodbye(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    try {
      await client.fetchActivation(this.#request(false), {
        timeoutMs: 1_000,
        metadata: this.#metadata(),
      });
    } catch {
      // The scheduler may be gone; it forgets silent containers on its own.
    } finally {
      client.close();
    }
  }
}

function isRefusal(error: RpcError): boolean {
  return error.code === "UNAUTHENTICATED" || error.code === "PERMISSION_DENIED" ||
    error.code === "INVALID_ARGUMENT";
}
