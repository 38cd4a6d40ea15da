/**
 * Shared set-up for cross-program tests: connections to the real etcd and
 * Kafka the test task starts, isolated per test by a unique cluster name and
 * topic prefix, and small waiting helpers.
 *
 * @module
 */
import { type Bus, connectKafka } from "@faas/bus";
import { connectEtcd, type Store } from "@faas/coordination";
import { CLUSTER_TOKEN_METADATA_KEY, FetchTokens, type Topics, topics } from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import { type ActivationHandler, ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import {
  createScheduler,
  loadSchedulerConfig,
  type Scheduler,
  type SchedulerConfig,
} from "@faas/scheduler";
import { GUEST_KEY } from "@faas/controller";

/** The cluster secret the tests' schedulers share. */
export const SECRET = "integration-test-secret-0123";
export const tokens = new FetchTokens(SECRET);

export { GUEST_KEY };

/** REST headers of the guest: basic auth and a JSON body. */
export const GUEST_HEADERS = {
  authorization: `Basic ${btoa(GUEST_KEY)}`,
  "content-type": "application/json",
} as const;

/** Call options with the cluster token, which the QueueService asks for. */
export async function clusterCall(): Promise<{ metadata: Record<string, string> }> {
  return { metadata: { [CLUSTER_TOKEN_METADATA_KEY]: await tokens.mintCluster() } };
}

/** etcd endpoints for tests (started by `deno task test`). */
export const ETCD_ENDPOINTS = (Deno.env.get("FAAS_ETCD_ENDPOINTS") ?? "http://127.0.0.1:23790")
  .split(",");
/** Kafka brokers for tests (started by `deno task test`). */
export const KAFKA_BROKERS = (Deno.env.get("FAAS_KAFKA_BROKERS") ?? "127.0.0.1:29092").split(",");

/** One isolated cluster on the shared etcd and Kafka. */
export interface TestCluster extends AsyncDisposable {
  readonly name: string;
  readonly store: Store;
  readonly bus: Bus;
  readonly topics: Topics;
  /** Scheduler configuration for this cluster; `overrides` are environment variables. */
  schedulerConfig(sid: string, overrides?: Record<string, string>): SchedulerConfig;
  startScheduler(sid: string, overrides?: Record<string, string>): Promise<Scheduler>;
  /** Publishes activations to a scheduler's topic. */
  publish(sid: string, messages: readonly unknown[]): Promise<void>;
}

/** Connects to the real services under a fresh cluster name. */
export async function testCluster(): Promise<TestCluster> {
  const name = `t${crypto.randomUUID().slice(0, 8)}`;
  const store = await connectEtcd({ endpoints: ETCD_ENDPOINTS });
  const bus = await connectKafka({ brokers: KAFKA_BROKERS, clientId: name });
  const names = topics(`${name}-`);
  const schedulers: Scheduler[] = [];
  const schedulerConfig = (sid: string, overrides: Record<string, string> = {}) =>
    loadSchedulerConfig({
      FAAS_CLUSTER: name,
      SCHEDULER_ID: sid,
      SCHEDULER_RPC_PORT: "0",
      FAAS_FETCH_TOKEN_SECRET: SECRET,
      FAAS_KAFKA_TOPIC_PREFIX: `${name}-`,
      FAAS_LEASE_TTL_SECONDS: "4",
      ...overrides,
    });
  return {
    name,
    store,
    bus,
    topics: names,
    schedulerConfig,
    async startScheduler(sid, overrides) {
      const scheduler = await createScheduler(schedulerConfig(sid, overrides), { store, bus });
      schedulers.push(scheduler);
      return scheduler;
    },
    async publish(sid, messages) {
      await bus.send(
        names.scheduler(sid),
        messages.map((m) => ({ value: typeof m === "string" ? m : JSON.stringify(m) })),
      );
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(schedulers.map((s) => s.close()));
      await store.deletePrefix(`${name}/`);
      await bus.close();
      await store.close();
    },
  };
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { activationFixture };

/** Options for {@linkcode startContainer}. */
export interface StartContainerOptions {
  /** @default `${action}-1` */
  readonly containerId?: string;
  /** Pull first from the scheduler on this port; resolved through etcd when omitted. */
  readonly rpcPort?: number;
  /** Where leaders are looked up. @default the cluster's store */
  readonly store?: Store;
}

/**
 * Starts an SDK container for `guest/{action}` at revision `1-a` (what
 * {@linkcode activationFixture} produces), as an invoker would.
 */
export async function startContainer(
  cluster: TestCluster,
  action: string,
  handler: ActivationHandler,
  options: StartContainerOptions = {},
): Promise<ContainerProxy> {
  const { containerId = `${action}-1`, rpcPort, store = cluster.store } = options;
  return ContainerProxy.start({
    invocationNamespace: "guest",
    action: { path: "guest", name: action, version: "0.0.1" },
    revision: "1-a",
    containerId,
    fetchToken: await tokens.mint("guest", `guest/${action}`),
    resolver: storeLeaderResolver(store, cluster.name),
    // Tests of termination need not wait the production grace period.
    noLeaderGraceMs: 500,
    ...(rpcPort === undefined ? {} : { endpoint: { host: "127.0.0.1", rpcPort } }),
  }, handler);
}
