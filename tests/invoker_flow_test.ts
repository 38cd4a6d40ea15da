/**
 * The invoker on real etcd and Kafka next to a real scheduler: container
 * creation on command, the pull of an activation, its result on
 * `completed0`, idle removal, refusal when memory does not fit, and the
 * clean-up of keys and containers when the invoker process is SIGKILLed.
 */
import { assert, assertEquals, assertExists } from "@std/assert";
import type { Subscription } from "@faas/bus";
import { ActionCatalog } from "@faas/catalog";
import {
  type ActionDoc,
  clusterKeys,
  ContainerCreationAckMessage,
  type ContainerCreationMessage,
  InvokerResourceMessage,
  parseAcknowledgement,
  type WhiskActivation,
} from "@faas/proto";
import { createInvoker, loadInvokerConfig, ProcessContainerFactory } from "@faas/invoker";
import {
  activationFixture,
  ETCD_ENDPOINTS,
  eventually,
  KAFKA_BROKERS,
  type TestCluster,
  testCluster,
  tokens,
} from "./_harness.ts";
import { copyLog } from "./_processes.ts";

const HELLO = 'function main(p){return {greeting: "hello " + p.name}}';
const ROOT = new URL("../", import.meta.url);

function putAction(
  cluster: TestCluster,
  name: string,
  code: string,
  memory = 128,
): Promise<ActionDoc> {
  return new ActionCatalog(cluster.store, cluster.name).put({
    namespace: "guest",
    name,
    version: "0.0.1",
    exec: { kind: "nodejs:20", code, binary: false },
    limits: { timeout: 10_000, memory, logs: 1, concurrency: 1 },
    parameters: [],
    annotations: [],
    publish: false,
  });
}

async function creationFor(
  action: ActionDoc,
  rpcPort: number,
  sid = "0",
): Promise<ContainerCreationMessage> {
  const { code: _code, ...exec } = action.exec;
  return {
    transid: ["sid_containerCreation", Date.now()],
    invocationNamespace: "guest",
    action: { path: action.namespace, name: action.name, version: action.version },
    revision: action.rev,
    whiskActionMetaData: { ...action, exec },
    rootSchedulerIndex: { asString: sid },
    schedulerHost: "127.0.0.1",
    rpcPort,
    retryCount: 0,
    creationId: crypto.randomUUID().replaceAll("-", ""),
    fetchToken: await tokens.mint("guest", `guest/${action.name}`),
  };
}

/** Collects what arrives on creationAck{sid} and completed0 of the cluster. */
async function listen(cluster: TestCluster, sid = "0") {
  const acks: ContainerCreationAckMessage[] = [];
  const records: WhiskActivation[] = [];
  const ackTopic = cluster.topics.creationAck(sid);
  const completedTopic = cluster.topics.completed("0");
  await cluster.bus.ensureTopics([ackTopic, completedTopic]);
  const subscriptions: Subscription[] = [
    await cluster.bus.subscribe({
      groupId: `${cluster.name}-acks`,
      topics: [ackTopic],
      onRecord: (r) => void acks.push(ContainerCreationAckMessage.parse(JSON.parse(r.value))),
    }),
    await cluster.bus.subscribe({
      groupId: `${cluster.name}-completions`,
      topics: [completedTopic],
      onRecord: (r) => {
        const ack = parseAcknowledgement(r.value);
        if (ack.kind === "combined" && typeof ack.ack.response !== "string") {
          records.push(ack.ack.response);
        }
      },
    }),
  ];
  return {
    acks,
    records,
    async [Symbol.asyncDispose]() {
      await Promise.all(subscriptions.map((s) => s.close()));
    },
  };
}

function invokerConfig(cluster: TestCluster, id: string, env: Record<string, string> = {}) {
  return loadInvokerConfig({
    FAAS_CLUSTER: cluster.name,
    INVOKER_ID: id,
    FAAS_KAFKA_TOPIC_PREFIX: `${cluster.name}-`,
    FAAS_LEASE_TTL_SECONDS: "4",
    ...env,
  });
}

Deno.test("invoker flow: a creation command yields an ack, a container key, the result, and idle removal", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  await using heard = await listen(cluster);
  const action = await putAction(cluster, "hello", HELLO);
  const keys = clusterKeys(cluster.name);
  await using factory = new ProcessContainerFactory();
  const config = invokerConfig(cluster, "5", {
    CONTAINER_IDLE_MS: "1500",
    INVOKER_USER_MEMORY_MB: "512",
  });
  const catalog = new ActionCatalog(cluster.store, cluster.name);
  await using invoker = await createInvoker(config, {
    store: cluster.store,
    bus: cluster.bus,
    catalog,
    factory,
  });
  const registered = await cluster.store.get(keys.invoker("5"));
  assertEquals(InvokerResourceMessage.parse(JSON.parse(registered!.value)).status, "up");
  const message = activationFixture({ revision: action.rev, content: { name: "flow" } });
  await cluster.publish("0", [message]);
  await eventually(
    "the leader key",
    async () => (await cluster.store.get(keys.queueLeader("guest", "guest/hello"))) !== undefined,
  );

  const creation = await creationFor(action, scheduler.rpcPort);
  await cluster.bus.send(cluster.topics.invoker("5"), [{ value: JSON.stringify(creation) }]);
  await eventually(
    "the creation ack",
    () => heard.acks.some((a) => a.creationId === creation.creationId),
    30_000,
  );
  const ack = heard.acks.find((a) => a.creationId === creation.creationId)!;
  assertEquals([ack.error, ack.reason, ack.retryCount, ack.rootInvokerIndex.instance], [
    undefined,
    undefined,
    0,
    5,
  ]);
  const existing = keys.existingContainers("guest", "guest/hello", action.rev);
  // The scheduler may provision containers of its own on this invoker too.
  const containerKeys = (await cluster.store.getPrefix(existing)).kvs;
  assert(containerKeys.length >= 1, "no existing-container key");
  assert(containerKeys.every((kv) => kv.leaseId !== undefined), "a container key without lease");

  await eventually(
    "the result on completed0",
    () => heard.records.some((r) => r.activationId === message.activationId),
    30_000,
  );
  const record = heard.records.find((r) => r.activationId === message.activationId)!;
  assertEquals(record.response, { statusCode: 0, result: { greeting: "hello flow" } });
  assert(record.annotations.some((a) => a.key === "initTime"), "a cold start reports initTime");
  assertExists(record.annotations.find((a) => a.key === "waitTime"));

  await eventually(
    "the idle container to go",
    async () => invoker.containers === 0 && (await cluster.store.countPrefix(existing)) === 0,
  );
  assertEquals(invoker.memory().busyMb, 0);
});

Deno.test("invoker flow: a creation needing more memory than the invoker has is acked ResourceNotEnoughError", async () => {
  await using cluster = await testCluster();
  await using heard = await listen(cluster, "9");
  const action = await putAction(cluster, "big", HELLO, 512);
  await using factory = new ProcessContainerFactory();
  const config = invokerConfig(cluster, "6", { INVOKER_USER_MEMORY_MB: "256" });
  const catalog = new ActionCatalog(cluster.store, cluster.name);
  await using invoker = await createInvoker(config, {
    store: cluster.store,
    bus: cluster.bus,
    catalog,
    factory,
  });
  const creation = await creationFor(action, 1, "9");
  await cluster.bus.send(cluster.topics.invoker("6"), [{ value: "not a command" }, {
    value: JSON.stringify(creation),
  }]);
  await eventually(
    "the ack",
    () => heard.acks.some((a) => a.creationId === creation.creationId),
    30_000,
  );
  const ack = heard.acks.find((a) => a.creationId === creation.creationId)!;
  assertEquals(ack.error, "ResourceNotEnoughError");
  assertEquals(invoker.containers, 0);
});

/** Pids of processes whose command line names `--container-id <id>` (our runtimes). */
async function runtimePids(containerIds: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const args = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
      const at = args.indexOf("--container-id");
      if (at >= 0 && containerIds.includes(args[at + 1]!)) {
        found.set(args[at + 1]!, Number(entry.name));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** `invoker/main.ts` as a child process, its log in a temp file. */
async function spawnInvoker(cluster: TestCluster, id: string) {
  const logFile = await Deno.makeTempFile({
    prefix: `invoker-${cluster.name}-${id}-`,
    suffix: ".log",
  });
  const log = await Deno.open(logFile, { write: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("invoker/main.ts", ROOT).pathname],
    env: {
      FAAS_CLUSTER: cluster.name,
      INVOKER_ID: id,
      FAAS_ETCD_ENDPOINTS: ETCD_ENDPOINTS.join(","),
      FAAS_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      FAAS_KAFKA_TOPIC_PREFIX: `${cluster.name}-`,
      FAAS_LEASE_TTL_SECONDS: "3",
      METRICS_PORT: "0",
      LOG_LEVEL: "INFO",
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const copying = copyLog(child.stderr, log);
  return {
    logFile,
    async kill(signal: Deno.Signal) {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      await Promise.all([child.status, copying]);
    },
  };
}

Deno.test("invoker flow: a SIGKILLed invoker's keys vanish within the lease TTL and its containers die", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  await using heard = await listen(cluster);
  const code =
    "async function main(p) { await new Promise((r) => setTimeout(r, 100)); return { n: p.n }; }";
  const action = await putAction(cluster, "busy", code);
  const keys = clusterKeys(cluster.name);
  const invoker = await spawnInvoker(cluster, "7");
  try {
    await eventually(
      `the invoker to register (log: ${invoker.logFile})`,
      async () => (await cluster.store.get(keys.invoker("7"))) !== undefined,
      30_000,
    );
    await cluster.publish(
      "0",
      Array.from(
        { length: 200 },
        (_, n) =>
          activationFixture({ action: { name: "busy" }, revision: action.rev, content: { n } }),
      ),
    );
    await eventually(
      "the leader key",
      async () => (await cluster.store.get(keys.queueLeader("guest", "guest/busy"))) !== undefined,
    );
    const creations = await Promise.all(
      [1, 2, 3].map(() => creationFor(action, scheduler.rpcPort)),
    );
    await cluster.bus.send(
      cluster.topics.invoker("7"),
      creations.map((c) => ({ value: JSON.stringify(c) })),
    );
    const existing = keys.existingContainers("guest", "guest/busy", action.rev);
    // The scheduler may add containers of its own to these three.
    await eventually(
      "three containers",
      async () => (await cluster.store.countPrefix(existing)) >= 3,
      30_000,
    );
    await eventually("results to flow", () => heard.records.length >= 5, 30_000);
    const ids = (await cluster.store.getPrefix(existing)).kvs.map((kv) =>
      kv.key.slice(kv.key.lastIndexOf("/") + 1)
    );
    const pids = await runtimePids(ids);
    assert(pids.size >= 3, `${pids.size} of ${ids.length} containers are runtime processes`);

    const killedAt = performance.now();
    await invoker.kill("SIGKILL");
    // The lease (TTL 3 s) expires at most 3 s after the last keep-alive; allow the store a margin.
    await eventually(
      "the invoker's keys to vanish",
      async () =>
        (await cluster.store.get(keys.invoker("7"))) === undefined &&
        (await cluster.store.countPrefix(existing)) === 0,
      4_500,
    );
    const vanishedMs = Math.round(performance.now() - killedAt);
    await eventually("the runtimes to exit", async () => {
      for (const pid of pids.values()) if (await alive(pid)) return false;
      return true;
    }, 5_000);
    assert(heard.records.length < 200, "the invoker was killed under load");
    assert(vanishedMs <= 4_500, `keys vanished after ${vanishedMs} ms`);
  } finally {
    await invoker.kill("SIGKILL");
  }
});
