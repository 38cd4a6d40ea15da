/**
 * `deno task bench`: measures the activation pull path on real etcd and Kafka
 * next to baselines measured in the same run, and writes the numbers to
 * `bench/reports/pull-path.{md,json}`.
 *
 * - gRPC echo: the same gRPC stack and codec answering a constant response;
 *   the floor for a fetch round trip.
 * - fetch round trip: a container's FetchActivation answered from a queue
 *   that holds activations.
 * - pull throughput: containers (SDK proxies) draining a backlog, against the
 *   echo server's throughput at the same concurrency.
 * - Kafka to container: an activation published to the scheduler's topic until
 *   a parked container runs it, against a bare Kafka produce→consume round trip.
 *
 * @module
 */
import { type Bus, connectKafka } from "@faas/bus";
import { connectEtcd } from "@faas/coordination";
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
import { type FailoverResult, failoverRound, LEASE_TTL_MS } from "../tests/_chaos.ts";
import { containerBenchmarks } from "./containers.ts";
import { type LatencySummary, progress, summarize, throughput, timeSequential } from "./stats.ts";

const SECRET = "bench-secret-0123456789";
const SEQUENTIAL = 2_000;
const CONCURRENT = 20_000;
const WINDOW = 32;
const E2E = 300;

const env = Deno.env.toObject();
const etcdEndpoints = (env.FAAS_ETCD_ENDPOINTS ?? "http://127.0.0.1:23790").split(",");
const kafkaBrokers = (env.FAAS_KAFKA_BROKERS ?? "127.0.0.1:29092").split(",");
const cluster = `bench${Date.now()}`;
const fqn = { path: "guest", name: "bench", version: "0.0.1" };

async function main(): Promise<void> {
  await using store = await connectEtcd({ endpoints: etcdEndpoints });
  await using bus = await connectKafka({ brokers: kafkaBrokers, clientId: "bench" });
  const report: Record<string, unknown> = { date: new Date().toISOString(), host: Deno.hostname() };

  progress("baseline: gRPC echo");
  report.echo = await echoBaseline();
  progress("baseline: Kafka produce→consume");
  report.kafka = await kafkaBaseline(bus);

  const config = loadSchedulerConfig({
    FAAS_CLUSTER: cluster,
    SCHEDULER_ID: `b${Date.now() % 100000}`,
    SCHEDULER_RPC_PORT: "0",
    FAAS_FETCH_TOKEN_SECRET: SECRET,
    FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
    QUEUE_MAX_RETENTION: "100000",
  });
  await using scheduler = await createScheduler(config, { store, bus });
  const names = topics(config.topicPrefix);
  const publish = (n: number) => publishActivations(bus, names.scheduler(config.schedulerId), n);

  progress("system: fetch round trip with a backlog");
  report.fetch = await fetchRoundTrip(scheduler, publish);
  progress("system: pull throughput");
  report.pull = await pullThroughput(scheduler, publish, store);
  progress("system: Kafka to container");
  report.endToEnd = await kafkaToContainer(
    store,
    bus,
    names.scheduler(config.schedulerId),
    scheduler,
  );
  await scheduler.close();
  report.failover = await failovers(3);
  report.containers = await containerBenchmarks({ etcdEndpoints, kafkaBrokers, store });
  await writeReport(report);
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
  const latency = summarize(await timeSequential(SEQUENTIAL, 300, call));
  const callsPerSecond = await throughput(CONCURRENT, WINDOW, call);
  return { latency, callsPerSecond };
}

async function kafkaBaseline(bus: Bus) {
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
  return { latency: summarize(await timeSequential(E2E, 20, roundTrip)) };
}

async function fetchRoundTrip(scheduler: Scheduler, publish: (n: number) => Promise<void>) {
  await publish(SEQUENTIAL + 300);
  await waitForQueued(scheduler, SEQUENTIAL + 300);
  using client = new ActivationServiceClient(`127.0.0.1:${scheduler.rpcPort}`);
  const metadata = {
    [FETCH_TOKEN_METADATA_KEY]: await new FetchTokens(SECRET).mint("guest", "guest/bench"),
  };
  const call = () => client.fetchActivation(fetchRequest("c-rtt"), { metadata });
  const latency = summarize(await timeSequential(SEQUENTIAL, 300, call));
  await client.fetchActivation({ ...fetchRequest("c-rtt"), alive: false }, { metadata });
  return { latency };
}

async function pullThroughput(
  scheduler: Scheduler,
  publish: (n: number) => Promise<void>,
  store: Parameters<typeof storeLeaderResolver>[0],
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
  store: Parameters<typeof storeLeaderResolver>[0],
  bus: Bus,
  topic: string,
  scheduler: Scheduler,
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
  return { latency: summarize(samples.slice(20)) };
}

/** SIGKILL of the busiest leader among 3 scheduler processes under 200 activations/s. */
async function failovers(rounds: number) {
  const results: FailoverResult[] = [];
  for (let i = 1; i <= rounds; i++) {
    progress(`system: failover round ${i} of ${rounds}`);
    results.push(await failoverRound());
  }
  const times = summarize(results.map((r) => r.failoverMs));
  return {
    rounds: results,
    leaseTtlMs: LEASE_TTL_MS,
    failoverP50Ms: times.p50Ms,
    failoverMaxMs: times.maxMs,
    redeliveredPerFailover: Math.round(results.reduce((a, r) => a + r.redelivered, 0) / rounds),
    duplicatesPerFailover: Math.round(results.reduce((a, r) => a + r.duplicates, 0) / rounds),
    lost: results.reduce((a, r) => a + r.lost, 0),
  };
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

async function writeReport(report: Record<string, unknown>): Promise<void> {
  const dir = new URL("./reports/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(new URL("pull-path.json", dir), JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(new URL("pull-path.md", dir), markdown(report));
  progress(`report written to ${new URL("pull-path.md", dir).pathname}`);
  await Deno.stdout.write(new TextEncoder().encode(markdown(report)));
}

function markdown(r: Record<string, unknown>): string {
  const lat = (x: unknown) => (x as { latency: LatencySummary }).latency;
  const row = (name: string, s: LatencySummary) =>
    `| ${name} | ${s.p50Ms} | ${s.p99Ms} | ${s.maxMs} | ${s.count} |`;
  const echo = r.echo as { callsPerSecond: number };
  const pull = r.pull as { activationsPerSecond: number; containers: number };
  const f = r.failover as {
    failoverP50Ms: number;
    failoverMaxMs: number;
    leaseTtlMs: number;
    redeliveredPerFailover: number;
    duplicatesPerFailover: number;
    lost: number;
    rounds: unknown[];
  };
  const met = (ok: boolean) => (ok ? "met" : "missed");
  const c = r.containers as {
    coldStart: LatencySummary;
    warm: LatencySummary;
    scaleUp: {
      activations: number;
      peakContainers: number;
      firstContainerMs: number;
      ninetyPercentOfPeakMs: number;
      drainMs: number;
    };
  };
  return [
    `# Pull path benchmark (${r.date})`,
    "",
    "| measurement | p50 ms | p99 ms | max ms | samples |",
    "|---|---|---|---|---|",
    row("baseline: gRPC echo round trip", lat(r.echo)),
    row("system: FetchActivation round trip (backlog)", lat(r.fetch)),
    row("baseline: Kafka produce→consume", lat(r.kafka)),
    row("system: Kafka → scheduler → container", lat(r.endToEnd)),
    "",
    "| throughput | per second |",
    "|---|---|",
    `| baseline: gRPC echo, ${WINDOW} in flight | ${echo.callsPerSecond} |`,
    `| system: ${pull.containers} containers pulling a backlog | ${pull.activationsPerSecond} |`,
    "",
    `Failover (${f.rounds.length} SIGKILLs of the busiest of 3 schedulers, 200 activations/s over 20 actions, lease TTL ${f.leaseTtlMs} ms):`,
    "",
    "| measurement | value | target |",
    "|---|---|---|",
    `| failover time p50 / max | ${f.failoverP50Ms} / ${f.failoverMaxMs} ms | ≤ 2 × TTL = ${
      2 * f.leaseTtlMs
    } ms: ${met(f.failoverMaxMs <= 2 * f.leaseTtlMs)} |`,
    `| activations redelivered per failover | ${f.redeliveredPerFailover} | — |`,
    `| activations run twice per failover | ${f.duplicatesPerFailover} | reported |`,
    `| activations lost | ${f.lost} | 0: ${met(f.lost === 0)} |`,
    "",
    "Containers, through controller → scheduler → invoker → process container (REST in, result out):",
    "",
    "| measurement | p50 ms | p99 ms | max ms | samples |",
    "|---|---|---|---|---|",
    row("cold start: new action, blocking invoke → result", c.coldStart),
    row("warm: blocking invoke → result", c.warm),
    "",
    `Burst of ${c.scaleUp.activations} non-blocking invokes of a 100 ms action: first container after ${c.scaleUp.firstContainerMs} ms, ` +
    `${c.scaleUp.peakContainers} containers at the peak, 90 % of them after ${c.scaleUp.ninetyPercentOfPeakMs} ms, ` +
    `all results stored after ${c.scaleUp.drainMs} ms.`,
    "",
  ].join("\n");
}

if (import.meta.main) await main();
