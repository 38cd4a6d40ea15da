/**
 * The scheduler program as an object: wires the queue manager to etcd (lease,
 * registration, leader keys), Kafka (activation feed, completions) and the
 * ActivationService gRPC server.
 *
 * @module
 */
import type { Bus } from "@faas/bus";
import { Session, type Store } from "@faas/coordination";
import {
  type ActivationMessage,
  clusterKeys,
  encodeCompletion,
  failedActivation,
  FetchTokens,
  type QueueLeader,
  type RpcServer,
  type SchedulerStates,
  serveRpc,
  type StatusCode,
  topics,
} from "@faas/proto";
import { getLogger } from "@std/log";
import { type ActivationFeed, startActivationFeed } from "./activation_feed.ts";
import type { SchedulerConfig } from "./config.ts";
import { QueueManager } from "./queue/queue_manager.ts";
import { activationService } from "./rpc/activation_service.ts";

const logger = getLogger("scheduler");

/** The external systems a scheduler talks to. */
export interface SchedulerDeps {
  readonly store: Store;
  readonly bus: Bus;
}

/** A running scheduler. */
export interface Scheduler extends AsyncDisposable {
  readonly id: string;
  /** The port the gRPC services listen on. */
  readonly rpcPort: number;
  readonly queues: QueueManager;
  /** Resolves when the scheduler stops: `undefined` after close, the error after a failure. */
  readonly closed: Promise<Error | undefined>;
  close(): Promise<void>;
}

/** Starts a scheduler; resolves once it serves fetches and consumes its topic. */
export async function createScheduler(
  config: SchedulerConfig,
  deps: SchedulerDeps,
): Promise<Scheduler> {
  const { store, bus } = deps;
  const keys = clusterKeys(config.cluster);
  const names = topics(config.topicPrefix);
  const sid = config.schedulerId;
  const session = await Session.create(store, { ttlSeconds: config.leaseTtlSeconds });
  // The leader value names the gRPC port, known only once the server listens.
  const endpoint: { self?: QueueLeader } = {};
  const manager = new QueueManager({
    store,
    keys,
    self: () => endpoint.self!,
    leaseId: () => session.leaseId,
    forward: (to, message) =>
      bus.send(names.scheduler(to), [{
        key: message.activationId,
        value: JSON.stringify(message),
      }]),
    complete: (message, error, statusCode) =>
      sendFailure(bus, names, sid, message, error, statusCode),
  }, {
    queue: { ...config.queue, now: Date.now },
  });
  const server = await serveRpc({
    host: config.bindHost,
    port: config.rpcPort,
    activation: activationService(manager, {
      tokens: new FetchTokens(config.fetchTokenSecret),
      fetchWaitMs: config.fetchWaitMs,
      queueTimeoutMs: config.queueTimeoutMs,
    }),
    onInternalError: (error, path) =>
      logger.error("Call {path} failed: {error}", { path, error: String(error) }),
  });
  const self = endpoint.self = { host: config.advertisedHost, rpcPort: server.port, sid };
  await bus.ensureTopics([names.scheduler(sid), names.creationAck(sid)]);
  const states = new StateReporter(store, keys.scheduler(sid), session, self, manager);
  await states.report();
  const feed = await startActivationFeed({ bus, topic: names.scheduler(sid), sink: manager });
  return assemble({ config, session, server, manager, feed, states });
}

function sendFailure(
  bus: Bus,
  names: ReturnType<typeof topics>,
  sid: string,
  message: ActivationMessage,
  error: string,
  statusCode: StatusCode,
): Promise<void> {
  const record = failedActivation(message, error, { statusCode });
  const value = encodeCompletion(message, record, { instanceType: "scheduler", asString: sid });
  return bus.send(names.completed(message.rootControllerIndex.asString), [{
    key: message.activationId,
    value,
  }]);
}

/** Keeps `{cluster}/scheduler/{sid}` current; writes only when the value changes. */
class StateReporter {
  #last = "";
  constructor(
    readonly store: Store,
    readonly key: string,
    readonly session: Session,
    readonly self: QueueLeader,
    readonly manager: QueueManager,
  ) {}

  async report(): Promise<void> {
    const state: SchedulerStates = {
      sid: { asString: this.self.sid },
      queueSize: this.manager.leaderCount,
      endpoints: { host: this.self.host, rpcPort: this.self.rpcPort },
    };
    const value = JSON.stringify(state);
    if (value === this.#last) return;
    await this.store.put(this.key, value, { leaseId: this.session.leaseId });
    this.#last = value;
  }
}

interface Parts {
  readonly config: SchedulerConfig;
  readonly session: Session;
  readonly server: RpcServer;
  readonly manager: QueueManager;
  readonly feed: ActivationFeed;
  readonly states: StateReporter;
}

function assemble(parts: Parts): Scheduler {
  const { config, session, server, manager, feed, states } = parts;
  const ticker = setInterval(() => manager.tick(), config.checkIntervalMs);
  const reporter = setInterval(() => {
    states.report().catch((error) =>
      logger.warn("Cannot report state: {error}", { error: String(error) })
    );
  }, 1_000);
  let resolveClosed: (value: Error | undefined) => void = () => {};
  const closed = new Promise<Error | undefined>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = (reason?: Error) =>
    closing ??= (async () => {
      clearInterval(ticker);
      clearInterval(reporter);
      await feed.close();
      await server.close();
      await manager[Symbol.asyncDispose]();
      await session.close();
      resolveClosed(reason);
    })();
  session.signal.addEventListener("abort", () => {
    const reason = session.signal.reason instanceof Error
      ? session.signal.reason
      : new Error("Lease lost");
    logger.error("Scheduler {sid} lost its lease: {error}", {
      sid: config.schedulerId,
      error: reason.message,
    });
    void close(reason);
  }, { once: true });
  logger.info("Scheduler {sid} serving on port {port}", {
    sid: config.schedulerId,
    port: server.port,
  });
  return {
    id: config.schedulerId,
    rpcPort: server.port,
    queues: manager,
    closed,
    close: () => close(),
    [Symbol.asyncDispose]: () => close(),
  };
}
