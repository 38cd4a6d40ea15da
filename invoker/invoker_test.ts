import { assert, assertEquals, assertExists } from "@std/assert";
import { MemoryBus } from "@faas/bus";
import { ActionCatalog } from "@faas/catalog";
import { MemoryStore } from "@faas/coordination";
import {
  type ActionDoc,
  ContainerCreationAckMessage,
  type ContainerDeletionMessage,
  InvokerResourceMessage,
  parseAcknowledgement,
} from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import { ProcessContainerFactory } from "./container/process_factory.ts";
import {
  createInvoker,
  type Invoker,
  type InvokerCoreConfig,
  type InvokerOptions,
} from "./invoker.ts";
import { actionFixture, creationFixture, eventually, FakeScheduler } from "./_testing.ts";

const CONFIG: InvokerCoreConfig = {
  cluster: "unit",
  invokerId: "3",
  topicPrefix: "",
  leaseTtlSeconds: 5,
  userMemoryMb: 512,
  tags: ["fast"],
  dedicatedNamespaces: [],
  containerIdleMs: 60_000,
};

interface World extends AsyncDisposable {
  readonly store: MemoryStore;
  readonly bus: MemoryBus;
  readonly invoker: Invoker;
  readonly fake: FakeScheduler;
  readonly acks: ContainerCreationAckMessage[];
  readonly completions: string[];
  put(action: Omit<Parameters<ActionCatalog["put"]>[0], never>): Promise<ActionDoc>;
}

async function world(options: InvokerOptions = {}): Promise<World> {
  const store = new MemoryStore();
  const bus = new MemoryBus();
  const factory = new ProcessContainerFactory();
  const catalog = new ActionCatalog(store, CONFIG.cluster);
  const fake = await FakeScheduler.start();
  const acks: ContainerCreationAckMessage[] = [];
  const completions: string[] = [];
  const subscriptions = [
    await bus.subscribe({
      groupId: "test",
      topics: ["creationAck0"],
      onRecord: (r) => void acks.push(ContainerCreationAckMessage.parse(JSON.parse(r.value))),
    }),
    await bus.subscribe({
      groupId: "test",
      topics: ["completed0"],
      onRecord: (r) => void completions.push(r.value),
    }),
  ];
  const invoker = await createInvoker(CONFIG, { store, bus, catalog, factory }, {
    reportIntervalMs: 50,
    ...options,
  });
  return {
    store,
    bus,
    invoker,
    fake,
    acks,
    completions,
    put: (action) => catalog.put(action),
    async [Symbol.asyncDispose]() {
      await invoker.close();
      for (const s of subscriptions) await s.close();
      await fake[Symbol.asyncDispose]();
      await factory[Symbol.asyncDispose]();
      await bus.close();
      await store.close();
    },
  };
}

async function invokerKey(store: MemoryStore) {
  const kv = await store.get("unit/invokers/3");
  return kv ? InvokerResourceMessage.parse(JSON.parse(kv.value)) : undefined;
}

Deno.test("createInvoker() registers its resources under its lease; close() revokes it", async () => {
  await using w = await world();
  assertEquals(await invokerKey(w.store), {
    status: "up",
    freeMemory: 512,
    busyMemory: 0,
    inProgressMemory: 0,
    tags: ["fast"],
    dedicatedNamespaces: [],
  });
  assertExists((await w.store.get("unit/invokers/3"))?.leaseId);
  const stopWatching = new AbortController();
  const statuses: string[] = [];
  const watching = (async () => {
    for await (
      const event of w.store.watchPrefix("unit/invokers/", { signal: stopWatching.signal })
    ) {
      statuses.push(event.type === "put" ? JSON.parse(event.kv.value).status : "deleted");
    }
  })();
  await w.invoker.close();
  assertEquals(await w.invoker.closed, undefined);
  assertEquals(await invokerKey(w.store), undefined);
  await eventually("the deletion to be seen", () => statuses.includes("deleted"));
  stopWatching.abort();
  await watching;
  assertEquals(statuses, ["down", "deleted"]);
});

Deno.test("Invoker registers again under a new lease when its lease is lost", async () => {
  await using w = await world();
  const { rev: _rev, updated: _updated, ...input } = actionFixture();
  const action = await w.put(input);
  await w.bus.send("invoker3", [{ value: JSON.stringify(creationFixture(action, w.fake.port)) }]);
  await eventually("the ack", () => w.acks.length === 1);
  const before = (await w.store.get("unit/invokers/3"))!.leaseId!;
  await w.store.revokeLease(before);
  assertEquals((await w.store.getPrefix("unit/")).kvs.filter((kv) => kv.leaseId).length, 0);
  await eventually("the keys under a new lease", async () => {
    const kvs = (await w.store.getPrefix("unit/")).kvs.filter((kv) =>
      !kv.key.startsWith("unit/actions/")
    );
    return kvs.length === 2 && kvs.every((kv) => kv.leaseId && kv.leaseId !== before);
  });
});

Deno.test("Invoker creates a container on command, acks it, runs activations and removes it on deletion", async () => {
  await using w = await world();
  const { rev: _rev, updated: _updated, ...input } = actionFixture();
  const action = await w.put(input);
  const creation = creationFixture(action, w.fake.port);
  await w.bus.send("invoker3", [{ value: JSON.stringify(creation) }]);
  await eventually("the ack", () => w.acks.length === 1);
  const ack = w.acks[0]!;
  assertEquals([ack.creationId, ack.error, ack.rootInvokerIndex.instance], [
    creation.creationId,
    undefined,
    3,
  ]);
  const keys = await w.store.getPrefix("unit/namespace/guest/guest/hello/");
  assertEquals(keys.kvs.length, 1);
  assertEquals(w.invoker.memory().busyMb, 128);
  await eventually(
    "the resource report",
    async () => (await invokerKey(w.store))?.busyMemory === 128,
  );

  const message = activationFixture({ revision: action.rev, content: { name: "unit" } });
  w.fake.enqueue(message);
  await eventually("the completion", () => w.completions.length === 1);
  const completion = parseAcknowledgement(w.completions[0]!);
  assertEquals(completion.kind, "combined");
  if (completion.kind === "combined" && typeof completion.ack.response !== "string") {
    assertEquals(completion.ack.response.response.result, { greeting: "hello unit" });
    assertEquals(completion.ack.instance.instanceType, "invoker");
  }

  const deletion: ContainerDeletionMessage = {
    transid: creation.transid,
    invocationNamespace: "guest",
    action: creation.action,
    revision: action.rev,
    whiskActionMetaData: creation.whiskActionMetaData,
  };
  await w.bus.send("invoker3", [{ value: JSON.stringify(deletion) }]);
  await eventually("the removal", () => w.invoker.containers === 0);
  assertEquals((await w.store.getPrefix("unit/namespace/")).kvs.length, 0);
  assertEquals(w.invoker.memory().busyMb, 0);
});

Deno.test("Invoker skips malformed commands and acks failures with their error", async () => {
  await using w = await world();
  const { rev: _rev, updated: _updated, ...input } = actionFixture({ memoryMb: 1024 });
  const big = await w.put(input);
  const garbage = [
    "not json",
    "{}",
    "[]",
    JSON.stringify({ creationId: "x" }),
    "x".repeat(100_000),
  ];
  const tooBig = creationFixture(big, w.fake.port);
  const missing = creationFixture(actionFixture({ name: "missing" }), w.fake.port);
  await w.bus.send(
    "invoker3",
    [...garbage, JSON.stringify(tooBig), JSON.stringify(missing)].map((value) => ({ value })),
  );
  await eventually("two acks", () => w.acks.length === 2);
  const errors = new Map(w.acks.map((a) => [a.creationId, a.error]));
  assertEquals(errors.get(tooBig.creationId), "ResourceNotEnoughError");
  assertEquals(errors.get(missing.creationId), "DBFetchError");
  assert(w.acks.every((a) => a.reason && a.reason.length > 0));
  assertEquals(w.invoker.containers, 0);
});

Deno.test("Invoker evicts the longest idle containers of other actions to make room", async () => {
  await using w = await world({ reclaimAfterIdleMs: 0 }); // 512 MB
  const put = async (name: string) => {
    const { rev: _rev, updated: _updated, ...input } = actionFixture({ name, memoryMb: 256 });
    return await w.put(input);
  };
  const [a, b, c] = [await put("a"), await put("b"), await put("c")];
  const create = async (action: ActionDoc) => {
    const creation = creationFixture(action, w.fake.port);
    await w.bus.send("invoker3", [{ value: JSON.stringify(creation) }]);
    await eventually(
      `the ack of ${action.name}`,
      () => w.acks.some((ack) => ack.creationId === creation.creationId),
    );
    return w.acks.find((ack) => ack.creationId === creation.creationId)!;
  };
  await create(a);
  await create(b); // memory full: a and b idle, a the longest
  // Schedulers see idle containers' memory as free once they have waited a while.
  assertEquals(w.invoker.memory().freeMb, 0);
  await eventually(
    "idle memory reported as free",
    async () => (await invokerKey(w.store))?.freeMemory === 512,
    5_000,
  );
  const containerKeys = async () =>
    (await w.store.getPrefix("unit/namespace/guest/guest/")).kvs.map((kv) => kv.key.split("/")[4])
      .sort();
  // Another container of b must not evict b's own idle one: a goes.
  assertEquals((await create(b)).error, undefined);
  assertEquals(await containerKeys(), ["b", "b"]);
  // c needs 256 MB: the longest idle b goes, the other b stays.
  assertEquals((await create(c)).error, undefined);
  assertEquals(await containerKeys(), ["b", "c"]);
  assertEquals(w.invoker.memory().busyMb, 512);
  assertEquals((await create(c)).error, undefined);
  assertEquals(await containerKeys(), ["c", "c"]);
  // Nothing idle belongs to another action now: a third c container finds no room.
  assertEquals((await create(c)).error, "ResourceNotEnoughError");
});

Deno.test("Invoker does not evict containers that were busy moments ago", async () => {
  await using w = await world(); // containers count as reclaimable after 2 s idle
  const created = async (name: string) => {
    const { rev: _rev, updated: _updated, ...input } = actionFixture({ name, memoryMb: 256 });
    const creation = creationFixture(await w.put(input), w.fake.port);
    await w.bus.send("invoker3", [{ value: JSON.stringify(creation) }]);
    await eventually(
      `the ack of ${name}`,
      () => w.acks.some((ack) => ack.creationId === creation.creationId),
    );
    return w.acks.find((ack) => ack.creationId === creation.creationId)!;
  };
  await created("a");
  await created("b");
  assertEquals((await created("c")).error, "ResourceNotEnoughError");
  assertEquals(w.invoker.containers, 2);
});

Deno.test("Invoker gives an action with no container one from the action holding the most", async () => {
  await using w = await world(); // 512 MB; containers count as reclaimable only after 2 s idle
  const slow = "function main() { return new Promise((r) => setTimeout(() => r({}), 1500)); }";
  const put = async (name: string) => {
    const { rev: _rev, updated: _updated, ...input } = actionFixture({
      name,
      memoryMb: 256,
      code: slow,
    });
    return await w.put(input);
  };
  const create = async (action: ActionDoc) => {
    const creation = creationFixture(action, w.fake.port);
    await w.bus.send("invoker3", [{ value: JSON.stringify(creation) }]);
    await eventually(
      `the ack of ${action.name}`,
      () => w.acks.some((ack) => ack.creationId === creation.creationId),
    );
    return w.acks.find((ack) => ack.creationId === creation.creationId)!;
  };
  const [a, b, c] = [await put("a"), await put("b"), await put("c")];
  await create(a);
  await create(a); // a holds all the memory, both containers busy:
  w.fake.enqueue(
    activationFixture({ action: { name: "a" }, revision: a.rev }),
    activationFixture({ action: { name: "a" }, revision: a.rev }),
  );
  await eventually("both activations handed out", () => w.fake.queued === 0);
  await new Promise((resolve) => setTimeout(resolve, 300)); // and running (they take 1.5 s)
  // b has no container: one of a's is stopped after its activation, and b's retry finds room.
  assertEquals((await create(b)).error, "ResourceNotEnoughError");
  await eventually("a container of a to go", () => w.invoker.containers === 1, 5_000);
  assertEquals((await create(b)).error, undefined);
  await eventually("a's activations to complete", () => w.completions.length === 2, 5_000);
  // Neither a nor b has two containers now: c waits instead of taking their last one.
  assertEquals((await create(c)).error, "ResourceNotEnoughError");
  assertEquals(w.invoker.containers, 2);
});
