import { assertEquals, assertRejects } from "@std/assert";
import { MemoryBus } from "@faas/bus";
import { MemoryStore } from "@faas/coordination";
import { type ActionDoc, ActivationMessage, topics } from "@faas/proto";
import type { Caller } from "./auth/authenticator.ts";
import { NoSchedulerError, ThrottledError } from "./errors.ts";
import { type LeaderLookup, PoolBalancer } from "./pool_balancer.ts";

const action: ActionDoc = {
  namespace: "guest",
  name: "hello",
  version: "0.0.3",
  rev: "3-abc",
  exec: { kind: "deno:2", code: "x", binary: false },
  parameters: [{ key: "name", value: "default" }],
  limits: { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 },
  annotations: [],
  publish: false,
  updated: 1,
};
const caller: Caller = { namespace: "guest", subject: "guest", uuid: "u-1", apiKey: "u-1:k" };

function state(sid: string, queueSize: number): string {
  return JSON.stringify({
    sid: { asString: sid },
    queueSize,
    endpoints: { host: "h", rpcPort: 1 },
  });
}

async function setup(
  throttled = false,
  leaders?: LeaderLookup,
  namespaceContainerLimit?: number,
  now = () => 1_234,
) {
  const store = new MemoryStore();
  const bus = new MemoryBus();
  const received = new Map<string, ActivationMessage[]>();
  const subscription = await bus.subscribe({
    groupId: "spy",
    topics: ["scheduler0", "scheduler1", "scheduler2"],
    onRecord: (record) => {
      const list = received.get(record.topic) ?? [];
      list.push(ActivationMessage.parse(JSON.parse(record.value)));
      received.set(record.topic, list);
    },
  });
  const balancer = new PoolBalancer({
    store,
    bus,
    cluster: "whisk",
    topicPrefix: "",
    controllerId: "7",
    throttles: { isThrottled: () => throttled },
    ...(leaders ? { leaders } : {}),
    ...(namespaceContainerLimit === undefined ? {} : { namespaceContainerLimit }),
    now,
  });
  const dispose = async () => {
    await subscription.close();
    await bus.close();
    await store.close();
  };
  return { store, balancer, received, [Symbol.asyncDispose]: dispose };
}

async function eventually(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for the message");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("PoolBalancer.publish() sends to the queue's leader", async () => {
  await using env = await setup();
  await env.store.put("whisk/scheduler/1", state("1", 0));
  await env.store.put("whisk/scheduler/2", state("2", 5));
  await env.store.put(
    "whisk/queue/guest/guest/hello/leader",
    JSON.stringify({ host: "h", rpcPort: 1, sid: "2" }),
  );
  const { placement } = await env.balancer.publish({
    action,
    caller,
    blocking: true,
    params: { name: "x" },
  });
  assertEquals(placement, { kind: "leader", sid: "2" });
  await eventually(() => env.received.get(topics().scheduler("2"))?.length === 1);
});

Deno.test("PoolBalancer.publish() routes by a known leader without reading the store", async () => {
  await using env = await setup(false, { leaderOf: (ns, fqn) => `${ns}|${fqn}` });
  const { placement } = await env.balancer.publish({ action, caller, blocking: false, params: {} });
  assertEquals(placement, { kind: "leader", sid: "guest|guest/hello" });
});

Deno.test("PoolBalancer.publish() reads the store for a leader the mirror does not know yet", async () => {
  await using env = await setup(false, { leaderOf: () => undefined });
  await env.store.put("whisk/scheduler/1", state("1", 0));
  await env.store.put(
    "whisk/queue/guest/guest/hello/leader",
    JSON.stringify({ host: "h", rpcPort: 1, sid: "2" }),
  );
  const { placement } = await env.balancer.publish({ action, caller, blocking: false, params: {} });
  assertEquals(placement, { kind: "leader", sid: "2" });
});

Deno.test("PoolBalancer.publish() builds the message with the invocation params only", async () => {
  await using env = await setup();
  await env.store.put("whisk/scheduler/0", state("0", 0));
  const { message } = await env.balancer.publish({
    action,
    caller,
    blocking: false,
    params: { name: "x" },
    activationId: "0123456789abcdef0123456789abcdef",
  });
  assertEquals(message.activationId, "0123456789abcdef0123456789abcdef");
  assertEquals(message.transid[1], 1_234);
  assertEquals(message.action, { path: "guest", name: "hello", version: "0.0.3" });
  assertEquals(message.revision, "3-abc");
  assertEquals(message.content, { name: "x" }, "the invoker merges the defaults");
  assertEquals(message.rootControllerIndex, { asString: "7", instanceType: "controller" });
  assertEquals(message.user.namespace, { name: "guest", uuid: "u-1" });
  await eventually(() =>
    env.received.get("scheduler0")?.[0]?.activationId === message.activationId
  );
});

Deno.test("PoolBalancer.publish() carries the configured namespace container limit", async () => {
  await using plain = await setup();
  await plain.store.put("whisk/scheduler/0", state("0", 0));
  const unset = await plain.balancer.publish({ action, caller, blocking: false, params: {} });
  assertEquals(unset.message.user.limits, {}, "the schedulers' default applies");
  await using raised = await setup(false, undefined, 200);
  await raised.store.put("whisk/scheduler/0", state("0", 0));
  const { message } = await raised.balancer.publish({
    action,
    caller,
    blocking: false,
    params: {},
  });
  assertEquals(message.user.limits, { concurrentInvocations: 200 });
});

Deno.test("PoolBalancer.publish() picks the least loaded scheduler without a leader", async () => {
  await using env = await setup();
  await env.store.put("whisk/scheduler/0", state("0", 3));
  await env.store.put("whisk/scheduler/1", state("1", 1));
  await env.store.put("whisk/scheduler/2", "not json");
  await env.store.put("whisk/queue/guest/guest/hello/leader", "{broken");
  const { placement } = await env.balancer.publish({ action, caller, blocking: false, params: {} });
  assertEquals(placement, { kind: "least_loaded", sid: "1" });
});

Deno.test("PoolBalancer.publish() keeps using the last seen schedulers for 30 s while none is registered", async () => {
  let nowMs = 1_000;
  await using env = await setup(false, undefined, undefined, () => nowMs);
  await env.store.put("whisk/scheduler/1", state("1", 0));
  await env.balancer.publish({ action, caller, blocking: false, params: {} });
  await env.store.delete("whisk/scheduler/1"); // its lease was lost; it registers again soon
  nowMs += 29_000;
  const { placement } = await env.balancer.publish({ action, caller, blocking: false, params: {} });
  assertEquals(placement, { kind: "least_loaded", sid: "1" });
  nowMs += 31_000;
  await assertRejects(
    () => env.balancer.publish({ action, caller, blocking: false, params: {} }),
    NoSchedulerError,
  );
});

Deno.test("PoolBalancer.publish() refuses without schedulers, or when throttled", async () => {
  await using env = await setup();
  await assertRejects(
    () => env.balancer.publish({ action, caller, blocking: false, params: {} }),
    NoSchedulerError,
    `cluster "whisk"`,
  );
  await using throttled = await setup(true);
  await throttled.store.put("whisk/scheduler/0", state("0", 0));
  await assertRejects(
    () => throttled.balancer.publish({ action, caller, blocking: false, params: {} }),
    ThrottledError,
    "Too many requests",
  );
});
