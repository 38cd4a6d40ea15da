/**
 * The one behavioural test suite every {@linkcode Store} must pass. Each
 * implementation's test file calls {@linkcode defineStoreContract} once.
 * Every test works under its own random key prefix, so suites can run in
 * parallel against one shared etcd.
 *
 * @example
 * ```ts
 * import { defineStoreContract } from "@faas/coordination/testing";
 * import { MemoryStore } from "@faas/coordination";
 *
 * defineStoreContract("MemoryStore", () => Promise.resolve(new MemoryStore()));
 * ```
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertExists,
  assertGreater,
  assertRejects,
  fail,
} from "@std/assert";
import { eventRevision } from "./event_history.ts";
import { LeaseNotFoundError, type Store, StoreUnavailableError, type WatchEvent } from "./store.ts";

/** Opens a fresh store for one test; the test closes it. */
export type OpenStore = () => Promise<Store>;

type StoreTest = (store: Store, prefix: string) => Promise<void>;

/** Registers the contract's `Deno.test` cases for the store `name` opened by `open`. */
export function defineStoreContract(name: string, open: OpenStore): void {
  const define = (method: string, behaviour: string, test: StoreTest) =>
    Deno.test(`${name}.${method}() ${behaviour}`, () => withStore(open, test));
  defineReadWriteTests(define);
  definePrefixTests(define);
  defineTransactionTests(define);
  defineLeaseBindingTests(define);
  defineLeaseLifetimeTests(define);
  defineWatchReplayTests(define);
  defineWatchLifecycleTests(define);
  defineDisposalTests(name, open);
}

type Define = (method: string, behaviour: string, test: StoreTest) => void;

async function withStore(open: OpenStore, test: StoreTest): Promise<void> {
  await using store = await open();
  const prefix = `contract/${crypto.randomUUID()}/`;
  try {
    await test(store, prefix);
  } finally {
    await store.deletePrefix(prefix).catch(() => undefined);
  }
}

function defineReadWriteTests(define: Define): void {
  define("get", "returns undefined for a missing key", async (store, p) => {
    assertEquals(await store.get(`${p}missing`), undefined);
  });
  define("put", "keeps the create revision and advances the mod revision", async (store, p) => {
    await store.put(`${p}k`, "one");
    const first = await store.get(`${p}k`);
    await store.put(`${p}k`, "two");
    const second = await store.get(`${p}k`);
    assertExists(first);
    assertExists(second);
    assertEquals(first, {
      key: `${p}k`,
      value: "one",
      createRevision: first.modRevision,
      modRevision: first.modRevision,
    });
    assertEquals(second.value, "two");
    assertEquals(second.createRevision, first.createRevision);
    assertGreater(second.modRevision, first.modRevision);
  });
  define("putAll", "writes every entry, with its lease, or none", async (store, p) => {
    const lease = await store.grantLease(30);
    await store.putAll([
      { key: `${p}a`, value: "1" },
      { key: `${p}b`, value: "2", leaseId: lease.id },
    ]);
    const [a, b] = [await store.get(`${p}a`), await store.get(`${p}b`)];
    assertEquals([a?.value, a?.leaseId, b?.value, b?.leaseId], ["1", undefined, "2", lease.id]);
    await store.revokeLease(lease.id);
    await assertRejects(
      () =>
        store.putAll([
          { key: `${p}c`, value: "3" },
          { key: `${p}d`, value: "4", leaseId: lease.id },
        ]),
      LeaseNotFoundError,
    );
    assertEquals(await store.get(`${p}c`), undefined, "nothing written when one write fails");
    await store.putAll([]);
  });
  define("delete", "reports whether the key existed", async (store, p) => {
    await store.put(`${p}k`, "v");
    assertEquals(await store.delete(`${p}k`), true);
    assertEquals(await store.delete(`${p}k`), false);
    assertEquals(await store.get(`${p}k`), undefined);
  });
}

function definePrefixTests(define: Define): void {
  define(
    "getPrefix",
    "lists the keys under the prefix sorted, with the store revision",
    async (store, p) => {
      for (const key of ["c", "a", "b/x", "b"]) await store.put(`${p}${key}`, key);
      await store.put(`${p.slice(0, -1)}-outside`, "no");
      const snapshot = await store.getPrefix(p);
      assertEquals(snapshot.kvs.map((kv) => kv.key), ["a", "b", "b/x", "c"].map((k) => `${p}${k}`));
      assertEquals(snapshot.kvs.map((kv) => kv.value), ["a", "b", "b/x", "c"]);
      const newest = Math.max(...snapshot.kvs.map((kv) => kv.modRevision));
      assert(snapshot.revision >= newest, `Revision "${snapshot.revision}" is older than a key`);
      await store.delete(`${p.slice(0, -1)}-outside`);
    },
  );
  define("countPrefix", "counts only the keys under the prefix", async (store, p) => {
    assertEquals(await store.countPrefix(p), 0);
    for (const key of ["a", "b", "c"]) await store.put(`${p}${key}`, key);
    assertEquals(await store.countPrefix(p), 3);
    assertEquals(await store.countPrefix(`${p}b`), 1);
  });
  define(
    "deletePrefix",
    "deletes every key under the prefix and nothing else",
    async (store, p) => {
      for (const key of ["in/a", "in/b", "out"]) await store.put(`${p}${key}`, key);
      assertEquals(await store.deletePrefix(`${p}in/`), 2);
      assertEquals((await store.getPrefix(p)).kvs.map((kv) => kv.key), [`${p}out`]);
      assertEquals(await store.deletePrefix(`${p}in/`), 0);
    },
  );
}

function defineTransactionTests(define: Define): void {
  define(
    "createIfAbsent",
    "creates a missing key and reports an existing one",
    async (store, p) => {
      const first = await store.createIfAbsent(`${p}k`, "first");
      const second = await store.createIfAbsent(`${p}k`, "second");
      assert(first.created, "The first call did not create the key");
      assert(!second.created, "The second call overwrote the key");
      assertEquals(second.current, first.kv);
      assertEquals(await store.get(`${p}k`), first.kv);
    },
  );
  define("createIfAbsent", "lets exactly one of 50 concurrent callers win", async (store, p) => {
    const calls = Array.from(
      { length: 50 },
      (_, i) => store.createIfAbsent(`${p}k`, `caller-${i}`),
    );
    const results = await Promise.all(calls);
    const winners = results.filter((result) => result.created);
    assertEquals(winners.length, 1);
    const value = (await store.get(`${p}k`))?.value;
    for (const result of results) {
      assertEquals(result.created ? result.kv.value : result.current.value, value);
    }
  });
  define("deleteIfCreateRevision", "never deletes a re-created key", async (store, p) => {
    const old = await store.createIfAbsent(`${p}k`, "old");
    assert(old.created);
    await store.delete(`${p}k`);
    const fresh = await store.createIfAbsent(`${p}k`, "new");
    assert(fresh.created);
    assertEquals(await store.deleteIfCreateRevision(`${p}k`, old.kv.createRevision), false);
    assertEquals((await store.get(`${p}k`))?.value, "new");
    assertEquals(await store.deleteIfCreateRevision(`${p}k`, fresh.kv.createRevision), true);
    assertEquals(await store.get(`${p}k`), undefined);
    assertEquals(await store.deleteIfCreateRevision(`${p}k`, fresh.kv.createRevision), false);
  });
}

function defineLeaseBindingTests(define: Define): void {
  define("put", "binds a key to a lease and unbinds it on a put without one", async (store, p) => {
    const lease = await store.grantLease(10);
    await store.put(`${p}k`, "v", { leaseId: lease.id });
    assertEquals((await store.get(`${p}k`))?.leaseId, lease.id);
    await store.put(`${p}k`, "v");
    assertEquals((await store.get(`${p}k`))?.leaseId, undefined);
    await store.revokeLease(lease.id);
    assertExists(await store.get(`${p}k`), "A key that left the lease was deleted with it");
  });
  define(
    "revokeLease",
    "deletes the lease's keys and tolerates a second revoke",
    async (store, p) => {
      const lease = await store.grantLease(10);
      await store.put(`${p}a`, "v", { leaseId: lease.id });
      const created = await store.createIfAbsent(`${p}b`, "v", { leaseId: lease.id });
      assert(created.created);
      assertEquals(created.kv.leaseId, lease.id);
      await store.revokeLease(lease.id);
      assertEquals(await store.countPrefix(p), 0);
      await store.revokeLease(lease.id);
    },
  );
}

function defineLeaseLifetimeTests(define: Define): void {
  define(
    "grantLease",
    "lets a lease without keep-alives expire with its keys",
    async (store, p) => {
      const lease = await store.grantLease(1);
      const { revision } = await store.getPrefix(p);
      await store.put(`${p}k`, "v", { leaseId: lease.id });
      // Expiry is reported as a delete event, the way other programs notice it.
      const events = await collect(store, p, 2, revision + 1, lease.ttlSeconds * 1000 + 5000);
      assertEquals(events.map((event) => event.type), ["put", "delete"]);
      assertEquals(await store.get(`${p}k`), undefined);
      await assertRejects(() => store.keepAliveOnce(lease.id), LeaseNotFoundError);
    },
  );
  define("keepAliveOnce", "keeps a lease alive past its TTL", async (store, p) => {
    const lease = await store.grantLease(1);
    await store.put(`${p}k`, "v", { leaseId: lease.id });
    const until = Date.now() + lease.ttlSeconds * 1000 + 1500;
    while (Date.now() < until) {
      assertGreater(await store.keepAliveOnce(lease.id), 0);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assertEquals((await store.get(`${p}k`))?.leaseId, lease.id);
    await store.revokeLease(lease.id);
  });
  define("keepAliveOnce", "rejects with LeaseNotFoundError for a revoked lease", async (store) => {
    const lease = await store.grantLease(10);
    await store.revokeLease(lease.id);
    const error = await assertRejects(() => store.keepAliveOnce(lease.id), LeaseNotFoundError);
    assertEquals(error.leaseId, lease.id);
  });
  define("put", "rejects with LeaseNotFoundError for an unknown lease", async (store, p) => {
    const lease = await store.grantLease(10);
    await store.revokeLease(lease.id);
    await assertRejects(() => store.put(`${p}k`, "v", { leaseId: lease.id }), LeaseNotFoundError);
    await assertRejects(
      () => store.createIfAbsent(`${p}k`, "v", { leaseId: lease.id }),
      LeaseNotFoundError,
    );
    assertEquals(await store.get(`${p}k`), undefined);
  });
}

function defineWatchReplayTests(define: Define): void {
  define("watchPrefix", "reports puts and deletes under the prefix in order", async (store, p) => {
    const { revision } = await store.getPrefix(p);
    await store.put(`${p}a`, "1");
    await store.put(`${p.slice(0, -1)}-outside`, "no");
    await store.put(`${p}a`, "2");
    await store.put(`${p}b`, "3");
    await store.delete(`${p}a`);
    await store.deletePrefix(p);
    const events = await collect(store, p, 5, revision + 1, 5000);
    assertEquals(events.map(describe), [
      `put ${p}a=1`,
      `put ${p}a=2`,
      `put ${p}b=3`,
      `delete ${p}a`,
      `delete ${p}b`,
    ]);
    const revisions = events.map(eventRevision);
    assertEquals(revisions, [...revisions].sort((a, b) => a - b));
    await store.delete(`${p.slice(0, -1)}-outside`);
  });
  define("watchPrefix", "replays history from fromRevision", async (store, p) => {
    await store.put(`${p}a`, "1");
    await store.put(`${p}b`, "2");
    const from = (await store.get(`${p}b`))!.modRevision;
    await store.put(`${p}c`, "3");
    const events = await collect(store, p, 2, from, 5000);
    assertEquals(events.map(describe), [`put ${p}b=2`, `put ${p}c=3`]);
  });
}

function defineWatchLifecycleTests(define: Define): void {
  define("watchPrefix", "without fromRevision reports only later changes", async (store, p) => {
    await store.put(`${p}before`, "old");
    const controller = new AbortController();
    const iterator = store.watchPrefix(p, { signal: controller.signal })[Symbol.asyncIterator]();
    const first = iterator.next();
    // The watch starts asynchronously, so keep writing until it reports something.
    for (let i = 0; !(await settledWithin(first, 100)); i++) await store.put(`${p}after`, `${i}`);
    const result = await first;
    controller.abort();
    await iterator.return?.();
    assert(!result.done);
    assertEquals(result.value.type === "put" && result.value.kv.key, `${p}after`);
  });
  define("watchPrefix", "ends when its signal aborts", async (store, p) => {
    const controller = new AbortController();
    const { revision } = await store.getPrefix(p);
    await store.put(`${p}a`, "1");
    const seen: WatchEvent[] = [];
    const watching = (async () => {
      for await (
        const event of store.watchPrefix(p, {
          signal: controller.signal,
          fromRevision: revision + 1,
        })
      ) {
        seen.push(event);
      }
    })();
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await watching;
    assertEquals(seen.map(describe), [`put ${p}a=1`]);
  });
}

function defineDisposalTests(name: string, open: OpenStore): void {
  Deno.test(`${name} is closed by await using and rejects later calls`, async () => {
    let disposed: Store | undefined;
    {
      await using store = await open();
      disposed = store;
      const key = `contract/${crypto.randomUUID()}`;
      await store.put(key, "v");
      assertEquals(await store.delete(key), true);
    }
    const closed = disposed;
    await assertRejects(() => closed.get("anything"), StoreUnavailableError);
  });
  Deno.test(`${name}.close() ends open watches`, async () => {
    const store = await open();
    const watching = (async () => {
      const signal = new AbortController().signal;
      for await (const _ of store.watchPrefix(`contract/${crypto.randomUUID()}/`, { signal })) {
        fail("A watch of an untouched prefix reported an event");
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.close();
    await watching;
  });
}

/** Collects `count` events under `prefix` from `fromRevision`, failing after `timeoutMs`. */
async function collect(
  store: Store,
  prefix: string,
  count: number,
  fromRevision: number,
  timeoutMs: number,
): Promise<WatchEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: WatchEvent[] = [];
  try {
    for await (
      const event of store.watchPrefix(prefix, { signal: controller.signal, fromRevision })
    ) {
      if (events.push(event) === count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (events.length < count) {
    fail(`Saw ${events.length} of ${count} events within ${timeoutMs} ms: ${events.map(describe)}`);
  }
  return events;
}

async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(event: WatchEvent): string {
  return event.type === "put" ? `put ${event.kv.key}=${event.kv.value}` : `delete ${event.key}`;
}
