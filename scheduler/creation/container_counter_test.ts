import { assertEquals, assertRejects } from "@std/assert";
import { connectEtcd, MemoryStore, type Store } from "@faas/coordination";
import { clusterKeys } from "@faas/proto";
import { ContainerCounter } from "./container_counter.ts";
import { ETCD_ENDPOINTS, LossyStore, uniqueName, waitFor } from "./_testing.ts";

const keys = clusterKeys("whisk");

/** Puts `n` live containers of an action revision, on invoker 0. */
async function containers(store: Store, fqn: string, rev: string, ids: string[], leaseId?: string) {
  for (const id of ids) {
    await store.put(
      keys.existingContainer("guest", fqn, rev, "0", id),
      "",
      leaseId ? { leaseId } : {},
    );
  }
}

Deno.test("ContainerCounter counts live and in-progress containers per revision and namespace", async () => {
  await using store = new MemoryStore();
  await containers(store, "guest/a", "1-x", ["c1", "c2"]);
  await containers(store, "guest/pkg/b", "3-z", ["c3"]);
  await store.put(keys.inProgressContainer("guest", "guest/a", "1-x", "s0", "j1"), "");
  await store.put(keys.existingContainer("other", "other/a", "1-x", "0", "c9"), "");
  await using counter = new ContainerCounter(store, keys);
  using _watch = counter.retain("guest");
  await counter.whenReady("guest");
  assertEquals(counter.action("guest", "guest/a", "1-x"), { existing: 2, inProgress: 1 });
  assertEquals(counter.action("guest", "guest/pkg/b", "3-z"), { existing: 1, inProgress: 0 });
  assertEquals(counter.action("guest", "guest/a", "2-y"), { existing: 0, inProgress: 0 });
  assertEquals(counter.namespace("guest"), { existing: 3, inProgress: 1 });
  assertEquals(counter.namespace("other"), { existing: 0, inProgress: 0 });
  const job = keys.inProgressContainer("guest", "guest/a", "1-x", "s0", "j1");
  assertEquals(counter.countsInProgress(job), true);
  await store.delete(job);
  await containers(store, "guest/a", "1-x", ["c4"]);
  await waitFor(
    "the watch to move the job to a container",
    () => counter.action("guest", "guest/a", "1-x").existing === 3,
  );
  assertEquals(counter.namespace("guest"), { existing: 4, inProgress: 0 });
  assertEquals(counter.countsInProgress(job), false);
});

Deno.test("ContainerCounter ignores queue-creation markers of a namespace called queue", async () => {
  await using store = new MemoryStore();
  await store.put(keys.queueCreation("guest", "guest/a"), "s0");
  await store.put(keys.inProgressContainer("queue", "queue/a", "1-x", "s0", "j1"), "");
  await using counter = new ContainerCounter(store, keys);
  using _watch = counter.retain("queue");
  await counter.whenReady("queue");
  assertEquals(counter.namespace("queue"), { existing: 0, inProgress: 1 });
});

Deno.test("ContainerCounter converges after lost events and expired leases, never drifting up", async () => {
  await using store = new MemoryStore();
  const lossy = new LossyStore(store);
  await using counter = new ContainerCounter(lossy, keys, { reconcileIntervalMs: 50 });
  using _watch = counter.retain("guest");
  await counter.whenReady("guest");
  const lease = await store.grantLease(1);
  await containers(store, "guest/a", "1-x", ["c1", "c2", "c3"], lease.id);
  await store.put(keys.inProgressContainer("guest", "guest/a", "1-x", "s0", "j1"), "", {
    leaseId: lease.id,
  });
  await waitFor("the watch to count them", () => counter.namespace("guest").existing === 3);
  lossy.drop = () => true; // the invoker's and scheduler's deletes never arrive
  await waitFor("the lease expiry to be reconciled", () => {
    const counts = counter.namespace("guest");
    return counts.existing === 0 && counts.inProgress === 0;
  }, 5_000);
  await containers(store, "guest/a", "1-x", ["c4"]);
  await waitFor(
    "a listing to find a put the watch lost",
    () => counter.action("guest", "guest/a", "1-x").existing === 1,
  );
});

Deno.test("ContainerCounter stops counting a namespace with its last reference", async () => {
  await using store = new MemoryStore();
  await containers(store, "guest/a", "1-x", ["c1"]);
  await using counter = new ContainerCounter(store, keys);
  const first = counter.retain("guest");
  const second = counter.retain("guest");
  await counter.whenReady("guest");
  first[Symbol.dispose]();
  first[Symbol.dispose]();
  assertEquals(counter.namespace("guest").existing, 1);
  second[Symbol.dispose]();
  assertEquals([counter.isReady("guest"), counter.namespace("guest").existing], [false, 0]);
  await assertRejects(() => counter.whenReady("guest"), RangeError, '"guest"');
});

Deno.test("ContainerCounter converges on a real etcd after a lease is revoked with its events lost", async () => {
  const etcd = await connectEtcd({ endpoints: ETCD_ENDPOINTS });
  await using lossy = new LossyStore(etcd);
  const cluster = uniqueName();
  const realKeys = clusterKeys(cluster);
  await using counter = new ContainerCounter(lossy, realKeys, { reconcileIntervalMs: 100 });
  try {
    using _watch = counter.retain("guest");
    await counter.whenReady("guest");
    const lease = await etcd.grantLease(30);
    for (const id of ["c1", "c2"]) {
      await etcd.put(realKeys.existingContainer("guest", "guest/a", "1-x", "0", id), "", {
        leaseId: lease.id,
      });
    }
    await etcd.put(realKeys.inProgressContainer("guest", "guest/a", "1-x", "s0", "j1"), "", {
      leaseId: lease.id,
    });
    await waitFor("the watch to count them", () => {
      const counts = counter.action("guest", "guest/a", "1-x");
      return counts.existing === 2 && counts.inProgress === 1;
    });
    lossy.drop = (event) => event.type === "delete";
    await etcd.revokeLease(lease.id);
    await waitFor("a listing to drop the revoked keys", () => {
      const counts = counter.namespace("guest");
      return counts.existing === 0 && counts.inProgress === 0;
    });
  } finally {
    await etcd.deletePrefix(`${cluster}/`);
  }
});

Deno.test("ContainerCounter matches the store after random churn with a third of events lost", async () => {
  await using store = new MemoryStore();
  const lossy = new LossyStore(store);
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  lossy.drop = () => random() < 0.33;
  await using counter = new ContainerCounter(lossy, keys, { reconcileIntervalMs: 50 });
  using _watch = counter.retain("guest");
  await counter.whenReady("guest");
  const leases = [await store.grantLease(60), await store.grantLease(60)];
  for (let step = 0; step < 300; step++) {
    const id = `c${Math.floor(random() * 40)}`;
    const rev = random() < 0.5 ? "1-x" : "2-y";
    // Lease 0 is revoked at step 200, taking its keys with it.
    const lease = step > 200 ? leases[1]! : leases[Math.floor(random() * 2)]!;
    if (random() < 0.6) await containers(store, "guest/a", rev, [id], lease.id);
    else await store.delete(keys.existingContainer("guest", "guest/a", rev, "0", id));
    if (step === 200) await store.revokeLease(leases[0]!.id);
  }
  const truth = async (rev: string) =>
    (await store.getPrefix(keys.existingContainers("guest", "guest/a", rev))).kvs.length;
  const expected = [await truth("1-x"), await truth("2-y")];
  await waitFor(
    "the counts to equal the store",
    () =>
      counter.action("guest", "guest/a", "1-x").existing === expected[0] &&
      counter.action("guest", "guest/a", "2-y").existing === expected[1],
  );
  assertEquals(counter.namespace("guest").existing, expected[0]! + expected[1]!);
  await store.revokeLease(leases[1]!.id);
});
