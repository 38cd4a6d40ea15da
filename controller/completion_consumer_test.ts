import { assertEquals } from "@std/assert";
import { MemoryBus } from "@faas/bus";
import { StoreUnavailableError } from "@faas/coordination";
import { encodeCompletion, failedActivation, type WhiskActivation } from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import type { ActivationStore } from "./activations/activation_store.ts";
import { MemoryActivationStore } from "./activations/memory_activation_store.ts";
import { ResultWaiters } from "./activations/result_waiters.ts";
import { CompletionConsumer } from "./completion_consumer.ts";

const TOPIC = "completed0";

async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for the completion");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function completion(): { record: WhiskActivation; value: string } {
  const message = activationFixture({ blocking: true });
  const record = failedActivation(message, "boom");
  return { record, value: encodeCompletion(message, record, { instanceType: "scheduler" }) };
}

Deno.test("CompletionConsumer stores records, resolves waiters and skips malformed messages", async () => {
  await using bus = new MemoryBus();
  const activations = new MemoryActivationStore();
  const waiters = new ResultWaiters();
  await using consumer = await CompletionConsumer.start({
    bus,
    topic: TOPIC,
    activations,
    waiters,
  });
  await consumer.ready;
  const { record, value } = completion();
  using pending = waiters.register(record.activationId);
  await bus.send(TOPIC, [
    { value: "not json" },
    {
      value: JSON.stringify({
        transid: ["x", 1],
        activationId: "a",
        isSystemError: false,
        instance: { instanceType: "invoker" },
      }),
    },
    { value },
  ]);
  const outcome = await pending.wait(AbortSignal.timeout(3_000));
  assertEquals(outcome.kind, "completed");
  assertEquals(await activations.get("guest", record.activationId), record);
  await eventually(() => consumer.malformed === 1);
  assertEquals(consumer.stored, 1);
});

Deno.test("CompletionConsumer retries a failing store and commits only once stored", async () => {
  await using bus = new MemoryBus();
  const memory = new MemoryActivationStore();
  let failures = 2;
  const flaky: ActivationStore = {
    put: (record) =>
      failures-- > 0 ? Promise.reject(new StoreUnavailableError("etcd down")) : memory.put(record),
    get: (ns, id) => memory.get(ns, id),
    list: (ns, q) => memory.list(ns, q),
    count: (ns, q) => memory.count(ns, q),
  };
  const waiters = new ResultWaiters();
  const consumer = await CompletionConsumer.start({
    bus,
    topic: TOPIC,
    activations: flaky,
    waiters,
    retryDelayMs: 5,
  });
  const { record, value } = completion();
  using pending = waiters.register(record.activationId);
  await bus.send(TOPIC, [{ value }]);
  assertEquals((await pending.wait(AbortSignal.timeout(3_000))).kind, "completed");
  await eventually(async () => (await memory.get("guest", record.activationId)) !== undefined);
  await consumer.close();
  // A new member of the group resumes after the stored record: it is not delivered again.
  const seen: string[] = [];
  await using again = await CompletionConsumer.start({
    bus,
    topic: TOPIC,
    activations: { ...flaky, put: (r) => Promise.resolve(void seen.push(r.activationId)) },
    waiters,
  });
  await again.ready;
  const next = completion();
  await bus.send(TOPIC, [{ value: next.value }]);
  await eventually(() => seen.includes(next.record.activationId));
  assertEquals(seen, [next.record.activationId]);
});

Deno.test("CompletionConsumer drops a record the store refuses, so later offsets still commit", async () => {
  await using bus = new MemoryBus();
  const memory = new MemoryActivationStore();
  const refused = completion();
  const refusing: ActivationStore = {
    put: (record) =>
      record.activationId === refused.record.activationId
        ? Promise.reject(new Error("etcdserver: request is too large"))
        : memory.put(record),
    get: (ns, id) => memory.get(ns, id),
    list: (ns, q) => memory.list(ns, q),
    count: (ns, q) => memory.count(ns, q),
  };
  const waiters = new ResultWaiters();
  const consumer = await CompletionConsumer.start({
    bus,
    topic: TOPIC,
    activations: refusing,
    waiters,
  });
  await consumer.ready;
  const after = completion();
  await bus.send(TOPIC, [{ value: refused.value }, { value: after.value }]);
  await eventually(async () =>
    (await memory.get("guest", after.record.activationId)) !== undefined
  );
  await eventually(() => consumer.unstorable === 1);
  await consumer.close();
  // Both offsets were committed: a new member of the group sees neither again.
  const seen: string[] = [];
  await using again = await CompletionConsumer.start({
    bus,
    topic: TOPIC,
    activations: { ...refusing, put: (r) => Promise.resolve(void seen.push(r.activationId)) },
    waiters,
  });
  await again.ready;
  const next = completion();
  await bus.send(TOPIC, [{ value: next.value }]);
  await eventually(() => seen.includes(next.record.activationId));
  assertEquals(seen, [next.record.activationId]);
});
