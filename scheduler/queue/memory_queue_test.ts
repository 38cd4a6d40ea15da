import { assertEquals, assertGreater } from "@std/assert";
import { type ActivationMessage, StatusCode } from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import { MemoryQueue, type MemoryQueueOptions, type QueuedActivation } from "./memory_queue.ts";

interface Harness {
  queue: MemoryQueue;
  clock: { now: number };
  failed: { id: string; error: string; statusCode: StatusCode }[];
  throttled: boolean[];
  released: string[];
  entry(message?: ActivationMessage): QueuedActivation;
}

function harness(options: MemoryQueueOptions = {}): Harness {
  const clock = { now: 1_000_000 };
  const failed: Harness["failed"] = [];
  const throttled: boolean[] = [];
  const released: string[] = [];
  const queue = new MemoryQueue({
    invocationNamespace: "guest",
    fqn: "guest/hello",
    revision: "1-a",
  }, {
    fail: (entry, error, statusCode) => {
      failed.push({ id: entry.message.activationId, error, statusCode });
      entry.release();
    },
    actionThrottled: (on) => throttled.push(on),
  }, { now: () => clock.now, ...options });
  const entry = (message = activationFixture()) => ({
    message,
    enqueuedAt: clock.now,
    release: () => released.push(message.activationId),
  });
  return { queue, clock, failed, throttled, released, entry };
}

const query = (containerId = "c1", warmed = false) => ({ containerId, warmed, alive: true });
/** The fetch of a container that finished its previous activation. */
const after = (containerId = "c1") => ({ ...query(containerId), lastDurationMs: 1 });
const open = () => new AbortController().signal;

Deno.test("MemoryQueue.fetch() returns queued activations in arrival order and releases them", async () => {
  const h = harness();
  const a = h.entry();
  const b = h.entry();
  h.queue.enqueue(a);
  h.queue.enqueue(b);
  const first = await h.queue.fetch(query(), open());
  const second = await h.queue.fetch(after(), open());
  assertEquals(first, { kind: "activation", message: a.message });
  assertEquals(second, { kind: "activation", message: b.message });
  assertEquals(h.released, [a.message.activationId, b.message.activationId]);
});

Deno.test("MemoryQueue.fetch() parks until an activation arrives and hands it over directly", async () => {
  const h = harness();
  const pending = h.queue.fetch(query(), open());
  assertEquals(h.queue.counts().waitingFetches, 1);
  const a = h.entry();
  h.queue.enqueue(a);
  assertEquals(await pending, { kind: "activation", message: a.message });
  assertEquals(h.queue.counts().queued, 0);
});

Deno.test("MemoryQueue.fetch() answers no_activation when its wait is aborted", async () => {
  const h = harness();
  const wait = new AbortController();
  const pending = h.queue.fetch(query(), wait.signal);
  wait.abort();
  assertEquals(await pending, { kind: "no_activation" });
  // The next activation is not given to the abandoned fetch.
  const a = h.entry();
  h.queue.enqueue(a);
  assertEquals(h.queue.counts().queued, 1);
});

Deno.test("MemoryQueue.enqueue() serves warm containers before cold ones", async () => {
  const h = harness();
  const cold = h.queue.fetch(query("cold", false), open());
  const warm = h.queue.fetch(query("warm", true), open());
  const a = h.entry();
  h.queue.enqueue(a);
  assertEquals(await warm, { kind: "activation", message: a.message });
  h.queue.enqueue(h.entry());
  assertEquals((await cold).kind, "activation");
});

Deno.test("MemoryQueue.fetch() with alive=false forgets the container and ends its parked fetch", async () => {
  const h = harness();
  const parked = h.queue.fetch(query("c1"), open());
  assertEquals(h.queue.counts().containers, 1);
  assertEquals(await h.queue.fetch({ containerId: "c1", warmed: true, alive: false }, open()), {
    kind: "no_activation",
  });
  assertEquals(await parked, { kind: "no_activation" });
  assertEquals(h.queue.counts().containers, 0);
});

Deno.test("MemoryQueue.counts() averages the last durations containers report", async () => {
  const h = harness({ durationBufferSize: 3 });
  for (const ms of [100, 200, 300, 400]) {
    h.queue.enqueue(h.entry());
    await h.queue.fetch({ ...query(), lastDurationMs: ms }, open());
  }
  assertEquals(h.queue.counts().averageDurationMs, 300);
});

Deno.test("MemoryQueue throttles the action at maxRetention and lifts it at the fraction", async () => {
  const h = harness({ maxRetention: 10, throttlingFraction: 0.5 });
  for (let i = 0; i < 10; i++) h.queue.enqueue(h.entry());
  assertEquals(h.queue.state, "action_throttled");
  assertEquals(h.throttled, [true]);
  const refused = h.entry();
  h.queue.enqueue(refused);
  assertEquals(h.failed.map((f) => [f.id, f.statusCode]), [[
    refused.message.activationId,
    StatusCode.developerError,
  ]]);
  for (let i = 0; i < 4; i++) await h.queue.fetch(after(), open());
  assertEquals(h.queue.state, "action_throttled");
  await h.queue.fetch(after(), open());
  assertEquals(h.queue.state, "running");
  assertEquals(h.throttled, [true, false]);
});

Deno.test("MemoryQueue.tick() fails activations older than the retention with a whisk error", () => {
  const h = harness({ maxRetentionMs: 1_000 });
  const old = h.entry();
  h.queue.enqueue(old);
  h.clock.now += 600;
  const young = h.entry();
  h.queue.enqueue(young);
  h.clock.now += 500;
  h.queue.tick();
  assertEquals(h.failed.length, 1);
  assertEquals(h.failed[0]?.id, old.message.activationId);
  assertEquals(h.failed[0]?.statusCode, StatusCode.whiskError);
  assertEquals(h.released, [old.message.activationId]);
  assertEquals(h.queue.counts().queued, 1);
});

Deno.test("MemoryQueue.counts() counts activations waiting past the stale threshold", () => {
  const h = harness({ staleThresholdMs: 100 });
  h.queue.enqueue(h.entry());
  h.queue.enqueue(h.entry());
  h.clock.now += 150;
  h.queue.enqueue(h.entry());
  assertEquals(h.queue.counts(h.clock.now).stale, 2);
});

Deno.test("MemoryQueue.tick() goes idle without work, asks for removal after the stop grace, wakes on work", () => {
  const h = harness({ idleGraceMs: 1_000, stopGraceMs: 2_000 });
  h.clock.now += 999;
  assertEquals(h.queue.tick(), false);
  assertEquals(h.queue.state, "running");
  h.clock.now += 1;
  assertEquals(h.queue.tick(), false);
  assertEquals(h.queue.state, "idle");
  h.queue.enqueue(h.entry());
  assertEquals(h.queue.state, "running");
  h.queue.fetch(query(), open());
  h.queue.fetch({ ...after(), alive: false }, open());
  h.clock.now += 3_000;
  assertEquals(h.queue.tick(), true);
});

Deno.test("MemoryQueue.remove() returns what is queued, ends parked fetches with no_queue", async () => {
  const h = harness();
  const parked = harness();
  const wait = parked.queue.fetch(query(), open());
  assertEquals(parked.queue.remove(), []);
  assertEquals(await wait, { kind: "no_queue" });
  h.queue.enqueue(h.entry());
  h.queue.enqueue(h.entry());
  assertEquals(h.queue.remove().length, 2);
  assertEquals(h.queue.enqueue(h.entry()), false);
  assertEquals(await h.queue.fetch(query(), open()), { kind: "no_queue" });
});

Deno.test("MemoryQueue in namespace throttling refuses activations only while it has no container", async () => {
  const h = harness();
  h.queue.setNamespaceThrottled(true);
  h.queue.enqueue(h.entry());
  assertEquals(h.failed.length, 1);
  const parked = h.queue.fetch(query(), open());
  h.queue.enqueue(h.entry());
  assertEquals((await parked).kind, "activation");
  h.queue.setNamespaceThrottled(false);
  assertEquals(h.queue.state, "running");
});

Deno.test("MemoryQueue.requeue() puts an activation back ahead of the others", async () => {
  const h = harness();
  const a = h.entry();
  const b = h.entry();
  h.queue.enqueue(a);
  h.queue.requeue(b);
  assertEquals(await h.queue.fetch(query(), open()), { kind: "activation", message: b.message });
  assertGreater(h.queue.counts().queued, 0);
});

Deno.test("MemoryQueue.tick() fails the activation of a container that went silent past the time limit", async () => {
  const h = harness({ lostContainerGraceMs: 1_000 });
  h.queue.runTimeoutMs = 2_000;
  const a = h.entry();
  const b = h.entry();
  h.queue.enqueue(a);
  h.queue.enqueue(b);
  await h.queue.fetch(query("lost"), open());
  await h.queue.fetch(query("fine"), open());
  h.clock.now += 2_500;
  // "fine" finished its activation and fetches again (the fetch parks: nothing is queued).
  void h.queue.fetch({ ...query("fine"), lastDurationMs: 5 }, open());
  assertEquals(h.queue.counts().inFlight, 1);
  h.clock.now += 600;
  h.queue.tick();
  assertEquals(h.failed.map((f) => [f.id, f.statusCode]), [[
    a.message.activationId,
    StatusCode.whiskError,
  ]]);
  assertEquals(h.queue.counts().inFlight, 0);
});

Deno.test("MemoryQueue.fetch() without a duration puts back what the container never received", async () => {
  const h = harness();
  const a = h.entry();
  h.queue.enqueue(a);
  assertEquals(await h.queue.fetch(query("c1"), open()), {
    kind: "activation",
    message: a.message,
  });
  // The answer was lost on the way: the next fetch carries no duration, so it gets `a` again.
  assertEquals(await h.queue.fetch(query("c1"), open()), {
    kind: "activation",
    message: a.message,
  });
  // This time it ran: the next fetch reports its duration and nothing is put back.
  const next = h.queue.fetch({ ...query("c1"), lastDurationMs: 3 }, open());
  assertEquals(h.queue.counts().queued, 0);
  h.queue.enqueue(h.entry());
  assertEquals((await next).kind, "activation");
});

Deno.test("MemoryQueue.fetch() with alive=false hands an unreceived activation to another container", async () => {
  const h = harness();
  const a = h.entry();
  h.queue.enqueue(a);
  await h.queue.fetch(query("leaving"), open());
  const other = h.queue.fetch(query("other"), open());
  await h.queue.fetch({ containerId: "leaving", warmed: true, alive: false }, open());
  assertEquals(await other, { kind: "activation", message: a.message });
});

Deno.test("MemoryQueue.quiet and nextTickAt: a queue without work sleeps until it turns idle, then until removal", async () => {
  const h = harness({ idleGraceMs: 1_000, stopGraceMs: 2_000 });
  const createdAt = h.clock.now;
  assertEquals([h.queue.quiet, h.queue.nextTickAt], [true, createdAt + 1_000]);
  h.clock.now += 1_000;
  h.queue.tick();
  assertEquals([h.queue.state, h.queue.nextTickAt], ["idle", createdAt + 3_000]);
  h.queue.enqueue(h.entry());
  assertEquals([h.queue.quiet, h.queue.nextTickAt], [false, -Infinity]);
  assertEquals((await h.queue.fetch(query(), open())).kind, "activation");
  // Handed out and its container still known: not quiet until the container leaves.
  assertEquals(h.queue.quiet, false);
  await h.queue.fetch({ ...after(), alive: false }, open());
  assertEquals([h.queue.quiet, h.queue.nextTickAt], [true, h.clock.now + 1_000]);
  h.queue.setFlushing(true);
  assertEquals([h.queue.quiet, h.queue.nextTickAt], [true, Infinity]);
  h.queue.setFlushing(false);
  h.queue.setNamespaceThrottled(true);
  assertEquals(h.queue.quiet, false);
});

Deno.test("MemoryQueue rejects an invalid duration buffer size at construction", () => {
  let error: unknown;
  try {
    harness({ durationBufferSize: 0 });
  } catch (e) {
    error = e;
  }
  assertEquals(error instanceof RangeError, true);
});

Deno.test("MemoryQueue instances keep their waiters, containers and backlog apart", async () => {
  const options = { idleGraceMs: 5_000 };
  const a = harness(options);
  const b = harness(options);
  const waiting = a.queue.fetch(query("ca", true), open());
  b.queue.enqueue(b.entry());
  assertEquals([a.queue.counts().waitingFetches, b.queue.counts().waitingFetches], [1, 0]);
  assertEquals([a.queue.counts().queued, b.queue.counts().queued], [0, 1]);
  a.queue.remove();
  assertEquals((await waiting).kind, "no_queue");
  assertEquals((await b.queue.fetch(query("cb"), open())).kind, "activation");
  assertEquals(b.queue.counts().containers, 1);
});
