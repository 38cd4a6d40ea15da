/**
 * The whole system in one process: controller, scheduler and invoker on an
 * in-memory store and bus (or on real etcd and Kafka when given), with the
 * process container factory. What `deno task dev` runs.
 *
 * @module
 */
import { type Bus, connectKafka, MemoryBus } from "@faas/bus";
import { ActionCatalog } from "@faas/catalog";
import { connectEtcd, MemoryStore, type Store } from "@faas/coordination";
import { type Controller, createController, loadControllerConfig } from "@faas/controller";
import {
  createInvoker,
  type Invoker,
  loadInvokerConfig,
  ProcessContainerFactory,
} from "@faas/invoker";
import { createMetrics, type Metrics, serveMetrics } from "@faas/metrics";
import { createScheduler, loadSchedulerConfig, type Scheduler } from "@faas/scheduler";

/** Options for {@linkcode startEmbedded}. */
export interface EmbeddedOptions {
  /** Controller address. @default {"127.0.0.1"} */
  readonly host?: string;
  /** Controller port; 0 picks a free one. @default {3233} */
  readonly port?: number;
  /** Use this etcd instead of the in-memory store. */
  readonly etcdEndpoints?: readonly string[];
  /** Use these Kafka brokers instead of the in-memory bus. */
  readonly kafkaBrokers?: readonly string[];
  /** Extra environment-style settings for all three programs (e.g. `CONTAINER_IDLE_MS`). */
  readonly settings?: Readonly<Record<string, string>>;
  /** Port of the one `/metrics` endpoint all three share; 0 picks a free one, -1 serves none. @default {0} */
  readonly metricsPort?: number;
}

/** A running embedded system. */
export interface Embedded extends AsyncDisposable {
  /** The controller's base URL, e.g. `http://127.0.0.1:3233`. */
  readonly url: string;
  readonly controller: Controller;
  readonly scheduler: Scheduler;
  readonly invoker: Invoker;
  /** `true` when running on real etcd and Kafka. */
  readonly external: boolean;
  /** The registry all three programs report to. */
  readonly metrics: Metrics;
  /** The Prometheus endpoint, e.g. `http://127.0.0.1:9100/metrics`; absent when disabled. */
  readonly metricsUrl?: string;
  close(): Promise<void>;
}

/** Starts controller, scheduler and invoker in this process. */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<Embedded> {
  const { host = "127.0.0.1", port = 3233 } = options;
  const env = settingsFor(options, host, port);
  await using stack = new AsyncDisposableStack();
  const store = stack.use(await openStore(options));
  const bus = stack.use(await openBus(options));
  const factory = stack.use(new ProcessContainerFactory());
  const metrics = createMetrics();
  const metricsPort = options.metricsPort ?? 0;
  const metricsServer = metricsPort < 0
    ? undefined
    : stack.use(serveMetrics({ host, port: metricsPort, metrics }));
  const scheduler = stack.use(
    await createScheduler(loadSchedulerConfig(env), { store, bus, metrics }),
  );
  const catalog = new ActionCatalog(store, env.FAAS_CLUSTER!);
  const invoker = stack.use(
    await createInvoker(loadInvokerConfig(env), { store, bus, catalog, factory, metrics }),
  );
  const controller = stack.use(
    await createController(loadControllerConfig(env), { store, bus, metrics }),
  );
  const owned = stack.move();
  const close = () => owned.disposeAsync();
  return {
    url: `http://${host}:${controller.port}`,
    controller,
    scheduler,
    invoker,
    external: options.etcdEndpoints !== undefined,
    metrics,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function settingsFor(options: EmbeddedOptions, host: string, port: number): Record<string, string> {
  const secret = crypto.randomUUID() + crypto.randomUUID();
  return {
    FAAS_CLUSTER: "whisk",
    FAAS_FETCH_TOKEN_SECRET: secret,
    SCHEDULER_RPC_PORT: "0",
    CONTROLLER_HOST: host,
    CONTROLLER_PORT: String(port),
    ...(options.etcdEndpoints ? { FAAS_ETCD_ENDPOINTS: options.etcdEndpoints.join(",") } : {}),
    ...(options.kafkaBrokers ? { FAAS_KAFKA_BROKERS: options.kafkaBrokers.join(",") } : {}),
    ...options.settings,
  };
}

async function openStore(options: EmbeddedOptions): Promise<Store> {
  return options.etcdEndpoints
    ? await connectEtcd({ endpoints: options.etcdEndpoints })
    : new MemoryStore();
}

async function openBus(options: EmbeddedOptions): Promise<Bus> {
  return options.kafkaBrokers
    ? await connectKafka({ brokers: options.kafkaBrokers, clientId: "faas-dev" })
    : new MemoryBus();
}
