import { assertEquals } from "@std/assert";
import { MemoryStore } from "@faas/coordination";
import { ConvergingKeySet } from "./converging_key_set.ts";
import { HeldListingStore } from "@faas/coordination/testing_lossy";
import { LossyStore, waitFor } from "./_testing.ts";

const byFirstSegment = (key: string) => key.split("/")[1];

Deno.test("ConvergingKeySet counts keys per group from a first listing and then the watch", async () => {
  await using store = new MemoryStore();
  await store.put("p/a/1", "");
  await store.put("q/a/1", "");
  await using set = new ConvergingKeySet(store, "p/", { groupOf: byFirstSegment });
  await set.whenReady();
  assertEquals([set.count("a"), set.size], [1, 1]);
  await store.put("p/a/2", "");
  await store.put("p/b/1", "");
  await store.delete("p/a/1");
  await waitFor("the watch to apply three events", () => set.size === 2 && set.count("b") === 1);
  assertEquals([set.count("a"), set.has("p/a/2"), set.has("p/a/1")], [1, true, false]);
});

Deno.test("ConvergingKeySet ignores keys without a group", async () => {
  await using store = new MemoryStore();
  await store.put("p/a/1", "");
  await store.put("p/skip/1", "");
  const groupOf = (key: string) => key.includes("skip") ? undefined : "all";
  await using set = new ConvergingKeySet(store, "p/", { groupOf });
  await set.whenReady();
  assertEquals([set.size, set.has("p/skip/1")], [1, false]);
});

Deno.test("ConvergingKeySet converges after lost deletes and lost puts", async () => {
  await using store = new MemoryStore();
  const lossy = new LossyStore(store);
  await using set = new ConvergingKeySet(lossy, "p/", {
    groupOf: byFirstSegment,
    reconcileIntervalMs: 50,
  });
  await set.whenReady();
  lossy.drop = () => true;
  await store.put("p/a/1", "");
  await store.put("p/a/2", "");
  await waitFor("a listing to find the puts the watch lost", () => set.count("a") === 2);
  await store.delete("p/a/1");
  await waitFor("a listing to find the delete the watch lost", () => set.count("a") === 1);
});

Deno.test("ConvergingKeySet drops keys of an expired lease whose deletes were lost", async () => {
  await using store = new MemoryStore();
  const lossy = new LossyStore(store);
  lossy.drop = (event) => event.type === "delete";
  await using set = new ConvergingKeySet(lossy, "p/", {
    groupOf: byFirstSegment,
    reconcileIntervalMs: 50,
  });
  await set.whenReady();
  const lease = await store.grantLease(1);
  for (let i = 0; i < 5; i++) await store.put(`p/a/${i}`, "", { leaseId: lease.id });
  await store.put("p/a/kept", "");
  await waitFor("the watch to count six keys", () => set.count("a") === 6);
  await waitFor("the lease to expire and a listing to notice", () => set.count("a") === 1, 5_000);
  assertEquals(set.has("p/a/kept"), true);
});

Deno.test("ConvergingKeySet keeps events newer than a listing that raced them", async () => {
  await using store = new MemoryStore();
  const held = new HeldListingStore(store);
  await store.put("p/a/old", "");
  await using set = new ConvergingKeySet(held, "p/", { groupOf: byFirstSegment });
  await set.whenReady();
  held.hold = true;
  const reconciling = set.reconcile(); // lists now, applies when released
  await store.put("p/a/new", "");
  await store.delete("p/a/old");
  await waitFor("the watch to apply both events", () => set.has("p/a/new") && !set.has("p/a/old"));
  held.release();
  await reconciling;
  assertEquals([set.has("p/a/new"), set.has("p/a/old"), set.size], [true, false, 1]);
});

Deno.test("ConvergingKeySet.whenReady() rejects with the reason of an aborted signal", async () => {
  await using store = new MemoryStore();
  const held = new HeldListingStore(store);
  held.hold = true;
  await using set = new ConvergingKeySet(held, "p/", { groupOf: byFirstSegment });
  const reason = new Error("Stop");
  const error = await set.whenReady(AbortSignal.abort(reason)).catch((e) => e);
  assertEquals([error, set.ready], [reason, false]);
  held.release();
  await set.whenReady();
});
