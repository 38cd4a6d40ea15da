/**
 * The scheduler's pull path on one in-process scheduler (real etcd and
 * Kafka), with its baselines measured in the same run:
 *
 * - gRPC echo: the same gRPC stack and codec answering a constant response;
 *   the floor of a fetch round trip.
 * - FetchActivation round trip: a container's fetch answered from a queue
 *   holding a backlog.
 * - pull throughput: SDK containers draining a backlog, against the echo
 *   server's throughput at the same concurrency.
 * - Kafka → scheduler → container: an activation published to the
 *   scheduler's topic until a parked container runs it, against a bare Kafka
 *   produce→consume round trip.
 *
 * @module
 */
import { type Bus, connectKafka } from "@faas/bus";
import { connectEtcd, type Store } from "@faas/coordination";
import {
  ActivationServiceClient,
  encodeFetchResult,
  FETCH_TOKEN_METADATA_KEY,
  FetchTokens,
  serveRpc,
  topics,
} from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import { createScheduler, loadSchedulerConfig, type Scheduler } from "@faas/scheduler";
import { ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import { progress, summarize, throughput, timeSequential } from "./stats.ts";

const SECRET = "bench-secret-0123456789";
const SEQUENTIAL = 2_000;
const CONCURRENT = 20_000;
const WINDOW = 32;
const E2E = 300;
const fqn = { path: "guest", name: "bench", version: "0.0.1" };

/** Options for {@linkcode pullPath}. */
export interface PullPathOptions {
  readonly etcdEndpoints: readonly string[];
  readonly kafkaBrokers: readonly string[];
}

/** The scheduler's pull path on one in-process scheduler, with its baselines. */
export async function pullPath(options: PullPathOptions) {
  const cluster = `benchp${Date.now() % 1_000_000}`;
  await using store = await connectEtcd({ endpoints: options.etcdEndpoints });
  await using bus = await connectKafka({ brokers: options.kafkaBrokers, clientId: "bench" });
  progress("baseline: gRPC echo");
  const echo = await echoBaseline();
  progress("baseline: Kafka produce→consume");
  const kafka = await kafkaBaseline(bus, cluster);
  const config = loadSchedulerConfig({
    FAAS_CLUSTER: cluster,
    SCHEDULER_ID: `b${Date.now() % 100000}`,
    SCHEDULER_RPC_PORT: "0",
    FAAS_FETCH_TOKEN_SECRET: SECRET,
    FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
    QUEUE_MAX_RETENTION: "100000",
  });
  await using scheduler = await createScheduler(config, { store, bus });
  const topic = topics(config.topicPrefix).scheduler(config.schedulerId);
  const publish = (n: number) => publishActivations(bus, topic, n);
  progress("system: FetchActivation round trip with a backlog");
  const fetch = await fetchRoundTrip(scheduler, publish);
  progress("system: pull throughput");
  const pull = await pullThroughput(scheduler, publish, store, cluster);
  progress("system: Kafka → scheduler → container");
  const endToEnd = await kafkaToContainer(store, bus, topic, scheduler, cluster);
  return {
    echo: { latency: summarize(echo.samples), callsPerSecond: echo.callsPerSecond },
    kafka: { latency: summarize(kafka) },
    fetch: { latency: summarize(fetch) },
    pull,
    endToEnd: { latency: summarize(endToEnd) },
    samples: { echo: echo.samples, kafka, fetch, endToEnd },
  };
}

async function echoBaseline() {
  const answer = {
    activationMessage: encodeFetchResult({ kind: "activation", message: activationFixture() }),
  };
  await using server = await serveRpc({
    activation: {
      fetchActivation: () => Promise.resolve(answer),
      rescheduleActivation: () => Promise.resolve({ isRescheduled: true }),
    },
  });
  using client = new ActivationServiceClient(`127.0.0.1:${server.port}`);
  const call = () => client.fetchActivation(fetchRequest("echo"));
  const samples = await timeSequential(SEQUENTIAL, 300, call);
  const callsPerSecond = await throughput(CONCURRENT, WINDOW, call);
  return { samples, callsPerSecond };
}

async function kafkaBaseline(bus: Bus, cluster: string): Promise<number[]> {
  const topic = `${cluster}-kafka-rtt`;
  await bus.ensureTopics([topic]);
  let arrived: (() => void) | undefined;
  await using sub = await bus.subscribe({
    groupId: topic,
    topics: [topic],
    onRecord: () => arrived?.(),
  });
  await sub.ready;
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      arrived = resolve;
      void bus.send(topic, [{ value: "x" }]);
    });
  return await timeSequential(E2E, 20, roundTrip);
}

async function fetchRoundTrip(scheduler: Scheduler, publish: (n: number) => Promise<void>) {
  await publish(SEQUENTIAL + 300);
  await waitForQueued(scheduler, SEQUENTIAL + 300);
  using client = new ActivationServiceClient(`127.0.0.1:${scheduler.rpcPort}`);
  const metadata = {
    [FETCH_TOKEN_METADATA_KEY]: await new FetchTokens(SECRET).mint("guest", "guest/bench"),
  };
  const call = () => client.fetchActivation(fetchRequest("c-rtt"), { metadata });
  const samples = await timeSequential(SEQUENTIAL, 300, call);
  await client.fetchActivation({ ...fetchRequest("c-rtt"), alive: false }, { metadata });
  return samples;
}

async function pullThroughput(
  scheduler: Scheduler,
  publish: (n: number) => Promise<void>,
  store: Store,
  cluster: string,
) {
  await publish(CONCURRENT);
  await waitForQueued(scheduler, CONCURRENT);
  const token = await new FetchTokens(SECRET).mint("guest", "guest/bench");
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const proxies = Array.from({ length: WINDOW }, (_, i) =>
    ContainerProxy.start({
      invocationNamespace: "guest",
      action: fqn,
      revision: "1-a",
      containerId: `c-pull-${i}`,
      fetchToken: token,
      resolver: storeLeaderResolver(store, cluster),
      endpoint: { host: "127.0.0.1", rpcPort: scheduler.rpcPort },
    }, () => {
      if (++done === CONCURRENT) finish();
      return Promise.resolve();
    }));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(proxies.map((p) => p.close()));
  return {
    activations: CONCURRENT,
    containers: WINDOW,
    activationsPerSecond: Math.round(CONCURRENT / seconds),
  };
}

async function kafkaToContainer(
  store: Store,
  bus: Bus,
  topic: string,
  scheduler: Scheduler,
  cluster: string,
) {
  const token = await new FetchTokens(SECRET).mint("guest", "guest/bench");
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let next: (() => void) | undefined;
  const proxy = ContainerProxy.start({
    invocationNamespace: "guest",
    action: fqn,
    revision: "1-a",
    containerId: "c-e2e",
    fetchToken: token,
    resolver: storeLeaderResolver(store, cluster),
    endpoint: { host: "127.0.0.1", rpcPort: scheduler.rpcPort },
  }, (message) => {
    const t = sentAt.get(message.activationId);
    if (t !== undefined) samples.push(performance.now() - t);
    next?.();
    return Promise.resolve();
  });
  for (let i = 0; i < E2E; i++) {
    const message = activationFixture({ action: fqn });
    const arrived = new Promise<void>((resolve) => (next = resolve));
    sentAt.set(message.activationId, performance.now());
    await bus.send(topic, [{ key: message.activationId, value: JSON.stringify(message) }]);
    await arrived;
  }
  await proxy.close();
  return samples.slice(20);
}

function fetchRequest(containerId: string) {
  return {
    invocationNamespace: "guest",
    fqn: JSON.stringify(fqn),
    rev: JSON.stringify("1-a"),
    containerId,
    warmed: true,
    lastDuration: 1,
    alive: true,
  };
}

async function publishActivations(bus: Bus, topic: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, n - i) }, () => {
      const message = activationFixture({ action: fqn });
      return { key: message.activationId, value: JSON.stringify(message) };
    });
    await bus.send(topic, batch);
  }
}

async function waitForQueued(scheduler: Scheduler, n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((scheduler.queues.counts("guest", "guest/bench")?.queued ?? 0) < n) {
    if (Date.now() > deadline) throw new Error(`Backlog of ${n} did not arrive within 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
