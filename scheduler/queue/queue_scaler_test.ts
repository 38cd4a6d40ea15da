import { assertEquals } from "@std/assert";
import type { ActionDoc, StatusCode } from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import type { Decision, ProvisionDemand } from "../creation/mod.ts";
import { MemoryQueue } from "./memory_queue.ts";
import { QueueScaler, type QueueScalerDeps } from "./queue_scaler.ts";

const doc: ActionDoc = {
  namespace: "guest",
  name: "hello",
  version: "0.0.1",
  rev: "1-a",
  exec: { kind: "nodejs:20", code: "function main() { return {}; }", binary: false },
  parameters: [],
  limits: { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 },
  annotations: [],
  publish: false,
  updated: 0,
};

interface Harness {
  readonly scaler: QueueScaler;
  readonly queue: MemoryQueue;
  readonly demands: ProvisionDemand[];
  readonly lookups: string[];
  readonly failed: string[];
  /** The decision `provision` answers next. */
  decision: Decision;
  initialized: boolean;
  catalog: ActionDoc | undefined;
  enqueue(): void;
}

function harness(): Harness {
  const demands: ProvisionDemand[] = [];
  const lookups: string[] = [];
  const failed: string[] = [];
  const h = {
    decision: { kind: "none" } as Decision,
    initialized: false,
    catalog: doc as ActionDoc | undefined,
  };
  const deps: QueueScalerDeps = {
    provision: (demand) => {
      demands.push(demand);
      return h.decision;
    },
    release: () => {},
    action: (path, name) => {
      lookups.push(`${path}/${name}`);
      return Promise.resolve(h.catalog);
    },
    setNamespaceThrottled: () => {},
    initialized: () => h.initialized,
  };
  const queue = new MemoryQueue({
    invocationNamespace: "guest",
    fqn: "guest/hello",
    revision: "1-a",
  }, {
    fail: (entry, _error: string, _status: StatusCode) => {
      failed.push(entry.message.activationId);
      entry.release();
    },
    actionThrottled: () => {},
  });
  const enqueue = () =>
    void queue.enqueue({ message: activationFixture(), enqueuedAt: Date.now(), release: () => {} });
  return Object.assign(h, {
    scaler: new QueueScaler(deps, { missingRetryMs: 5_000 }),
    queue,
    demands,
    lookups,
    failed,
    enqueue,
  });
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("QueueScaler provisions a new quiet queue until its first container was asked for, then skips it", async () => {
  const h = harness();
  h.scaler.scale(h.queue, 0);
  await settle();
  h.scaler.scale(h.queue, 1);
  h.scaler.scale(h.queue, 2);
  assertEquals(h.demands.length, 2, "not initialized yet: decides every tick");
  assertEquals(h.scaler.settled(h.queue), false);
  h.initialized = true;
  h.scaler.scale(h.queue, 3);
  assertEquals(h.scaler.settled(h.queue), true);
  for (let t = 4; t < 100; t++) h.scaler.scale(h.queue, t);
  assertEquals(h.demands.length, 3);
});

Deno.test("QueueScaler decides every tick while a queue has work, and settles once it is quiet again", async () => {
  const h = harness();
  h.initialized = true;
  h.scaler.scale(h.queue, 0);
  await settle();
  h.scaler.scale(h.queue, 1);
  assertEquals(h.scaler.settled(h.queue), true);
  h.enqueue();
  h.scaler.scale(h.queue, 2);
  h.scaler.scale(h.queue, 3);
  assertEquals(h.demands.map((d) => d.queued), [0, 1, 1]);
  assertEquals(h.scaler.settled(h.queue), false);
  const fetched = await h.queue.fetch(
    { containerId: "c1", warmed: true, alive: true },
    AbortSignal.timeout(1_000),
  );
  assertEquals(fetched.kind, "activation");
  // The container reports its run and leaves.
  await h.queue.fetch(
    { containerId: "c1", warmed: true, alive: false, lastDurationMs: 5 },
    AbortSignal.abort(),
  );
  h.scaler.scale(h.queue, 4);
  assertEquals(h.scaler.settled(h.queue), true);
});

Deno.test("QueueScaler does not look up a missing action again while its queue is quiet", async () => {
  const h = harness();
  h.catalog = undefined;
  const t0 = Date.now();
  h.scaler.scale(h.queue, t0);
  await settle();
  h.scaler.scale(h.queue, t0 + 1);
  // Ticks long past the 5 s retry interval.
  for (let t = 1; t < 50; t++) h.scaler.scale(h.queue, t0 + 10_000 * t);
  await settle();
  assertEquals(h.lookups.length, 1);
  assertEquals(h.scaler.settled(h.queue), true);
  // Work arrives: the action is looked up again (it may exist by now) and provisioned.
  h.catalog = doc;
  h.enqueue();
  h.scaler.scale(h.queue, t0 + 500_000);
  await settle();
  h.scaler.scale(h.queue, t0 + 500_001);
  assertEquals(h.lookups.length, 2);
  assertEquals(h.demands.map((d) => d.queued), [1]);
});

Deno.test("QueueScaler.wake() decides for a skipped queue before its activation is enqueued", async () => {
  const h = harness();
  h.initialized = true;
  h.scaler.scale(h.queue, 0);
  await settle();
  h.scaler.scale(h.queue, 1);
  assertEquals(h.scaler.settled(h.queue), true);
  // Meanwhile the namespace filled up: a ticked queue would have been throttled by now.
  h.decision = { kind: "throttle_namespace", add: 0 };
  h.scaler.wake(h.queue, 2);
  assertEquals(h.queue.state, "namespace_throttled");
  h.enqueue();
  assertEquals(h.failed.length, 1, "refused as a throttled queue without containers refuses");
  // An unsettled queue is ticked anyway: wake() does nothing then.
  h.scaler.wake(h.queue, 3);
  assertEquals(h.demands.length, 2);
});

Deno.test("QueueScaler keeps the action's metadata without its code", async () => {
  const h = harness();
  h.scaler.scale(h.queue, 0);
  await settle();
  h.scaler.scale(h.queue, 1);
  assertEquals(h.demands[0]?.action.exec.kind, "nodejs:20");
  assertEquals("code" in (h.demands[0]?.action.exec ?? {}), false);
});
