import { assert, assertEquals, assertGreaterOrEqual, assertThrows } from "@std/assert";
import { MemoryBus } from "@faas/bus";
import {
  MemoryStore,
  type PrefixSnapshot,
  type Store,
  StoreUnavailableError,
} from "@faas/coordination";
import {
  type ActionMetadata,
  clusterKeys,
  FetchTokens,
  type InvokerResourceMessage,
  type QueueLeader,
  topics,
} from "@faas/proto";
import { CreationJobManager, type CreationJobOptions } from "./creation_jobs.ts";
import type { CreationOutcome } from "./creation_outcome.ts";
import { ClosedError } from "./errors.ts";
import { type FakeAnswer, FakeInvoker } from "./_fake_invoker.ts";
import { actionFixture, LossyStore, waitFor } from "./_testing.ts";

const keys = clusterKeys("whisk");
const names = topics();
const tokens = new FetchTokens("a-test-secret-of-some-length");
const self: QueueLeader = { host: "10.0.0.5", rpcPort: 13001, sid: "s0" };

interface Harness extends AsyncDisposable {
  readonly store: MemoryStore;
  readonly bus: MemoryBus;
  readonly jobs: CreationJobManager;
  readonly outcomes: CreationOutcome[];
  /** Starts a fake invoker `id`; disposed with the harness. */
  invoker(
    id: string,
    answer?: (message: FakeInvoker["received"][number]) => FakeAnswer,
    resource?: Partial<InvokerResourceMessage>,
  ): Promise<FakeInvoker>;
  /** Creates `count` containers of `action` and waits for all outcomes. */
  settle(count: number, action?: ActionMetadata): Promise<CreationOutcome[]>;
}

async function harness(
  options: CreationJobOptions = {},
  wrap: (store: MemoryStore) => Store = (store) => store,
): Promise<Harness> {
  const store = new MemoryStore();
  const bus = new MemoryBus();
  const lease = await store.grantLease(60);
  const outcomes: CreationOutcome[] = [];
  const invokers: FakeInvoker[] = [];
  const jobs = await CreationJobManager.start({
    store: wrap(store),
    bus,
    keys,
    topics: names,
    tokens,
    leaseId: () => lease.id,
    self: () => self,
    onOutcome: (outcome) => outcomes.push(outcome),
  }, { commitIntervalMs: 20, ...options });
  return {
    store,
    bus,
    jobs,
    outcomes,
    async invoker(id, answer, resource) {
      const fake = await FakeInvoker.start({
        store,
        bus,
        keys,
        topics: names,
        id,
        answer,
        resource,
      });
      invokers.push(fake);
      return fake;
    },
    async settle(count, action = actionFixture()) {
      const ids = jobs.create({ invocationNamespace: "guest", action, count });
      const ended = () => outcomes.filter((o) => ids.includes(o.creationId));
      await waitFor(`${count} outcomes`, () => ended().length === count);
      return ended();
    },
    async [Symbol.asyncDispose]() {
      await jobs.close();
      for (const fake of invokers) await fake.close();
      await bus.close();
      await store.close();
    },
  };
}

const inProgressKeys = async (store: MemoryStore) =>
  (await store.getPrefix(keys.namespaceInProgress("guest"))).kvs.map((kv) => kv.key);

Deno.test("CreationJobManager creates a container and reports it, leaving no in-progress key", async () => {
  await using h = await harness();
  const invoker = await h.invoker("0");
  const [outcome] = await h.settle(1);
  const message = invoker.received[0]!;
  assertEquals(outcome, {
    kind: "created",
    creationId: message.creationId,
    invocationNamespace: "guest",
    fqn: "guest/hello",
    revision: "1-a",
    invokerId: "0",
  });
  assertEquals([message.schedulerHost, message.rpcPort, message.rootSchedulerIndex], [
    "10.0.0.5",
    13001,
    { asString: "s0" },
  ]);
  assertEquals([message.retryCount, message.revision], [0, "1-a"]);
  assert(await tokens.verify(message.fetchToken, "guest", "guest/hello"));
  await waitFor(
    "the in-progress key to go",
    async () => (await inProgressKeys(h.store)).length === 0,
  );
});

Deno.test("CreationJobManager registers a job in progress under the lease until it ends", async () => {
  await using h = await harness();
  const invoker = await h.invoker("0", () => ({ kind: "silent" }));
  const [id] = h.jobs.create({ invocationNamespace: "guest", action: actionFixture(), count: 1 });
  await waitFor("the command to arrive", () => invoker.received.length === 1);
  const key = keys.inProgressContainer("guest", "guest/hello", "1-a", "s0", id!);
  assertEquals((await h.store.get(key))?.leaseId, "1");
  assertEquals(h.jobs.pending("guest"), [{ fqn: "guest/hello", revision: "1-a", key }]);
  await h.jobs.close();
  assertEquals([await inProgressKeys(h.store), h.outcomes], [[], []]);
});

Deno.test("CreationJobManager retries a retryable error elsewhere with the same creation id", async () => {
  await using h = await harness();
  const refused = await h.invoker("0", () => ({ kind: "error", error: "ResourceNotEnoughError" }), {
    freeMemory: 4096,
  });
  const accepting = await h.invoker("1");
  const started = Date.now();
  const [outcome] = await h.settle(1);
  assertEquals([outcome?.kind, outcome?.kind === "created" && outcome.invokerId], ["created", "1"]);
  const [first, second] = [refused.received[0]!, accepting.received[0]!];
  assertEquals([first.creationId, first.retryCount], [second.creationId, 0]);
  assertEquals(second.retryCount, 1);
  assertGreaterOrEqual(Date.now() - started, 100); // the first backoff step
});

Deno.test("CreationJobManager fails at once on an error that is not retryable", async () => {
  await using h = await harness();
  const invoker = await h.invoker("0", () => ({
    kind: "error",
    error: "BlackBoxError",
    reason: "Image pull failed",
  }));
  const [outcome] = await h.settle(1);
  assertEquals(outcome?.kind === "failed" && [outcome.error, outcome.reason, outcome.retryable], [
    "BlackBoxError",
    "Image pull failed",
    false,
  ]);
  assertEquals(invoker.received.length, 1);
});

Deno.test("CreationJobManager gives up after five retries with the last error", async () => {
  await using h = await harness({ retryBaseDelayMs: 1 });
  const invoker = await h.invoker("0", () => ({ kind: "error", error: "WhiskError" }));
  const [outcome] = await h.settle(1);
  assertEquals(outcome?.kind === "failed" && [outcome.error, outcome.retryable], [
    "WhiskError",
    true,
  ]);
  assertEquals(invoker.received.map((m) => m.retryCount), [0, 1, 2, 3, 4, 5]);
  assertEquals(await inProgressKeys(h.store), []);
});

Deno.test("CreationJobManager gives every attempt its own timeout", async () => {
  await using h = await harness({ timeoutMs: 300, retryBaseDelayMs: 1 });
  await h.invoker(
    "0",
    (m) =>
      m.retryCount === 0
        ? { kind: "error", error: "WhiskError", afterMs: 200 }
        : { kind: "ack", afterMs: 200 },
  );
  const [outcome] = await h.settle(1); // 400 ms in all: one shared timer would have fired
  assertEquals(outcome?.kind, "created");
});

Deno.test("CreationJobManager times out an attempt without an ack", async () => {
  await using h = await harness({ timeoutMs: 100 });
  await h.invoker("0", () => ({ kind: "silent" }));
  const [outcome] = await h.settle(1);
  assertEquals(outcome?.kind === "failed" && [outcome.error, outcome.retryable], [
    "TimeoutError",
    true,
  ]);
  assertEquals(await inProgressKeys(h.store), []);
});

Deno.test("CreationJobManager fails at once when no invoker can ever host the action", async () => {
  await using h = await harness();
  const invoker = await h.invoker("0", undefined, { freeMemory: 1024, busyMemory: 1024 });
  const big = actionFixture({ limits: { ...actionFixture().limits, memory: 4096 } });
  const outcomes = await h.settle(2, big);
  for (const outcome of outcomes) {
    assertEquals(outcome.kind === "failed" && [outcome.error, outcome.reason, outcome.retryable], [
      "ResourceNotEnoughError",
      'No invoker can host 4096 MB for "guest/hello"; the largest has 2048 MB',
      false,
    ]);
  }
  assertEquals([invoker.received.length, await inProgressKeys(h.store)], [0, []]);
});

Deno.test("CreationJobManager places a job on an invoker that registers during its retries", async () => {
  await using h = await harness({ retryBaseDelayMs: 50 });
  const [id] = h.jobs.create({ invocationNamespace: "guest", action: actionFixture(), count: 1 });
  await new Promise((resolve) => setTimeout(resolve, 20)); // let the first placement find nobody
  const invoker = await h.invoker("3");
  await waitFor("the outcome", () => h.outcomes.length === 1);
  assertEquals(h.outcomes[0], {
    kind: "created",
    creationId: id!,
    invocationNamespace: "guest",
    fqn: "guest/hello",
    revision: "1-a",
    invokerId: "3",
  });
  assertGreaterOrEqual(invoker.received[0]!.retryCount, 1);
});

Deno.test("CreationJobManager retries an ack whose error name it does not know", async () => {
  await using h = await harness({ retryBaseDelayMs: 1 });
  const invoker = await h.invoker(
    "0",
    (m) =>
      m.retryCount === 0 ? { kind: "error", error: "BrandNewError", reason: "Disk on fire" } : {
        kind: "ack",
      },
  );
  const [outcome] = await h.settle(1);
  assertEquals([outcome?.kind, invoker.received.length], ["created", 2]);
});

Deno.test("CreationJobManager fails with the placement error once no invoker shows up", async () => {
  await using h = await harness({ retryBaseDelayMs: 1 });
  const [outcome] = await h.settle(1);
  assertEquals(outcome?.kind === "failed" && [outcome.error, outcome.retryable], [
    "NoAvailableInvokersError",
    true,
  ]);
});

Deno.test("CreationJobManager holds memory across batches until invokers report it", async () => {
  await using h = await harness({ maxRetries: 0 });
  const invoker = await h.invoker("0", () => ({ kind: "silent" }), { freeMemory: 512 });
  h.jobs.create({ invocationNamespace: "guest", action: actionFixture(), count: 2 });
  await waitFor("both commands", () => invoker.received.length === 2);
  const [outcome] = await h.settle(1); // the invoker still reports 512 MB free
  assertEquals(outcome?.kind === "failed" && outcome.error, "ResourceNotEnoughError");
  assertEquals(invoker.received.length, 2);
});

Deno.test("CreationJobManager ignores a redelivered ack of an earlier attempt", async () => {
  await using h = await harness({ retryBaseDelayMs: 1 });
  const invoker = await h.invoker(
    "0",
    (m) => m.retryCount === 0 ? { kind: "error", error: "WhiskError" } : { kind: "silent" },
  );
  h.jobs.create({ invocationNamespace: "guest", action: actionFixture(), count: 1 });
  await waitFor("the retry", () => invoker.received.length === 2);
  const [first, second] = invoker.received as [
    typeof invoker.received[0],
    typeof invoker.received[0],
  ];
  const ack = (retryCount: number, error?: string) =>
    JSON.stringify({
      transid: first.transid,
      creationId: first.creationId,
      invocationNamespace: "guest",
      action: first.action,
      revision: first.revision,
      actionMetaData: first.whiskActionMetaData,
      rootInvokerIndex: { instance: 0 },
      schedulerHost: first.schedulerHost,
      rpcPort: first.rpcPort,
      retryCount,
      ...(error ? { error } : {}),
    });
  await h.bus.send(names.creationAck("s0"), [{ value: ack(0, "WhiskError") }, {
    value: ack(second.retryCount),
  }]);
  await waitFor("the outcome", () => h.outcomes.length === 1);
  assertEquals([h.outcomes[0]?.kind, invoker.received.length], ["created", 2]);
});

Deno.test("CreationJobManager.create() refuses bad counts and works after close", async () => {
  await using h = await harness();
  const request = { invocationNamespace: "guest", action: actionFixture(), count: 0 };
  assertThrows(() => h.jobs.create(request), RangeError, '"0"');
  assertThrows(() => h.jobs.create({ ...request, count: 1.5 }), RangeError, '"1.5"');
  await h.jobs.close();
  assertThrows(
    () => h.jobs.create({ ...request, count: 1 }),
    ClosedError,
    'Cannot create containers for "guest/hello": already closed',
  );
});

/** Fails the first listing of the invokers, as an etcd blip would. */
class BlippingStore extends LossyStore {
  failures = 1;
  override getPrefix(prefix: string): Promise<PrefixSnapshot> {
    if (prefix.endsWith("/invokers/") && this.failures-- > 0) {
      return Promise.reject(new StoreUnavailableError("etcd is away"));
    }
    return super.getPrefix(prefix);
  }
}

Deno.test("CreationJobManager retries when the invokers cannot be read", async () => {
  await using h = await harness({ retryBaseDelayMs: 1 }, (store) => new BlippingStore(store));
  const invoker = await h.invoker("0");
  const [outcome] = await h.settle(1);
  assertEquals([outcome?.kind, invoker.received[0]?.retryCount], ["created", 1]);
});
