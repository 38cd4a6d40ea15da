/**
 * Fuzzes every Kafka consumer of the programs with seeded random and boundary
 * records: garbage, truncated and deeply nested JSON, wrong types, huge values
 * (up to ~900 KB) and valid-shaped messages with boundary field values, plus
 * duplicates of a valid activation. Consumers: the scheduler's
 * `scheduler{sid}` and `creationAck{sid}`, the controller's
 * `completed{controllerId}` and the invoker's `invoker{id}`. Afterwards every
 * program must still be running and serve real work end to end. Rerun a
 * failure with `FUZZ_SEED=<seed from the test name>`.
 */
import { assert, assertEquals } from "@std/assert";
import type { Bus, OutgoingRecord } from "@faas/bus";
import { ActionCatalog } from "@faas/catalog";
import { createController, loadControllerConfig } from "@faas/controller";
import { createInvoker, loadInvokerConfig, ProcessContainerFactory } from "@faas/invoker";
import {
  type ActionDoc,
  clusterKeys,
  type ContainerCreationAckMessage,
  type ContainerCreationMessage,
  type ContainerDeletionMessage,
  encodeCompletion,
  failedActivation,
} from "@faas/proto";
import { ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import {
  boundaryString,
  deepJson,
  fuzzSeed,
  randomJson,
  randomUnicode,
  Rng,
  stillRunning,
  TRICKY_NUMBERS,
  TRICKY_STRINGS,
  truncated,
  withField,
} from "./_fuzz.ts";
import {
  activationFixture,
  eventually,
  GUEST_HEADERS,
  type TestCluster,
  testCluster,
  tokens,
} from "./_harness.ts";
import { startTestRunner } from "./controller_runner.ts";

const SEED = fuzzSeed();
/** Records sent to each fuzzed topic. */
const RECORDS = 150;
/** Largest record sent: the broker takes up to 2 MB, etcd requests up to 1.5 MiB. */
const HUGE = 900_000;
/** Records per `send`, by size: a batch must stay under the broker's limit. */
const BATCH_BYTES = 900_000;
const HELLO = 'function main(p) { return { greeting: "hello " + p.name }; }';

// ---------------------------------------------------------------- the tests

Deno.test(`fuzz kafka (FUZZ_SEED=${SEED}): the scheduler's activation feed survives random records`, async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  const running = stillRunning(scheduler.closed);
  const rng = new Rng(SEED ^ 0x5c4ed);
  // Queued before the fuzzing, so its copies inside it are redeliveries of a queued id.
  const queued = steadyActivation();
  await cluster.publish("0", [queued]);
  await leaderElected(cluster, "steady");
  const records = fuzzRecords(rng, RECORDS, validActivation, ACTIVATION_FIELDS);
  const copies = Array.from({ length: 3 }, () => ({ value: JSON.stringify(queued) }));
  await publishAll(cluster.bus, cluster.topics.scheduler("0"), interleave(rng, records, copies));

  const after = [steadyActivation(), activationFixture({ action: { name: "fresh" } })];
  await cluster.publish("0", after);
  await leaderElected(cluster, "fresh");
  const runs = await pullAll(cluster, scheduler.rpcPort, ["steady", "fresh"], [queued, ...after]);
  assertEquals(runs.get(queued.activationId), 1, `seed ${SEED}: the duplicates ran`);
  assertEquals(running(), true, `seed ${SEED}: the scheduler stopped`);
});

Deno.test(`fuzz kafka (FUZZ_SEED=${SEED}): the controller's completion consumer survives random records`, async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  await using controller = await startController(cluster);
  await using _runner = startTestRunner(cluster, "guest", "hello");
  const running = [scheduler.closed, controller.closed].map(stillRunning);
  const rng = new Rng(SEED ^ 0xc0117);
  const records = fuzzRecords(rng, RECORDS, validCompletion, COMPLETION_FIELDS);
  await publishAll(cluster.bus, cluster.topics.completed(controller.id), records);

  const api = `http://127.0.0.1:${controller.port}/api/v1/namespaces/_`;
  await putAction(api, "hello");
  assertEquals(await invokeBlocking(api, "hello", "world"), { greeting: "hello world" });
  // Whatever of the fuzz was stored must not break reading the activations back.
  const listed = await request(`${api}/activations?limit=200&docs=true`);
  assertEquals(listed.status, 200, `seed ${SEED}: ${JSON.stringify(listed.body)}`);
  assert(Array.isArray(listed.body), `seed ${SEED}: the list is not an array`);
  assertEquals(running.map((r) => r()), [true, true], `seed ${SEED}: a program stopped`);
});

Deno.test(`fuzz kafka (FUZZ_SEED=${SEED}): the invoker's commands and the scheduler's creation acks survive random records`, async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  await using controller = await startController(cluster);
  await using factory = new ProcessContainerFactory();
  await using invoker = await createInvoker(invokerConfig(cluster, "5"), {
    store: cluster.store,
    bus: cluster.bus,
    catalog: new ActionCatalog(cluster.store, cluster.name),
    factory,
  });
  await invoker.ready;
  const running = [scheduler.closed, controller.closed, invoker.closed].map(stillRunning);
  const rng = new Rng(SEED ^ 0x1c0de);
  const command = (r: Rng) => validCommand(r, scheduler.rpcPort);
  const commands = fuzzRecords(rng, RECORDS, command, COMMAND_FIELDS);
  const acks = fuzzRecords(rng, RECORDS, validAck, ACK_FIELDS);
  await Promise.all([
    publishAll(cluster.bus, cluster.topics.invoker("5"), commands),
    publishAll(cluster.bus, cluster.topics.creationAck("0"), acks),
  ]);

  // The scheduler asks invoker 5 for a container; its ack comes back on creationAck0.
  const api = `http://127.0.0.1:${controller.port}/api/v1/namespaces/_`;
  await putAction(api, "greet");
  assertEquals(await invokeBlocking(api, "greet", "fuzz"), { greeting: "hello fuzz" });
  // A job without its ack ends only at its 20 s timeout: a quick end means the ack was read.
  const inProgress = `${cluster.name}/in-progress/guest/`;
  await eventually(
    `seed ${SEED}: the creation acks to end every creation job`,
    async () => (await cluster.store.countPrefix(inProgress)) === 0,
    5_000,
  );
  assertEquals(running.map((r) => r()), [true, true, true], `seed ${SEED}: a program stopped`);
});

// ---------------------------------------------------------------- records

/** Paths of an ActivationMessage that the fuzzing sets to boundary values. */
const ACTIVATION_FIELDS = [
  "transid",
  "transid.1",
  "action",
  "action.path",
  "action.name",
  "action.version",
  "revision",
  "user",
  "user.subject",
  "user.namespace.name",
  "user.namespace.uuid",
  "user.rights",
  "user.limits",
  "user.limits.concurrentInvocations",
  "activationId",
  "rootControllerIndex.asString",
  "rootControllerIndex.instanceType",
  "blocking",
  "content",
  "initArgs",
  "lockedArgs",
  "cause",
  "traceContext",
] as const;

/** Paths of a combined acknowledgement (`completed{N}`). */
const COMPLETION_FIELDS = [
  "transid",
  "response",
  "response.namespace",
  "response.name",
  "response.activationId",
  "response.start",
  "response.end",
  "response.response",
  "response.response.statusCode",
  "response.response.result",
  "response.logs",
  "response.annotations",
  "response.version",
  "response.duration",
  "isSystemError",
  "instance",
  "instance.instanceType",
  "activationId",
] as const;

/** Paths of a creation or deletion command (`invoker{N}`). */
const COMMAND_FIELDS = [
  "transid",
  "invocationNamespace",
  "action",
  "action.name",
  "revision",
  "whiskActionMetaData",
  "whiskActionMetaData.exec.kind",
  "whiskActionMetaData.limits.memory",
  "whiskActionMetaData.limits.timeout",
  "whiskActionMetaData.annotations",
  "schedulerHost",
  "rpcPort",
  "retryCount",
  "creationId",
  "fetchToken",
] as const;

/** Paths of a creation ack (`creationAck{sid}`). */
const ACK_FIELDS = [
  "transid",
  "creationId",
  "invocationNamespace",
  "action",
  "revision",
  "actionMetaData",
  "rootInvokerIndex",
  "rootInvokerIndex.instance",
  "rpcPort",
  "retryCount",
  "error",
  "reason",
] as const;

/** `count` records around `valid`: garbage, edits of valid messages, huge and deep values. */
function fuzzRecords(
  rng: Rng,
  count: number,
  valid: (rng: Rng) => unknown,
  fields: readonly string[],
): OutgoingRecord[] {
  return Array.from({ length: count }, () => ({
    value: fuzzValue(rng, valid, fields),
    ...(rng.chance(0.2) ? { key: boundaryString(rng) } : {}),
  }));
}

function fuzzValue(rng: Rng, valid: (rng: Rng) => unknown, fields: readonly string[]): string {
  const roll = rng.next();
  if (roll < 0.4) return JSON.stringify(edited(rng, valid(rng), fields));
  if (roll < 0.5) return JSON.stringify(valid(rng));
  if (roll < 0.6) return truncated(rng, JSON.stringify(valid(rng)));
  if (roll < 0.7) return JSON.stringify(randomJson(rng, 4));
  if (roll < 0.8) return boundaryString(rng);
  if (roll < 0.85) return deepJson(rng.between(1_000, 50_000), rng.pick(["array", "object"]));
  if (roll < 0.88) {
    const huge = "h".repeat(rng.between(HUGE / 2, HUGE));
    return JSON.stringify(withField(valid(rng), rng.pick(fields), huge));
  }
  if (roll < 0.9) return "x".repeat(rng.between(HUGE / 2, HUGE));
  return randomUnicode(rng, rng.between(1, 200));
}

/** `value` with one to three fields replaced by boundary values, or removed. */
function edited(rng: Rng, value: unknown, fields: readonly string[]): unknown {
  let result = value;
  for (let i = rng.between(1, 3); i > 0; i--) {
    result = withField(result, rng.pick(fields), boundaryValue(rng));
  }
  return result;
}

function boundaryValue(rng: Rng): unknown {
  const roll = rng.next();
  if (roll < 0.15) return undefined;
  if (roll < 0.4) return rng.pick(TRICKY_STRINGS);
  if (roll < 0.6) return rng.pick(TRICKY_NUMBERS);
  return randomJson(rng, 2);
}

/** Mixes `extra` into `records` at random positions. */
function interleave(
  rng: Rng,
  records: readonly OutgoingRecord[],
  extra: readonly OutgoingRecord[],
): OutgoingRecord[] {
  const out = [...records];
  for (const record of extra) out.splice(rng.int(out.length + 1), 0, record);
  return out;
}

/** A valid activation of a fuzz action (never `steady` or `fresh`, whose runs are counted). */
function validActivation(rng: Rng): unknown {
  return activationFixture({
    action: { name: `fz${rng.int(8)}` },
    revision: rng.pick(["1-a", "2-b", null]),
    blocking: rng.bool(),
    content: rng.chance(0.5) ? {} : { value: randomJson(rng, 2) },
  });
}

function validCompletion(rng: Rng): unknown {
  const message = activationFixture();
  const record = failedActivation(message, boundaryString(rng), {
    statusCode: rng.pick([0, 1, 2, 3] as const),
  });
  const combined = JSON.parse(
    encodeCompletion(message, record, { instanceType: "invoker", instance: 0 }),
  ) as Record<string, unknown>;
  switch (rng.int(3)) {
    case 0:
      return combined;
    case 1: // a completion without its record
      return {
        transid: combined.transid,
        activationId: message.activationId,
        isSystemError: false,
        instance: combined.instance,
      };
    default: // a result without the instance
      return { transid: combined.transid, response: record };
  }
}

/** A valid command for an action that is not in the catalog: it must fail and be acked. */
function validCommand(
  rng: Rng,
  rpcPort: number,
): ContainerCreationMessage | ContainerDeletionMessage {
  const action: ActionDoc = {
    namespace: "guest",
    name: `fz${rng.int(8)}`,
    version: "0.0.1",
    rev: "1-a",
    exec: { kind: "nodejs:20", binary: false },
    parameters: [],
    limits: { timeout: 1_000, memory: 128, logs: 1, concurrency: 1 },
    annotations: [],
    publish: false,
    updated: Date.now(),
  };
  const deletion: ContainerDeletionMessage = {
    transid: ["sid_containerDeletion", Date.now()],
    invocationNamespace: "guest",
    action: { path: "guest", name: action.name, version: "0.0.1" },
    revision: action.rev,
    whiskActionMetaData: action,
  };
  if (rng.chance(0.3)) return deletion;
  return {
    ...deletion,
    transid: ["sid_containerCreation", Date.now()],
    // Acks go to creationAck{asString}: only "0" or names that are not topic names,
    // so that the fuzzing never auto-creates topics on the shared broker.
    rootSchedulerIndex: { asString: rng.pick(["0", "0", "0", "../0", "a b", "😀"]) },
    schedulerHost: "127.0.0.1",
    rpcPort,
    retryCount: rng.int(3),
    creationId: crypto.randomUUID().replaceAll("-", ""),
    fetchToken: "not-a-token",
  };
}

function validAck(rng: Rng): ContainerCreationAckMessage {
  const error = rng.pick([undefined, "WhiskError", "ResourceNotEnoughError", "BlackBoxError"]);
  return {
    transid: ["sid_containerCreation", Date.now()],
    creationId: crypto.randomUUID().replaceAll("-", ""),
    invocationNamespace: "guest",
    action: { path: "guest", name: `fz${rng.int(8)}`, version: "0.0.1" },
    revision: "1-a",
    actionMetaData: {
      namespace: "guest",
      name: "fz",
      version: "0.0.1",
      rev: "1-a",
      exec: { kind: "nodejs:20", binary: false },
      parameters: [],
      limits: { timeout: 1_000, memory: 128, logs: 1, concurrency: 1 },
      annotations: [],
      publish: false,
      updated: Date.now(),
    },
    rootInvokerIndex: { instance: 0 },
    schedulerHost: "127.0.0.1",
    rpcPort: 1,
    retryCount: rng.int(3),
    ...(error ? { error, reason: boundaryString(rng) } : {}),
  } as ContainerCreationAckMessage;
}

function steadyActivation() {
  return activationFixture({ action: { name: "steady" } });
}

/** Sends `records` in order, in batches the broker accepts. */
async function publishAll(
  bus: Bus,
  topic: string,
  records: readonly OutgoingRecord[],
): Promise<void> {
  let batch: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = 3 * (record.value.length + (record.key?.length ?? 0));
    if (batch.length > 0 && bytes + size > BATCH_BYTES) {
      await bus.send(topic, batch);
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += size;
  }
  if (batch.length > 0) await bus.send(topic, batch);
}

// ---------------------------------------------------------------- programs

function leaderElected(cluster: TestCluster, action: string): Promise<void> {
  const key = clusterKeys(cluster.name).queueLeader("guest", `guest/${action}`);
  return eventually(
    `seed ${SEED}: the leader of ${action}`,
    async () => (await cluster.store.get(key)) !== undefined,
  );
}

/**
 * Pulls with one SDK container per action until every one of `expected` ran;
 * returns how often each activation ran.
 */
async function pullAll(
  cluster: TestCluster,
  rpcPort: number,
  actions: readonly string[],
  expected: readonly { activationId: string }[],
): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  const proxies = await Promise.all(actions.map(async (name) =>
    ContainerProxy.start({
      invocationNamespace: "guest",
      action: { path: "guest", name, version: "0.0.1" },
      revision: "1-a",
      containerId: `after-${name}`,
      fetchToken: await tokens.mint("guest", `guest/${name}`),
      resolver: storeLeaderResolver(cluster.store, cluster.name),
      endpoint: { host: "127.0.0.1", rpcPort },
    }, (message) => {
      runs.set(message.activationId, (runs.get(message.activationId) ?? 0) + 1);
      return Promise.resolve();
    })
  ));
  try {
    await eventually(
      `seed ${SEED}: the activations published around the fuzzing to run`,
      () => expected.every((m) => runs.has(m.activationId)),
    );
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
  return runs;
}

function startController(cluster: TestCluster) {
  return createController(
    loadControllerConfig({
      FAAS_CLUSTER: cluster.name,
      FAAS_KAFKA_TOPIC_PREFIX: `${cluster.name}-`,
      CONTROLLER_PORT: "0",
      CONTROLLER_BLOCKING_TIMEOUT_MS: "25000",
    }),
    { store: cluster.store, bus: cluster.bus },
  );
}

function invokerConfig(cluster: TestCluster, id: string) {
  return loadInvokerConfig({
    FAAS_CLUSTER: cluster.name,
    INVOKER_ID: id,
    FAAS_KAFKA_TOPIC_PREFIX: `${cluster.name}-`,
    FAAS_LEASE_TTL_SECONDS: "4",
    INVOKER_USER_MEMORY_MB: "512",
  });
}

/** A request to the REST API, bounded in time; the body parsed as JSON. */
async function request(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    headers: GUEST_HEADERS,
    signal: AbortSignal.timeout(30_000),
    ...init,
  });
  return { status: response.status, body: await response.json() };
}

async function putAction(api: string, name: string): Promise<void> {
  const { status, body } = await request(`${api}/actions/${name}`, {
    method: "PUT",
    body: JSON.stringify({ exec: { kind: "nodejs:20", code: HELLO } }),
  });
  assertEquals(status, 200, `seed ${SEED}: ${JSON.stringify(body)}`);
}

async function invokeBlocking(api: string, action: string, name: string): Promise<unknown> {
  const { status, body } = await request(`${api}/actions/${action}?blocking=true&result=true`, {
    method: "POST",
    body: JSON.stringify({ name }),
  });
  assertEquals(status, 200, `seed ${SEED}: ${JSON.stringify(body)}`);
  return body;
}
