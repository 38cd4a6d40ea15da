/**
 * The invoker program as an object: registers itself and its memory in etcd
 * under one lease, consumes container commands from Kafka `invoker{id}`,
 * creates and removes containers, and acknowledges each creation on
 * `creationAck{schedulerId}`. Containers pull their activations themselves
 * (through the SDK's proxy) and report results on `completed{controllerId}`.
 *
 * @module
 */
import type { Bus } from "@faas/bus";
import type { ActionCatalog } from "@faas/catalog";
import { openSession, Session, type Store } from "@faas/coordination";
import {
  type ActivationMessage,
  type ClusterKeys,
  clusterKeys,
  type ContainerCommand,
  type ContainerCreationMessage,
  type ContainerDeletionMessage,
  encodeCompletion,
  entityPath,
  type Topics,
  topics,
  type WhiskActivation,
} from "@faas/proto";
import { createMetrics, type Metrics } from "@faas/metrics";
import { storeLeaderResolver } from "@faas/sdk";
import { inSpan } from "@faas/telemetry";
import { getLogger } from "@std/log";
import { creationAck, type InvokerInstance, invokerInstance } from "./acks.ts";
import type { ActivationRunnerOptions } from "./activation_runner.ts";
import type { InvokerConfig } from "./config.ts";
import type { ContainerFactory } from "./container/container_factory.ts";
import { ContainerPool } from "./container_pool.ts";
import { type CommandFeed, startCommandFeed } from "./command_feed.ts";
import { ContainerCreator } from "./creation.ts";
import { InvokerMetrics } from "./invoker_metrics.ts";
import { keepAlivePolicy } from "./keep_alive.ts";
import { LeasedKeys } from "./leased_keys.ts";
import { Registration } from "./registration.ts";
import { MemoryLedger, type MemorySnapshot } from "./resources.ts";

const logger = getLogger("invoker");

/** The part of the configuration the invoker core uses. */
export type InvokerCoreConfig =
  & Pick<
    InvokerConfig,
    | "cluster"
    | "invokerId"
    | "topicPrefix"
    | "leaseTtlSeconds"
    | "userMemoryMb"
    | "tags"
    | "dedicatedNamespaces"
    | "containerIdleMs"
  >
  & Partial<Pick<InvokerConfig, "keepAlive">>;

/** The external systems an invoker talks to. */
export interface InvokerDeps {
  /** etcd (or the memory store): registration, container keys, leader lookups. */
  readonly store: Store;
  /** Kafka (or the memory bus): commands, acks, completions. */
  readonly bus: Bus;
  /** Where actions and their code are read from. */
  readonly catalog: Pick<ActionCatalog, "getRevision">;
  /** Starts the containers. The invoker destroys what it started; the caller disposes the factory. */
  readonly factory: ContainerFactory;
  /** Where the invoker's metrics go. @default a registry of its own */
  readonly metrics?: Metrics;
}

/** Options for {@linkcode createInvoker}. */
export interface InvokerOptions {
  /** How often the resource report in etcd is checked and rewritten if it changed. @default {1_000} */
  readonly reportIntervalMs?: number;
  /** Tuning of the per-container activation runner. */
  readonly runner?: ActivationRunnerOptions;
  /**
   * A container's memory counts as free for other actions (reported to
   * schedulers, taken by a creation that needs room) once it has waited this
   * long for work. @default {2_000}
   */
  readonly reclaimAfterIdleMs?: number;
}

/** A running invoker. */
export interface Invoker extends AsyncDisposable {
  /** The invoker id (`INVOKER_ID`). */
  readonly id: string;
  /** Resolves once the command consumer has joined its group. */
  readonly ready: Promise<void>;
  /** Resolves when the invoker stops: `undefined` after close, the error after a failure. */
  readonly closed: Promise<Error | undefined>;
  /** Containers alive now. */
  readonly containers: number;
  /** Memory figures now. */
  memory(): MemorySnapshot;
  /** Graceful shutdown: refuse creations, mark down, stop consuming, drain containers, revoke the lease. */
  close(): Promise<void>;
}

/** Starts an invoker; resolves once it is registered and consuming its topic. */
export async function createInvoker(
  config: InvokerCoreConfig,
  deps: InvokerDeps,
  options: InvokerOptions = {},
): Promise<Invoker> {
  const session = await Session.create(deps.store, { ttlSeconds: config.leaseTtlSeconds });
  try {
    return await InvokerRuntime.start(config, deps, options, session);
  } catch (error) {
    await session.close();
    throw error;
  }
}

class InvokerRuntime implements Invoker {
  readonly id: string;
  readonly closed: Promise<Error | undefined>;
  readonly #config: InvokerCoreConfig;
  readonly #deps: InvokerDeps;
  readonly #keys: ClusterKeys;
  readonly #topics: Topics;
  readonly #instance: InvokerInstance;
  readonly #ledger: MemoryLedger;
  readonly #pool = new ContainerPool();
  readonly #stop = new AbortController();
  readonly #leased: LeasedKeys;
  readonly #creator: ContainerCreator;
  readonly #registration: Registration;
  readonly #metrics: InvokerMetrics;
  #session: Session;
  #feed?: CommandFeed;
  #timer?: ReturnType<typeof setInterval>;
  #resolveClosed: (value: Error | undefined) => void = () => {};
  #closing?: Promise<void>;

  private constructor(
    config: InvokerCoreConfig,
    deps: InvokerDeps,
    options: InvokerOptions,
    session: Session,
  ) {
    this.id = config.invokerId;
    this.#config = config;
    this.#deps = deps;
    this.#session = session;
    this.#keys = clusterKeys(config.cluster);
    this.#topics = topics(config.topicPrefix);
    this.#instance = invokerInstance(config);
    this.#ledger = new MemoryLedger(config.userMemoryMb);
    this.#leased = new LeasedKeys(deps.store, session.leaseId);
    const key = this.#keys.invoker(config.invokerId);
    this.#registration = new Registration(
      this.#leased,
      key,
      config,
      this.#ledger,
      () => this.#pool.reclaimableMb(Date.now(), options.reclaimAfterIdleMs ?? 2_000),
    );
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#metrics = new InvokerMetrics(deps.metrics ?? createMetrics(), {
      pool: this.#pool,
      memory: () => this.#ledger.snapshot(),
      leaseUp: () => !this.#stop.signal.aborted && !this.#session.signal.aborted,
    });
    this.#creator = this.#newCreator(options);
  }

  static async start(
    config: InvokerCoreConfig,
    deps: InvokerDeps,
    options: InvokerOptions,
    session: Session,
  ): Promise<InvokerRuntime> {
    const runtime = new InvokerRuntime(config, deps, options, session);
    await runtime.#registration.report();
    const topic = runtime.#topics.invoker(runtime.id);
    await deps.bus.ensureTopics([topic]);
    runtime.#feed = await startCommandFeed({
      bus: deps.bus,
      topic,
      handle: (command) => runtime.#handle(command),
    });
    runtime.#timer = setInterval(() => void runtime.#tick(), options.reportIntervalMs ?? 1_000);
    runtime.#watchSession();
    logger.info("Invoker {invokerId} consuming {topic} with {memoryMb} MB", {
      invokerId: runtime.id,
      topic,
      memoryMb: config.userMemoryMb,
    });
    return runtime;
  }

  get ready(): Promise<void> {
    return this.#feed?.ready ?? Promise.resolve();
  }

  get containers(): number {
    return this.#pool.size;
  }

  memory(): MemorySnapshot {
    return this.#ledger.snapshot();
  }

  close(): Promise<void> {
    return this.#shutdown(undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #newCreator(options: InvokerOptions): ContainerCreator {
    return new ContainerCreator({
      invokerId: this.id,
      keys: this.#keys,
      catalog: this.#deps.catalog,
      factory: this.#deps.factory,
      ledger: this.#ledger,
      pool: this.#pool,
      evictAfterIdleMs: options.reclaimAfterIdleMs ?? 2_000,
      containers: {
        keys: this.#leased,
        resolver: storeLeaderResolver(this.#deps.store, this.#config.cluster),
        publish: (message, record) => this.#publish(message, record),
        idleTimeoutMs: this.#config.containerIdleMs,
        ...(this.#config.keepAlive
          ? { keepAlive: keepAlivePolicy(this.#config.keepAlive, this.#config.containerIdleMs) }
          : {}),
        time: this.#metrics.containerTime,
        ...(options.runner ? { runner: options.runner } : {}),
      },
      shuttingDown: () => this.#stop.signal.aborted,
      signal: this.#stop.signal,
    });
  }

  async #handle(command: ContainerCommand): Promise<void> {
    switch (command.kind) {
      case "create":
        return await this.#create(command.message);
      case "delete":
        return await this.#delete(command.message);
      default:
        return command satisfies never;
    }
  }

  async #create(message: ContainerCreationMessage): Promise<void> {
    const started = performance.now();
    const outcome = await this.#creator.create(message);
    this.#metrics.containerCreations.inc({ outcome: outcome.ok ? "created" : outcome.error });
    const ack = creationAck(message, this.#instance, outcome.ok ? undefined : outcome);
    const fields = {
      creationId: message.creationId,
      action: entityPath(message.action),
      ms: Math.round(performance.now() - started),
      ...(outcome.ok ? { containerId: outcome.containerId } : { error: outcome.error }),
    };
    if (outcome.ok) logger.info("Created container {containerId} in {ms} ms", fields);
    else {logger.warn("Cannot create a container for {action}: {error}", {
        ...fields,
        reason: outcome.reason,
      });}
    await this.#deps.bus.send(this.#topics.creationAck(message.rootSchedulerIndex.asString), [
      { key: message.creationId, value: JSON.stringify(ack) },
    ]);
  }

  async #delete(message: ContainerDeletionMessage): Promise<void> {
    const fqn = entityPath(message.action);
    const outdated = this.#pool.outdated(message.invocationNamespace, fqn, message.revision);
    logger.info("Removing {count} containers of {action} up to revision {revision}", {
      count: outdated.length,
      action: fqn,
      revision: message.revision,
    });
    await Promise.all(outdated.map((container) => container.stop()));
  }

  async #publish(message: ActivationMessage, record: WhiskActivation): Promise<void> {
    this.#metrics.completed(record);
    const value = encodeCompletion(message, record, this.#instance);
    const topic = this.#topics.completed(message.rootControllerIndex.asString);
    await inSpan(
      "activation.complete",
      { kind: "producer" },
      () => this.#deps.bus.send(topic, [{ key: message.activationId, value }]),
    );
  }

  async #tick(): Promise<void> {
    try {
      await this.#registration.report();
    } catch (error) {
      logger.warn("Cannot report resources: {error}", { error: String(error) });
    }
    await this.#leased.sync();
  }

  #watchSession(): void {
    this.#session.signal.addEventListener("abort", () => void this.#renewSession(), { once: true });
  }

  /**
   * The lease is gone, and with it every key of this invoker, while its
   * containers still run: take a new lease and write all keys again.
   */
  async #renewSession(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    logger.error("Invoker {invokerId} lost its lease; registering again: {error}", {
      invokerId: this.id,
      error: String(this.#session.signal.reason),
    });
    try {
      this.#session = await openSession(this.#deps.store, {
        ttlSeconds: this.#config.leaseTtlSeconds,
        signal: this.#stop.signal,
      });
      await this.#leased.rebind(this.#session.leaseId);
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      await this.#shutdown(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#watchSession();
  }

  #shutdown(reason: Error | undefined): Promise<void> {
    return this.#closing ??= (async () => {
      this.#stop.abort();
      clearInterval(this.#timer);
      await this.#registration.markDown().catch((error) =>
        logger.warn("Cannot mark the invoker down: {error}", { error: String(error) })
      );
      await this.#feed?.close();
      await this.#pool.stopAll();
      await this.#leased.sync();
      await this.#session.close();
      this.#metrics[Symbol.dispose]();
      logger.info("Invoker {invokerId} stopped", { invokerId: this.id });
      this.#resolveClosed(reason);
    })();
  }
}
