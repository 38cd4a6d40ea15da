import { assert, assertEquals, assertExists, assertInstanceOf, assertRejects } from "@std/assert";
import { connectEtcd } from "./etcd_store.ts";
import { SessionLostError } from "./errors.ts";
import { MemoryStore } from "./memory_store.ts";
import { openSession } from "./open_session.ts";
import { Session } from "./session.ts";
import { StoreUnavailableError } from "./store.ts";
import { EtcdProcess } from "./testing_etcd_process.ts";

const endpoints = (Deno.env.get("FAAS_ETCD_ENDPOINTS") ?? "http://127.0.0.1:23790").split(",");

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A memory store whose keep-alives and grants can be made to fail or hang. */
class FaultyStore extends MemoryStore {
  keepAlive: "works" | "fails" | "hangs" = "works";
  grantFailures = 0;

  override keepAliveOnce(leaseId: string): Promise<number> {
    if (this.keepAlive === "fails") return Promise.reject(new StoreUnavailableError("Injected"));
    if (this.keepAlive === "hangs") return new Promise(() => {});
    return super.keepAliveOnce(leaseId);
  }

  override grantLease(ttlSeconds: number) {
    if (this.grantFailures-- > 0) return Promise.reject(new StoreUnavailableError("Injected"));
    return super.grantLease(ttlSeconds);
  }
}

/** Polls `condition` every 20 ms for at most `timeoutMs`. */
async function eventually(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= giveUpAt) return false;
    await wait(20);
  }
  return true;
}

Deno.test("Session keeps its lease alive past the TTL", async () => {
  await using store = new MemoryStore();
  await using session = await Session.create(store, {
    ttlSeconds: 1,
    keepAliveIntervalMs: 100,
    marginMs: 300,
  });
  await store.put("k", "v", { leaseId: session.leaseId });
  await wait(2500);
  assertEquals((await store.get("k"))?.leaseId, session.leaseId);
  assertEquals(session.signal.aborted, false);
});

Deno.test("Session aborts its signal when the lease is revoked elsewhere", async () => {
  await using store = new MemoryStore();
  await using session = await Session.create(store, { keepAliveIntervalMs: 50 });
  await store.revokeLease(session.leaseId);
  const loss = await session.closed;
  assertInstanceOf(loss, SessionLostError);
  assertEquals(loss.leaseId, session.leaseId);
  assert(session.signal.aborted);
  assertEquals(session.signal.reason, loss);
});

Deno.test("Session.orphan() stops refreshing without revoking", async () => {
  await using store = new MemoryStore();
  const session = await Session.create(store, {
    ttlSeconds: 1,
    keepAliveIntervalMs: 100,
    marginMs: 300,
  });
  await store.put("k", "v", { leaseId: session.leaseId });
  await session.orphan();
  assertEquals(await session.closed, undefined);
  assertExists(await store.get("k"));
  await wait(1300);
  assertEquals(await store.get("k"), undefined);
  assertEquals(session.signal.aborted, false);
});

Deno.test("Session.close() revokes the lease", async () => {
  await using store = new MemoryStore();
  let leaseId: string;
  {
    await using session = await Session.create(store);
    leaseId = session.leaseId;
    await store.put("k", "v", { leaseId });
  }
  assertEquals(await store.get("k"), undefined);
  await assertRejects(() => store.keepAliveOnce(leaseId), Error, "does not exist");
});

Deno.test("Session rides out keep-alive failures shorter than the TTL minus the margin", async () => {
  await using store = new FaultyStore();
  let now = 0;
  await using session = await Session.create(store, { keepAliveIntervalMs: 10, now: () => now });
  store.keepAlive = "fails";
  now = 8000;
  await wait(100);
  store.keepAlive = "works";
  await wait(100);
  store.keepAlive = "fails";
  now = 16_900;
  await wait(100);
  assertEquals(session.signal.aborted, false);
});

Deno.test("Session is lost when keep-alives fail for the TTL minus the margin", async () => {
  await using store = new FaultyStore();
  let now = 0;
  await using session = await Session.create(store, { keepAliveIntervalMs: 10, now: () => now });
  store.keepAlive = "fails";
  now = 8999;
  await wait(100);
  assertEquals(session.signal.aborted, false);
  now = 9000;
  assert(await eventually(() => session.signal.aborted, 1000));
  assertInstanceOf(await session.closed, SessionLostError);
});

Deno.test("Session is lost when a hung keep-alive outlasts the TTL minus the margin", async () => {
  await using store = new FaultyStore();
  await using session = await Session.create(store, {
    ttlSeconds: 2,
    keepAliveIntervalMs: 100,
    marginMs: 1000,
  });
  store.keepAlive = "hangs";
  const started = Date.now();
  assertInstanceOf(await session.closed, SessionLostError);
  const elapsed = Date.now() - started;
  assert(elapsed < 1500, `Loss took ${elapsed} ms`);
});

Deno.test("Session.create() rejects when its signal is already aborted", async () => {
  await using store = new MemoryStore();
  const signal = AbortSignal.abort(new Error("Stopped"));
  await assertRejects(() => Session.create(store, { signal }), Error, "Stopped");
  assertEquals(await store.countPrefix(""), 0);
});

Deno.test("Session closes and revokes when the creation signal aborts later", async () => {
  await using store = new MemoryStore();
  const controller = new AbortController();
  const session = await Session.create(store, { signal: controller.signal });
  await store.put("k", "v", { leaseId: session.leaseId });
  controller.abort();
  assertEquals(await session.closed, undefined);
  await session.close();
  assertEquals(await store.get("k"), undefined);
  assertEquals(session.signal.aborted, false);
});

Deno.test("openSession() retries while the store is unavailable", async () => {
  await using store = new FaultyStore();
  store.grantFailures = 2;
  await using session = await openSession(store, { retryDelayMs: 10 });
  assertExists(session.leaseId);
  assertEquals(store.grantFailures, -1);
});

Deno.test("openSession() stops retrying when its signal aborts", async () => {
  await using store = new FaultyStore();
  store.grantFailures = Infinity;
  const signal = AbortSignal.timeout(100);
  await assertRejects(() => openSession(store, { retryDelayMs: 10, signal }));
});

Deno.test("Session keeps an etcd lease alive past the TTL", async () => {
  await using store = await connectEtcd({ endpoints });
  await using session = await Session.create(store, {
    ttlSeconds: 2,
    keepAliveIntervalMs: 300,
    marginMs: 500,
  });
  const key = `session-test/${crypto.randomUUID()}`;
  await store.put(key, "v", { leaseId: session.leaseId });
  await wait(3500);
  assertEquals((await store.get(key))?.leaseId, session.leaseId);
  assertEquals(session.signal.aborted, false);
});

Deno.test("Session on etcd aborts its signal when the lease is revoked elsewhere", async () => {
  await using store = await connectEtcd({ endpoints });
  await using session = await Session.create(store, { keepAliveIntervalMs: 100 });
  await store.revokeLease(session.leaseId);
  assertInstanceOf(await session.closed, SessionLostError);
  assert(session.signal.aborted);
});

Deno.test("Session on etcd survives a 2 s server pause and is lost in a longer one", async () => {
  await using etcd = await EtcdProcess.start();
  await using store = await connectEtcd({ endpoints: [etcd.endpoint], callTimeoutMs: 1000 });
  await using session = await Session.create(store, { ttlSeconds: 5, keepAliveIntervalMs: 500 });
  await store.put("k", "v", { leaseId: session.leaseId });

  etcd.pause();
  await wait(2000);
  etcd.resume();
  await wait(1500);
  assertEquals(session.signal.aborted, false);
  assertEquals((await store.get("k"))?.leaseId, session.leaseId);

  etcd.pause();
  const pausedAt = Date.now();
  const loss = await session.closed;
  const elapsed = Date.now() - pausedAt;
  etcd.resume();
  assertInstanceOf(loss, SessionLostError);
  // Lost by the deadline (TTL 5 s minus margin 1 s after the last success), not later.
  assert(elapsed <= 4600, `Loss took ${elapsed} ms`);
});
