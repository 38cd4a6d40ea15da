/**
 * Handling of one ContainerCreationMessage: check that the container fits,
 * load the action's code, start the container and its proxy, and say how it
 * went as a tagged outcome that becomes the creation ack.
 *
 * @module
 */
import type { ActionCatalog } from "@faas/catalog";
import {
  type ActionDoc,
  type ClusterKeys,
  type ContainerCreationMessage,
  entityPath,
} from "@faas/proto";
import { getLogger } from "@std/log";
import { ActionContainer, type ActionContainerDeps, actionKey } from "./action_container.ts";
import type { CreationFailure } from "./acks.ts";
import type { Container, ContainerFactory, ContainerSpec } from "./container/container_factory.ts";
import type { ContainerPool } from "./container_pool.ts";
import type { MemoryLedger, Reservation } from "./resources.ts";

const logger = getLogger("invoker", "creation");

/** How a creation ended. */
export type CreationOutcome =
  | { readonly ok: true; readonly containerId: string }
  | ({ readonly ok: false } & CreationFailure);

/** What {@linkcode ContainerCreator} works with. */
export interface ContainerCreatorDeps {
  readonly invokerId: string;
  readonly keys: ClusterKeys;
  readonly catalog: Pick<ActionCatalog, "getRevision">;
  readonly factory: ContainerFactory;
  readonly ledger: MemoryLedger;
  readonly pool: ContainerPool;
  readonly containers: ActionContainerDeps;
  /** Only containers idle at least this long may be stopped to make room. */
  readonly evictAfterIdleMs: number;
  /** True once the invoker is shutting down: creations are refused. */
  readonly shuttingDown: () => boolean;
  /** Aborts container starts in progress (on shutdown). */
  readonly signal: AbortSignal;
}

const MB = 1_048_576;

/** Creates containers on command. */
export class ContainerCreator {
  readonly #deps: ContainerCreatorDeps;
  #sequence = 0;

  /** Creates the handler. */
  constructor(deps: ContainerCreatorDeps) {
    this.#deps = deps;
  }

  /** Handles one creation command; never rejects. */
  async create(message: ContainerCreationMessage): Promise<CreationOutcome> {
    const { invokerId, ledger, shuttingDown } = this.#deps;
    if (shuttingDown()) {
      return fail("ShuttingDownError", `Invoker "${invokerId}" is shutting down`);
    }
    const memoryMb = message.whiskActionMetaData.limits.memory;
    const reservation = ledger.reserve(memoryMb) ?? await this.#reserveByEvicting(message);
    if (!reservation) {
      const { freeMb } = ledger.snapshot();
      return fail(
        "ResourceNotEnoughError",
        `Invoker "${invokerId}" has ${freeMb} MB free, the action needs ${memoryMb} MB`,
      );
    }
    try {
      const outcome = await this.#createReserved(message, reservation);
      if (!outcome.ok) reservation.release();
      return outcome;
    } catch (error) {
      reservation.release();
      return fail("UnknownError", `Cannot create the container: ${String(error)}`);
    }
  }

  /**
   * Idle containers are a cache: when they hold the memory a new container
   * needs, the longest idle of other actions go, rather than the new action
   * waiting until they time out. An action with no container here may also
   * take a container from the action holding the most (see
   * {@linkcode ContainerPool.fairShare}); a busy one finishes its activation
   * first, so this creation fails and the scheduler's retry finds the room.
   */
  async #reserveByEvicting(message: ContainerCreationMessage): Promise<Reservation | undefined> {
    const { ledger, pool } = this.#deps;
    const memoryMb = message.whiskActionMetaData.limits.memory;
    const neededMb = memoryMb - ledger.snapshot().freeMb;
    const action = actionKey(message.invocationNamespace, message.action);
    const idle = pool.evictable(neededMb, action, Date.now(), this.#deps.evictAfterIdleMs);
    const victims = idle.length > 0 ? idle : pool.fairShare(neededMb, action);
    if (victims.length === 0) return undefined;
    logger.info("Evicting {count} containers to make room for {action}", {
      count: victims.length,
      action,
      containerIds: victims.map((c) => c.id),
    });
    // Settled, never rejected: a stop that fails (etcd away) must not fail the creation command.
    const stopped = Promise.allSettled(victims.map((c) => c.stop({ kind: "evicted" })));
    if (victims.some((c) => c.busy)) return undefined;
    await stopped;
    return ledger.reserve(memoryMb);
  }

  async #createReserved(
    message: ContainerCreationMessage,
    reservation: Reservation,
  ): Promise<CreationOutcome> {
    const loaded = await this.#load(message);
    if (!loaded.ok) return loaded;
    const action = loaded.action;
    const started = await this.#start(message, action, reservation.memoryMb);
    if (!started.ok) return started;
    try {
      const container = await ActionContainer.start({
        container: started.container,
        action,
        invocationNamespace: message.invocationNamespace,
        fqn: message.action,
        revision: message.revision,
        fetchToken: message.fetchToken,
        scheduler: { host: message.schedulerHost, rpcPort: message.rpcPort },
        existingKey: this.#existingKey(message, started.container.id),
        reservation,
      }, this.#deps.containers);
      this.#deps.pool.add(container);
      return { ok: true, containerId: container.id };
    } catch (error) {
      return fail("WhiskError", `Cannot register the container: ${String(error)}`);
    }
  }

  async #load(
    message: ContainerCreationMessage,
  ): Promise<{ ok: true; action: ActionDoc } | ({ ok: false } & CreationFailure)> {
    const { path, name } = message.action;
    let action: ActionDoc | undefined;
    try {
      action = await this.#deps.catalog.getRevision(path, name, message.revision);
    } catch (error) {
      return fail("DBFetchError", `Cannot read action "${path}/${name}": ${String(error)}`);
    }
    if (!action) {
      return fail(
        "DBFetchError",
        `Action "${path}/${name}" at revision "${message.revision}" does not exist`,
      );
    }
    if (action.exec.kind !== "blackbox" && action.exec.code === undefined) {
      return fail("NonExecutableActionError", `Action "${path}/${name}" has no code`);
    }
    return { ok: true, action };
  }

  async #start(
    message: ContainerCreationMessage,
    action: ActionDoc,
    memoryMb: number,
  ): Promise<{ ok: true; container: Container } | ({ ok: false } & CreationFailure)> {
    const spec: ContainerSpec = {
      id: `invoker${this.#deps.invokerId}-${++this.#sequence}-${randomSuffix()}`,
      kind: action.exec.kind,
      memoryMb,
      ...(action.exec.image ? { image: action.exec.image } : {}),
      logLimitBytes: Math.max(1, action.limits.logs) * MB,
    };
    try {
      const container = await this.#deps.factory.create(spec, { signal: this.#deps.signal });
      return { ok: true, container };
    } catch (error) {
      logger.warn("Cannot start a container for {action}: {error}", {
        action: entityPath(message.action),
        creationId: message.creationId,
        error: String(error),
      });
      const reason = error instanceof Error ? error.message : String(error);
      if (this.#deps.signal.aborted) return fail("ShuttingDownError", reason);
      return fail(action.exec.kind === "blackbox" ? "BlackBoxError" : "WhiskError", reason);
    }
  }

  #existingKey(message: ContainerCreationMessage, containerId: string): string {
    return this.#deps.keys.existingContainer(
      message.invocationNamespace,
      entityPath(message.action),
      message.revision ?? "null",
      this.#deps.invokerId,
      containerId,
    );
  }
}

function fail(error: CreationFailure["error"], reason: string): { ok: false } & CreationFailure {
  return { ok: false, error, reason };
}

function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}
