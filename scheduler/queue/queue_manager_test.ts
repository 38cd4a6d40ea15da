import { assertEquals } from "@std/assert";
import { MemoryStore } from "@faas/coordination";
import { clusterKeys } from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import { QueueManager } from "./queue_manager.ts";
import { QueueScaler } from "./queue_scaler.ts";

const keys = clusterKeys("c");
const self = { host: "127.0.0.1", rpcPort: 1, sid: "s0" };
const action = { path: "guest", name: "hello", version: "0.0.1" };

async function harness(options: { idleGraceMs: number; stopGraceMs: number }) {
  const store = new MemoryStore();
  const lease = await store.grantLease(60);
  const clock = { now: Date.now() };
  const lookups: string[] = [];
  const scaler = new QueueScaler({
    provision: () => ({ kind: "none" }),
    release: () => {},
    action: (path, name) => {
      lookups.push(`${path}/${name}`);
      return Promise.resolve(undefined);
    },
    setNamespaceThrottled: () => {},
    initialized: () => true,
  });
  const manager = new QueueManager({
    store,
    keys,
    leaseId: () => lease.id,
    self: () => self,
    scaler,
    forward: () => Promise.resolve(),
    complete: () => Promise.resolve(),
  }, { queue: { ...options, now: () => clock.now } });
  return {
    store,
    manager,
    clock,
    lookups,
    async [Symbol.asyncDispose]() {
      await manager[Symbol.asyncDispose]();
      await store.close();
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("QueueManager.tick() lets a quiet queue sleep until its idle deadline and removes it on time", async () => {
  await using h = await harness({ idleGraceMs: 1_000, stopGraceMs: 1_000 });
  await h.manager.lead("guest", "guest/hello", "1-a");
  h.manager.tick(h.clock.now);
  await settle();
  h.manager.tick(h.clock.now);
  assertEquals(h.lookups.length, 1);
  // Asleep: ticks do nothing, also past the catalog's retry interval.
  for (let i = 1; i < 10; i++) h.manager.tick(h.clock.now + i * 99);
  assertEquals(h.lookups.length, 1);
  h.clock.now += 1_000;
  h.manager.tick(h.clock.now);
  assertEquals(h.manager.leads("guest", "guest/hello"), true, "idle now, not removed yet");
  h.clock.now += 1_000;
  h.manager.tick(h.clock.now);
  assertEquals(h.manager.leads("guest", "guest/hello"), false);
  await settle();
  assertEquals(await h.store.get(keys.queueLeader("guest", "guest/hello")), undefined);
});

Deno.test("QueueManager wakes a sleeping queue when an activation or a fetch reaches it", async () => {
  await using h = await harness({ idleGraceMs: 60_000, stopGraceMs: 60_000 });
  await h.manager.lead("guest", "guest/hello", "1-a");
  h.manager.tick(h.clock.now);
  await settle();
  h.manager.tick(h.clock.now);
  assertEquals(h.lookups.length, 1);
  // Work arrives: the next tick looks the action up again (after the 5 s retry interval).
  h.clock.now += 10_000;
  const message = activationFixture({ action });
  h.manager.route(message, () => {}, h.clock.now);
  h.manager.tick(h.clock.now);
  assertEquals(h.lookups.length, 2);
  assertEquals(h.manager.counts("guest", "guest/hello")?.queued, 1);
  const fetched = await h.manager.fetch({
    invocationNamespace: "guest",
    fqn: "guest/hello",
    revision: "1-a",
    containerId: "c1",
    warmed: false,
    alive: true,
  }, new AbortController().signal);
  assertEquals(fetched.kind, "activation");
  // The container still pulls: the queue is not quiet and its ticks run.
  h.manager.tick(h.clock.now + 1);
  assertEquals(h.manager.counts("guest", "guest/hello")?.containers, 1);
});
