/**
 * One container of one action and everything tied to it: the SDK proxy that
 * pulls its activations, the runner that executes them, its existing-container
 * key in etcd and its memory. When the proxy stops, for whatever reason, the
 * container is destroyed, its key deleted and its memory freed.
 *
 * @module
 */
import {
  type ActionDoc,
  type ActivationMessage,
  entityPath,
  type FullyQualifiedName,
  type WhiskActivation,
} from "@faas/proto";
import {
  type CloseReason,
  ContainerProxy,
  type LeaderResolver,
  RescheduleActivationError,
} from "@faas/sdk";
import { inSpan } from "@faas/telemetry";
import { getLogger } from "@std/log";
import { ActivationRunner, type ActivationRunnerOptions } from "./activation_runner.ts";
import type { Container } from "./container/container_factory.ts";
import type { ContainerClock, ContainerTime } from "./container_time.ts";
import type { KeepAlivePolicy } from "./keep_alive.ts";
import type { LeasedKeys } from "./leased_keys.ts";
import type { Reservation } from "./resources.ts";

const logger = getLogger("invoker", "container");

/**
 * - `"running"`: pulling and running activations
 * - `"stopping"`: told to stop; finishing the running activation
 * - `"removed"`: destroyed, key deleted, memory freed
 */
export type ActionContainerState = "running" | "stopping" | "removed";

/** Why a container was removed. */
export type RemovalReason =
  | CloseReason
  | { readonly kind: "unusable" }
  | { readonly kind: "exited"; readonly code?: number }
  /** Stopped while idle to make room for another action's container. */
  | { readonly kind: "evicted" };

/** What {@linkcode ActionContainer.start} needs about the container's work. */
export interface ActionContainerSpec {
  readonly container: Container;
  /** The action, with code, at the revision the container runs. */
  readonly action: ActionDoc;
  readonly invocationNamespace: string;
  /** The action name as the scheduler's queue knows it (with version). */
  readonly fqn: FullyQualifiedName;
  readonly revision: string | null;
  readonly fetchToken: string;
  readonly scheduler: { readonly host: string; readonly rpcPort: number };
  /** `{cluster}/namespace/…/container/{id}`. */
  readonly existingKey: string;
  /** Committed once the container is registered; released on removal. */
  readonly reservation: Reservation;
}

/** The shared services containers use. */
export interface ActionContainerDeps {
  readonly keys: LeasedKeys;
  readonly resolver: LeaderResolver;
  /** Sends a finished activation's record to its controller. */
  readonly publish: (message: ActivationMessage, record: WhiskActivation) => Promise<void>;
  /** Stop pulling after this long without an activation; 0 never. */
  readonly idleTimeoutMs: number;
  /** When given, decides the idle time per action instead of `idleTimeoutMs`, and learns from runs. */
  readonly keepAlive?: KeepAlivePolicy;
  /** Accounts each container's busy and idle seconds. */
  readonly time?: ContainerTime;
  readonly runner?: ActivationRunnerOptions;
}

/** How the invoker names an action invoked in a namespace: `namespace/path/name`. */
export function actionKey(invocationNamespace: string, fqn: FullyQualifiedName): string {
  return `${invocationNamespace}/${entityPath(fqn)}`;
}

/** A container pulling activations of one action. */
export class ActionContainer {
  readonly spec: ActionContainerSpec;
  /** Resolves once the container is destroyed and its key and memory are released. */
  readonly removed: Promise<RemovalReason>;
  readonly #deps: ActionContainerDeps;
  readonly #runner: ActivationRunner;
  readonly #proxy: ContainerProxy;
  readonly #clock: ContainerClock | undefined;
  /** The action, `namespace/path/name` (see {@linkcode actionKey}). */
  readonly action: string;
  #state: ActionContainerState = "running";
  #busy = false;
  #idleSinceMs = Date.now();
  #reason: RemovalReason | undefined;

  private constructor(spec: ActionContainerSpec, deps: ActionContainerDeps) {
    this.spec = spec;
    this.#deps = deps;
    this.#runner = new ActivationRunner(spec.container, spec.action, deps.runner);
    this.action = actionKey(spec.invocationNamespace, spec.fqn);
    this.#clock = deps.time?.start();
    const { keepAlive } = deps;
    this.#proxy = ContainerProxy.start({
      invocationNamespace: spec.invocationNamespace,
      action: spec.fqn,
      revision: spec.revision,
      containerId: spec.container.id,
      fetchToken: spec.fetchToken,
      resolver: deps.resolver,
      endpoint: spec.scheduler,
      idleTimeoutMs: keepAlive ? () => keepAlive.keepAliveMs(this.action) : deps.idleTimeoutMs,
    }, (message) =>
      inSpan("activation.run", {
        kind: "consumer",
        attributes: { "faas.activation_id": message.activationId, "faas.container_id": this.id },
        ...(message.traceContext ? { parent: message.traceContext } : {}),
      }, () => this.#handle(message)));
    this.removed = this.#proxy.closed
      .catch((error): CloseReason => {
        logger.error("Proxy of {containerId} failed: {error}", {
          containerId: this.id,
          error: String(error),
        });
        return { kind: "stopped" };
      })
      .then((reason) => this.#cleanUp(this.#reason ?? reason));
    void spec.container.exited.then((exit) => {
      if (!exit.destroyed) this.#retire({ kind: "exited", ...exit });
    });
  }

  /**
   * Starts pulling and registers the existing-container key.
   *
   * @throws when the key cannot be written; the container is removed first
   */
  static async start(
    spec: ActionContainerSpec,
    deps: ActionContainerDeps,
  ): Promise<ActionContainer> {
    const started = new ActionContainer(spec, deps);
    try {
      await deps.keys.set(spec.existingKey, "");
    } catch (error) {
      started.#retire({ kind: "stopped" });
      await started.removed;
      throw error;
    }
    spec.reservation.commit();
    return started;
  }

  /** The container id. */
  get id(): string {
    return this.spec.container.id;
  }

  /** Whether an activation is running in the container now. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Where the container is in its life. */
  get state(): ActionContainerState {
    return this.#state;
  }

  /** Since when a running container has been waiting for work; `undefined` while busy or stopping. */
  get idleSinceMs(): number | undefined {
    return this.#state === "running" && !this.#busy ? this.#idleSinceMs : undefined;
  }

  /**
   * Stops gracefully: the key goes first, so schedulers stop counting this
   * container at once; the running activation finishes; then the container goes.
   */
  async stop(reason: RemovalReason = { kind: "stopped" }): Promise<RemovalReason> {
    if (this.#state === "running") {
      this.#state = "stopping";
      this.#reason ??= reason;
      await this.#deps.keys.remove(this.spec.existingKey);
      void this.#proxy.close();
    }
    return await this.removed;
  }

  async #handle(message: ActivationMessage): Promise<void> {
    if (this.#state !== "running") {
      throw new RescheduleActivationError(`Container "${this.id}" is ${this.#state}`);
    }
    this.#busy = true;
    this.#clock?.busy();
    this.#deps.keepAlive?.started(this.action);
    const outcome = await this.#runner.run(message).finally(() => {
      this.#busy = false;
      this.#idleSinceMs = Date.now();
      this.#clock?.idle();
      this.#deps.keepAlive?.finished(this.action);
    });
    if (outcome.kind === "not_started") {
      this.#retire({ kind: "exited" });
      throw new RescheduleActivationError(`Container "${this.id}" has exited`);
    }
    try {
      await this.#deps.publish(message, outcome.record);
    } catch (error) {
      logger.error("Cannot publish the result of {activationId}: {error}", {
        activationId: message.activationId,
        error: String(error),
      });
    }
    if (!outcome.containerUsable) this.#retire({ kind: "unusable" });
  }

  // Called from inside the handler too, so it must not wait for the proxy.
  #retire(reason: RemovalReason): void {
    if (this.#state === "removed") return;
    this.#state = "stopping";
    this.#reason ??= reason;
    void this.#proxy.close();
  }

  async #cleanUp(reason: RemovalReason): Promise<RemovalReason> {
    this.#state = "removed";
    await this.#deps.keys.remove(this.spec.existingKey);
    this.#runner[Symbol.dispose]();
    try {
      await this.spec.container.destroy();
    } catch (error) {
      logger.error("Cannot destroy container {containerId}: {error}", {
        containerId: this.id,
        error: String(error),
      });
    }
    this.#clock?.end();
    this.spec.reservation.release();
    logger.info("Removed container {containerId} of {action}: {reason}", {
      containerId: this.id,
      action: `${this.spec.fqn.path}/${this.spec.fqn.name}`,
      reason: reason.kind,
    });
    return reason;
  }
}
