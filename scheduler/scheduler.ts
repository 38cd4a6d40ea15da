/**
 * The scheduler program as an object: wires the queue manager to etcd (lease,
 * registration, leader keys, followers, topic adoption), Kafka (activation
 * feed, completions) and the gRPC services (ActivationService, QueueService).
 *
 * @module
 */
import type { Bus } from "@faas/bus";
import { openSession, Session, type Store } from "@faas/coordination";
import {
  type ActivationMessage,
  type ClusterKeys,
  clusterKeys,
  encodeCompletion,
  failedActivation,
  FetchTokens,
  type QueueLeader,
  type RpcServer,
  type SchedulerStates,
  serveRpc,
  type StatusCode,
  type Topics,
  topics,
} from "@faas/proto";
import { createMetrics, type Metrics } from "@faas/metrics";
import { getLogger } from "@std/log";
import { type ActivationFeed, startActivationFeed } from "./activation_feed.ts";
import { Followers } from "./cluster/followers.ts";
import { Peers } from "./cluster/peers.ts";
import { QueueCreator } from "./cluster/queue_creator.ts";
import { TopicAdoption } from "./cluster/topic_adoption.ts";
import { ActionCatalog } from "@faas/catalog";
import { ContainerProvisioner } from "./creation/mod.ts";
import type { SchedulerConfig } from "./config.ts";
import { QueueScaler } from "./queue/queue_scaler.ts";
import { QueueManager } from "./queue/queue_manager.ts";
import { activationService } from "./rpc/activation_service.ts";
import { queueService } from "./rpc/queue_service.ts";
import { SchedulerMetrics } from "./scheduler_metrics.ts";

const logger = getLogger("scheduler");

/** The external systems a scheduler talks to. */
export interface SchedulerDeps {
  readonly store: Store;
  readonly bus: Bus;
  /** Where the scheduler's metrics go. @default a registry of its own */
  readonly metrics?: Metrics;
}

/** A running scheduler. */
export interface Scheduler extends AsyncDisposable {
  readonly id: string;
  /** The port the gRPC services listen on. */
  readonly rpcPort: number;
  readonly queues: QueueManager;
  readonly followers: Followers;
  readonly adoption: TopicAdoption;
  /** Times the lease was lost and the scheduler registered again. */
  readonly reRegistrations: number;
  /** Resolves when the scheduler stops: `undefined` after close, the error after a failure. */
  readonly closed: Promise<Error | undefined>;
  close(): Promise<void>;
}

/** Starts a scheduler; resolves once it serves fetches and consumes its topic. */
export async function createScheduler(
  config: SchedulerConfig,
  deps: SchedulerDeps,
): Promise<Scheduler> {
  const session = await Session.create(deps.store, { ttlSeconds: config.leaseTtlSeconds });
  try {
    return await SchedulerRuntime.start(config, deps, session);
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** Everything one scheduler runs; rebuilt parts survive a lease loss. */
class SchedulerRuntime implements Scheduler {
  readonly id: string;
  readonly queues: QueueManager;
  readonly followers: Followers;
  readonly adoption: TopicAdoption;
  readonly closed: Promise<Error | undefined>;
  readonly #config: SchedulerConfig;
  readonly #deps: SchedulerDeps;
  readonly #keys: ClusterKeys;
  readonly #names: Topics;
  readonly #peers: Peers;
  readonly #creator: QueueCreator;
  readonly #tokens: FetchTokens;
  readonly #stop = new AbortController();
  readonly #endpoint: { self?: QueueLeader } = {};
  readonly #metrics: SchedulerMetrics;
  #session: Session;
  #provisioner?: ContainerProvisioner;
  #server?: RpcServer;
  #feed?: ActivationFeed;
  #timers: ReturnType<typeof setInterval>[] = [];
  #lastState = "";
  #reRegistrations = 0;
  #resolveClosed: (value: Error | undefined) => void = () => {};
  #closing?: Promise<void>;

  private constructor(config: SchedulerConfig, deps: SchedulerDeps, session: Session) {
    this.#config = config;
    this.#deps = deps;
    this.#session = session;
    this.id = config.schedulerId;
    this.#keys = clusterKeys(config.cluster);
    this.#names = topics(config.topicPrefix);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#peers = new Peers(deps.store, this.#keys);
    this.queues = this.#newQueueManager();
    this.#metrics = new SchedulerMetrics(deps.metrics ?? createMetrics(), {
      queues: this.queues,
      leaseUp: () => !this.#stop.signal.aborted && !this.#session.signal.aborted,
      malformed: () => this.#feed?.malformed ?? 0,
    });
    this.followers = new Followers({
      store: deps.store,
      keys: this.#keys,
      selfSid: this.id,
      lead: (ns, fqn, rev) => this.queues.lead(ns, fqn, rev),
    });
    this.#tokens = new FetchTokens(config.fetchTokenSecret);
    this.#creator = new QueueCreator({
      store: deps.store,
      keys: this.#keys,
      peers: this.#peers,
      clusterToken: () => this.#tokens.mintCluster(),
      selfSid: this.id,
      leaseId: () => this.#session.leaseId,
      join: (ns, fqn, rev) => this.#join(ns, fqn, rev),
    });
    this.adoption = new TopicAdoption({
      store: deps.store,
      bus: deps.bus,
      keys: this.#keys,
      topics: this.#names,
      selfSid: this.id,
      leaseId: () => this.#session.leaseId,
      sink: this.queues,
    });
  }

  static async start(
    config: SchedulerConfig,
    deps: SchedulerDeps,
    session: Session,
  ): Promise<SchedulerRuntime> {
    const runtime = new SchedulerRuntime(config, deps, session);
    await runtime.#listen();
    await runtime.#register();
    runtime.#provisioner = await ContainerProvisioner.start({
      store: deps.store,
      bus: deps.bus,
      keys: runtime.#keys,
      topics: runtime.#names,
      tokens: runtime.#tokens,
      leaseId: () => runtime.#session.leaseId,
      self: () => runtime.#endpoint.self!,
      onOutcome: (outcome) => {
        runtime.#metrics.creationJobs.inc({ outcome: outcome.kind });
        runtime.queues.creationSettled(outcome);
      },
    });
    const { queues } = runtime;
    const routed = runtime.#metrics.activations.bind({ outcome: "routed" });
    const duplicate = runtime.#metrics.activations.bind({ outcome: "duplicate" });
    runtime.#feed = await startActivationFeed({
      bus: deps.bus,
      topic: runtime.#names.scheduler(runtime.id),
      sink: {
        route(message, release) {
          const duplicates = queues.duplicates;
          queues.route(message, release);
          (queues.duplicates === duplicates ? routed : duplicate).inc();
        },
      },
    });
    runtime.#startTimers();
    runtime.#watchSession();
    logger.info("Scheduler {sid} serving on port {port}", {
      sid: runtime.id,
      port: runtime.rpcPort,
    });
    return runtime;
  }

  get rpcPort(): number {
    return this.#server?.port ?? 0;
  }

  get reRegistrations(): number {
    return this.#reRegistrations;
  }

  close(): Promise<void> {
    return this.#shutdown(undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #newQueueManager(): QueueManager {
    const { store, bus } = this.#deps;
    const catalog = new ActionCatalog(store, this.#config.cluster);
    const scaler = new QueueScaler({
      provision: (demand) => this.#provisioner?.provision(demand) ?? { kind: "none" },
      release: (ns, fqn, rev) => this.#provisioner?.release(ns, fqn, rev),
      action: (path, name, rev) => catalog.getRevision(path, name, rev),
      initialized: (ns, fqn, rev) => this.#provisioner?.initialized(ns, fqn, rev) ?? false,
      setNamespaceThrottled: (ns, on) => {
        store.put(this.#keys.namespaceThrottling(ns), String(on), {
          leaseId: this.#session.leaseId,
        })
          .catch((error) =>
            logger.warn("Cannot write the throttling flag of {namespace}: {error}", {
              namespace: ns,
              error: String(error),
            })
          );
      },
    });
    return new QueueManager({
      scaler,
      store,
      keys: this.#keys,
      self: () => this.#endpoint.self!,
      leaseId: () => this.#session.leaseId,
      forward: (to, message) => {
        this.#metrics.activations.inc({ outcome: "forwarded" });
        return bus.send(this.#names.scheduler(to), [{
          key: message.activationId,
          value: JSON.stringify(message),
        }]);
      },
      complete: (message, error, statusCode) => this.#sendFailure(message, error, statusCode),
      onLeading: (ns, fqn, revision) => {
        this.#creator.recruit({ invocationNamespace: ns, fqn, revision }).catch(() => {});
      },
    }, { queue: { ...this.#config.queue, now: Date.now } });
  }

  async #listen(): Promise<void> {
    const config = this.#config;
    this.#server = await serveRpc({
      host: config.bindHost,
      port: config.rpcPort,
      activation: activationService(this.queues, {
        tokens: this.#tokens,
        fetchWaitMs: config.fetchWaitMs,
        queueTimeoutMs: config.queueTimeoutMs,
        onFetch: (outcome, seconds) => this.#metrics.fetched(outcome, seconds),
      }),
      queue: queueService({
        create: (target, signal) => this.#creator.create(target, signal),
        join: (target) => this.#join(target.invocationNamespace, target.fqn, target.revision),
      }, this.#tokens),
      onInternalError: (error, path) =>
        logger.error("Call {path} failed: {error}", { path, error: String(error) }),
    });
    this.#endpoint.self = { host: config.advertisedHost, rpcPort: this.#server.port, sid: this.id };
  }

  async #join(ns: string, fqn: string, revision: string | null) {
    const role = await this.queues.lead(ns, fqn, revision);
    if (role.role === "follower") this.followers.follow(ns, fqn, revision, role.leader.sid);
    return role;
  }

  async #register(): Promise<void> {
    const { store, bus } = this.#deps;
    await bus.ensureTopics([this.#names.scheduler(this.id), this.#names.creationAck(this.id)]);
    this.#lastState = "";
    await this.#reportState();
    // Recorded after the registration, so no peer sees a topic without a live owner at start.
    await store.put(this.#keys.schedulerTopic(this.id), this.#names.scheduler(this.id));
  }

  // Writes `{cluster}/scheduler/{sid}` only when the value changes.
  async #reportState(): Promise<void> {
    const self = this.#endpoint.self!;
    const state: SchedulerStates = {
      sid: { asString: this.id },
      queueSize: this.queues.leaderCount,
      endpoints: { host: self.host, rpcPort: self.rpcPort },
    };
    const value = JSON.stringify(state);
    if (value === this.#lastState) return;
    await this.#deps.store.put(this.#keys.scheduler(this.id), value, {
      leaseId: this.#session.leaseId,
    });
    this.#lastState = value;
  }

  #startTimers(): void {
    this.#timers.push(setInterval(() => this.queues.tick(), this.#config.checkIntervalMs));
    this.#timers.push(setInterval(() => {
      this.#reportState().catch((error) =>
        logger.warn("Cannot report state: {error}", { error: String(error) })
      );
    }, 1_000));
  }

  #watchSession(): void {
    this.#session.signal.addEventListener("abort", () => void this.#reRegister(), { once: true });
  }

  /**
   * The lease is really gone, so are this scheduler's keys: another scheduler
   * may lead its queues now. Step down, take a new lease, register again and
   * route what the queues held through the election again.
   */
  async #reRegister(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const reason = this.#session.signal.reason;
    logger.error("Scheduler {sid} lost its lease; registering again: {error}", {
      sid: this.id,
      error: String(reason),
    });
    const held = this.queues.abandonAll();
    try {
      this.#session = await openSession(this.#deps.store, {
        ttlSeconds: this.#config.leaseTtlSeconds,
        signal: this.#stop.signal,
      });
      await this.#register();
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      await this.#shutdown(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#reRegistrations++;
    this.#metrics.reRegistrations.inc();
    this.#watchSession();
    this.queues.readmit(held);
  }

  #shutdown(reason: Error | undefined): Promise<void> {
    return this.#closing ??= (async () => {
      this.#stop.abort();
      for (const timer of this.#timers) clearInterval(timer);
      await this.#feed?.close();
      await this.adoption[Symbol.asyncDispose]();
      await this.followers[Symbol.asyncDispose]();
      await this.#server?.close();
      await this.queues[Symbol.asyncDispose]();
      await this.#provisioner?.close();
      this.#peers[Symbol.dispose]();
      await this.#session.close();
      this.#metrics[Symbol.dispose]();
      this.#resolveClosed(reason);
    })();
  }

  #sendFailure(message: ActivationMessage, error: string, statusCode: StatusCode): Promise<void> {
    this.#metrics.activations.inc({ outcome: "failed" });
    const record = failedActivation(message, error, { statusCode });
    const value = encodeCompletion(message, record, {
      instanceType: "scheduler",
      asString: this.id,
    });
    return this.#deps.bus.send(this.#names.completed(message.rootControllerIndex.asString), [
      { key: message.activationId, value },
    ]);
  }
}
