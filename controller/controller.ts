/**
 * The controller program as an object: the OpenWhisk REST API on
 * `Deno.serve`, the action catalog and activation store on the coordination
 * store, the PoolBalancer publishing to schedulers, the throttling mirror,
 * and the consumer of `completed{controllerId}`.
 *
 * @module
 */
import type { Bus } from "@faas/bus";
import { CachedActionCatalog } from "@faas/catalog";
import type { Store } from "@faas/coordination";
import { createMetrics, type Metrics } from "@faas/metrics";
import { topics } from "@faas/proto";
import { getLogger } from "@std/log";
import type { ActivationStore } from "./activations/activation_store.ts";
import { ResultWaiters } from "./activations/result_waiters.ts";
import { StoreActivationStore } from "./activations/store_activation_store.ts";
import { type ApiHandler, apiHandler } from "./api/api.ts";
import { Authenticator } from "./auth/authenticator.ts";
import { CompletionConsumer } from "./completion_consumer.ts";
import type { ControllerConfig } from "./config.ts";
import { instrumentApi } from "./controller_metrics.ts";
import { errorResponse } from "./http/error_mapping.ts";
import { PoolBalancer } from "./pool_balancer.ts";
import { QueueLeaders } from "./queue_leaders.ts";
import { Throttles } from "./throttles.ts";

const logger = getLogger("controller");

/** The external systems a controller talks to; the caller owns and closes them. */
export interface ControllerDeps {
  /** etcd in a cluster, a `MemoryStore` embedded: actions, leaders, throttling flags. */
  readonly store: Store;
  /** Kafka in a cluster, a `MemoryBus` embedded: activations out, completions in. */
  readonly bus: Bus;
  /** Where activation records go. @default a {@linkcode StoreActivationStore} on `store` */
  readonly activations?: ActivationStore;
  /** Where the controller's metrics go. @default a registry of its own */
  readonly metrics?: Metrics;
}

/** A running controller. */
export interface Controller extends AsyncDisposable {
  /** The controller id: completions come back on `completed{id}`. */
  readonly id: string;
  /** The port the REST API listens on. */
  readonly port: number;
  /** The activation store behind `GET /activations`. */
  readonly activations: ActivationStore;
  /** Resolves when the controller stops: `undefined` after close, the error after a failure. */
  readonly closed: Promise<Error | undefined>;
  /** Answers waiting blocking invokes with 202, finishes requests, stops consuming. */
  close(): Promise<void>;
}

/** Starts a controller; resolves once it consumes completions and serves the API. */
export async function createController(
  config: ControllerConfig,
  deps: ControllerDeps,
): Promise<Controller> {
  await using stack = new AsyncDisposableStack();
  const names = topics(config.topicPrefix);
  const completedTopic = names.completed(config.controllerId);
  await deps.bus.ensureTopics([completedTopic]);
  const throttles = stack.use(await Throttles.start(deps.store, config.cluster));
  const leaders = stack.use(await QueueLeaders.start(deps.store, config.cluster));
  const catalog = stack.use(await CachedActionCatalog.start(deps.store, config.cluster));
  const activations = deps.activations ?? new StoreActivationStore(deps.store, config.cluster, {
    retentionSeconds: config.activationRetentionSeconds,
  });
  const waiters = new ResultWaiters();
  const consumer = stack.use(
    await CompletionConsumer.start({ bus: deps.bus, topic: completedTopic, activations, waiters }),
  );
  await consumer.ready;
  const stop = new AbortController();
  const handler = apiHandler({
    catalog,
    activations,
    balancer: new PoolBalancer({
      store: deps.store,
      bus: deps.bus,
      cluster: config.cluster,
      topicPrefix: config.topicPrefix,
      controllerId: config.controllerId,
      throttles,
      leaders,
      ...(config.namespaceContainerLimit === undefined
        ? {}
        : { namespaceContainerLimit: config.namespaceContainerLimit }),
    }),
    waiters,
    maxBodyBytes: config.maxBodyBytes,
    blockingTimeoutMs: config.blockingTimeoutMs,
    shutdown: stop.signal,
  }, new Authenticator(config.authKeys));
  const server = serve(config, instrumentApi(handler, deps.metrics ?? createMetrics()));
  const parts = { server, stop, consumer, throttles, leaders, catalog, activations };
  stack.move();
  return new RunningController(config.controllerId, parts);
}

function serve(config: ControllerConfig, handler: ApiHandler): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ hostname, port }) =>
      logger.info("Controller {id} serving the API on {hostname}:{port}", {
        id: config.controllerId,
        hostname,
        port,
      }),
    // The API handler answers every failure itself; this only catches its own bugs.
    onError: (error) => {
      logger.error("Unhandled API error: {error}", { error: String(error) });
      return errorResponse(error, "unknown");
    },
  }, handler);
}

interface ControllerParts {
  readonly server: Deno.HttpServer<Deno.NetAddr>;
  readonly stop: AbortController;
  readonly consumer: CompletionConsumer;
  readonly throttles: Throttles;
  readonly leaders: QueueLeaders;
  readonly catalog: CachedActionCatalog;
  readonly activations: ActivationStore;
}

class RunningController implements Controller {
  readonly id: string;
  readonly closed: Promise<Error | undefined>;
  readonly #parts: ControllerParts;
  #resolveClosed: (value: Error | undefined) => void = () => {};
  #closing: Promise<void> | undefined;

  constructor(id: string, parts: ControllerParts) {
    this.id = id;
    this.#parts = parts;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    parts.server.finished.catch((error) => void this.#shutdown(asError(error)));
  }

  get port(): number {
    return this.#parts.server.addr.port;
  }

  get activations(): ActivationStore {
    return this.#parts.activations;
  }

  close(): Promise<void> {
    return this.#shutdown(undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #shutdown(reason: Error | undefined): Promise<void> {
    return this.#closing ??= (async () => {
      const { server, stop, consumer, throttles, leaders, catalog } = this.#parts;
      // Blocking invokes answer 202 at once, so shutting the server down does not wait 60 s.
      stop.abort();
      await server.shutdown().catch(() => {});
      await consumer.close();
      await throttles.close();
      await leaders.close();
      await catalog.close();
      logger.info("Controller {id} stopped", { id: this.id });
      this.#resolveClosed(reason);
    })();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
