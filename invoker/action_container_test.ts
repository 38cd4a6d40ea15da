import { assert, assertEquals, assertExists } from "@std/assert";
import { MemoryStore } from "@faas/coordination";
import type { ActionDoc, ActivationMessage, WhiskActivation } from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import type { LeaderResolver } from "@faas/sdk";
import { ActionContainer } from "./action_container.ts";
import type { ActivationRunnerOptions } from "./activation_runner.ts";
import type { Container, ContainerExit } from "./container/container_factory.ts";
import { ProcessContainerFactory } from "./container/process_factory.ts";
import { ContainerTime } from "./container_time.ts";
import { adaptiveKeepAlive, type KeepAlivePolicy } from "./keep_alive.ts";
import { LeasedKeys } from "./leased_keys.ts";
import { MemoryLedger } from "./resources.ts";
import { actionFixture, eventually, FakeScheduler } from "./_testing.ts";

interface Setup extends AsyncDisposable {
  readonly container: ActionContainer;
  readonly records: WhiskActivation[];
  readonly store: MemoryStore;
  readonly ledger: MemoryLedger;
  readonly key: string;
}

interface SetupOptions {
  idleTimeoutMs?: number;
  keepAlive?: KeepAlivePolicy;
  time?: ContainerTime;
  runner?: ActivationRunnerOptions;
  container?: Container;
}

async function startActionContainer(
  fake: FakeScheduler,
  action: ActionDoc,
  options: SetupOptions = {},
): Promise<Setup> {
  const store = new MemoryStore();
  const factory = new ProcessContainerFactory();
  const lease = await store.grantLease(10);
  const ledger = new MemoryLedger(1024);
  const records: WhiskActivation[] = [];
  const resolver: LeaderResolver = {
    resolve: () => Promise.resolve({ host: "127.0.0.1", rpcPort: fake.port }),
  };
  const runtime = options.container ??
    await factory.create({
      id: `c-${crypto.randomUUID().slice(0, 8)}`,
      kind: action.exec.kind,
      memoryMb: 128,
    });
  const key =
    `test/namespace/guest/guest/${action.name}/${action.rev}/invoker0/container/${runtime.id}`;
  const container = await ActionContainer.start({
    container: runtime,
    action,
    invocationNamespace: "guest",
    fqn: { path: action.namespace, name: action.name, version: action.version },
    revision: action.rev,
    fetchToken: "token",
    scheduler: { host: "127.0.0.1", rpcPort: fake.port },
    existingKey: key,
    reservation: ledger.reserve(128)!,
  }, {
    keys: new LeasedKeys(store, lease.id),
    resolver,
    publish: (_message, record) => Promise.resolve(void records.push(record)),
    idleTimeoutMs: options.idleTimeoutMs ?? 0,
    ...(options.keepAlive ? { keepAlive: options.keepAlive } : {}),
    ...(options.time ? { time: options.time } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
  });
  return {
    container,
    records,
    store,
    ledger,
    key,
    async [Symbol.asyncDispose]() {
      await container.stop();
      await factory[Symbol.asyncDispose]();
      await store.close();
    },
  };
}

function activation(action: ActionDoc, content: Record<string, unknown> = {}): ActivationMessage {
  return activationFixture({ action: { name: action.name }, revision: action.rev, content });
}

Deno.test("ActionContainer runs a cold then a warm activation and publishes their records", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture({ parameters: { name: "default", extra: 1 } });
  await using setup = await startActionContainer(fake, action);
  assertEquals((await setup.store.get(setup.key))?.value, "");
  assertEquals(setup.ledger.snapshot().busyMb, 128);
  const cold = activation(action, { name: "cold" });
  const warm = activation(action, {});
  fake.enqueue(cold, warm);
  await eventually("two records", () => setup.records.length === 2);
  const [first, second] = setup.records;
  assertEquals(first?.activationId, cold.activationId);
  assertEquals(first?.response, { statusCode: 0, result: { greeting: "hello cold" } });
  assertEquals(second?.response.result, { greeting: "hello default" });
  assert(first?.annotations.some((a) => a.key === "initTime"));
  assert(!second?.annotations.some((a) => a.key === "initTime"));
  assertEquals(fake.tokens, new Set(["token"]));

  assertEquals((await setup.container.stop()).kind, "stopped");
  assertEquals(await setup.store.get(setup.key), undefined);
  assertEquals(setup.ledger.snapshot().busyMb, 0);
  assert(fake.goodbyes.includes(setup.container.id), "no alive=false goodbye");
});

Deno.test("ActionContainer.stop() lets the running activation finish before removing the container", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture({
    code:
      "async function main() { await new Promise((r) => setTimeout(r, 400)); return { done: true }; }",
  });
  await using setup = await startActionContainer(fake, action);
  fake.enqueue(activation(action));
  await eventually("the activation to run", () => setup.container.busy);
  // The key goes first, so schedulers stop counting this container at once.
  const stopping = setup.container.stop();
  await eventually("the key to go", async () => (await setup.store.get(setup.key)) === undefined);
  assertEquals(setup.records.length, 0);
  assertEquals((await stopping).kind, "stopped");
  assertEquals(setup.records.map((r) => r.response.result), [{ done: true }]);
});

Deno.test("ActionContainer reports an application error and keeps the container", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture({
    code: "function main(p) { console.log('checking'); return { error: 'bad ' + p.x }; }",
  });
  await using setup = await startActionContainer(fake, action);
  fake.enqueue(activation(action, { x: 1 }), activation(action, { x: 2 }));
  await eventually("two records", () => setup.records.length === 2);
  assertEquals(setup.records.map((r) => r.response), [
    { statusCode: 1, result: { error: "bad 1" } },
    { statusCode: 1, result: { error: "bad 2" } },
  ]);
  assertEquals(setup.records[1]?.logs.length, 1);
  assertEquals(setup.container.state, "running");
});

Deno.test("ActionContainer fails an activation past its time limit and removes the container", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture({
    code: "function main() { return new Promise(() => {}); }",
    timeoutMs: 300,
  });
  await using setup = await startActionContainer(fake, action);
  fake.enqueue(activation(action));
  const reason = await setup.container.removed;
  assertEquals(reason.kind, "unusable");
  const record = setup.records[0];
  assertExists(record);
  assertEquals(record.response, {
    statusCode: 2,
    result: { error: "The action exceeded its time limits of 300 milliseconds." },
  });
  assertEquals(record.annotations.find((a) => a.key === "timeout")?.value, true);
  assertEquals(await setup.store.get(setup.key), undefined);
  assertEquals(setup.ledger.snapshot().busyMb, 0);
});

Deno.test("ActionContainer reports an action that exhausts its memory and removes the container", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture({
    code:
      "function main() { const a = []; while (true) a.push(new Array(100000).fill(Math.random())); }",
  });
  await using setup = await startActionContainer(fake, action);
  fake.enqueue(activation(action));
  // Whichever is noticed first, the crash or the process exit, removes the container.
  assert(["unusable", "exited"].includes((await setup.container.removed).kind));
  await eventually("the record", () => setup.records.length === 1);
  assertEquals(setup.records[0]?.response, {
    statusCode: 2,
    result: { error: "The action exhausted its memory and was aborted." },
  });
});

Deno.test("ActionContainer records a failed /init as a developer error and removes the container", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture({ code: "function main( {" });
  await using setup = await startActionContainer(fake, action);
  fake.enqueue(activation(action));
  assertEquals((await setup.container.removed).kind, "unusable");
  assertEquals(setup.records[0]?.response.statusCode, 2);
  assert(
    String((setup.records[0]?.response.result as { error: string }).error).includes("Cannot load"),
  );
});

Deno.test("ActionContainer removes an idle container and its key", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture();
  await using setup = await startActionContainer(fake, action, { idleTimeoutMs: 200 });
  assertEquals((await setup.container.removed).kind, "idle");
  assertEquals(await setup.store.get(setup.key), undefined);
});

/** A container that was never reachable and "exits" when told to. */
function vanishingContainer(): Container & { exit(): void } {
  const exited = Promise.withResolvers<ContainerExit>();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return {
    id: `gone-${crypto.randomUUID().slice(0, 8)}`,
    url: `http://127.0.0.1:${port}`,
    exited: exited.promise,
    exit: () => exited.resolve({ destroyed: false }),
    logs: () => Promise.resolve({ lines: [], complete: false, truncated: false }),
    destroy: () => Promise.resolve(exited.resolve({ destroyed: true })),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

Deno.test("ActionContainer hands an activation back when its container died before running it", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture();
  const gone = vanishingContainer();
  // The container dies just after the fetch handed the activation out.
  fake.onActivation = () => setTimeout(() => gone.exit(), 50);
  await using setup = await startActionContainer(fake, action, {
    container: gone,
    runner: { exitCheckMs: 2_000 },
  });
  const message = activation(action);
  fake.enqueue(message);
  assertEquals((await setup.container.removed).kind, "exited");
  await eventually("the reschedule", () => fake.rescheduled.length === 1);
  assertEquals(fake.rescheduled[0]?.activationId, message.activationId);
  assertEquals(setup.records, []);
});

Deno.test("ActionContainer reports a container that refuses calls but lives as a whisk error", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture();
  await using setup = await startActionContainer(fake, action, {
    container: vanishingContainer(),
    runner: { exitCheckMs: 50 },
  });
  fake.enqueue(activation(action));
  assertEquals((await setup.container.removed).kind, "unusable");
  assertEquals(setup.records[0]?.response, {
    statusCode: 3,
    result: { error: "The action's container cannot be reached." },
  });
});

Deno.test("ActionContainer keeps an idle container as long as the action's keep-alive says, and times it", async () => {
  await using fake = await FakeScheduler.start();
  const action = actionFixture({
    code: "async function main() { await new Promise((r) => setTimeout(r, 150)); return {}; }",
  });
  let now = 0;
  // Two gaps of ~1 s learned: 1.1 s with the margin, which a fallback of 0 (never) gives way to.
  const keepAlive = adaptiveKeepAlive({
    fallbackMs: 0,
    minMs: 300,
    maxMs: 60_000,
    minSamples: 2,
    now: () => now,
  });
  const key = "guest/guest/hello";
  for (let i = 0; i < 3; i++) {
    keepAlive.started(key);
    keepAlive.finished(key);
    now += 995;
  }
  keepAlive.started(key);
  keepAlive.finished(key);
  assertEquals(keepAlive.keepAliveMs(key), 1_100);
  const seconds = { busy: 0, idle: 0 };
  const time = new ContainerTime((state, s) => (seconds[state] += s));
  await using setup = await startActionContainer(fake, action, { keepAlive, time });
  fake.enqueue(activation(action));
  await eventually("a record", () => setup.records.length === 1);
  const idleFrom = Date.now();
  assertEquals((await setup.container.removed).kind, "idle");
  const keptMs = Date.now() - idleFrom;
  assert(keptMs >= 1_000 && keptMs < 3_000, `kept ${keptMs} ms`);
  // The run was one more gap for the policy (clock frozen: a gap of 0).
  assertEquals(keepAlive.decide(key).samples, 4);
  assert(seconds.busy >= 0.15 && seconds.busy < 1, `busy ${seconds.busy} s`);
  assert(seconds.idle >= 1 && seconds.idle < 3, `idle ${seconds.idle} s`);
  assertEquals(time.live, 0);
});
