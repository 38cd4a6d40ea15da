import { assertEquals } from "@std/assert";
import { MemoryStore, type Store } from "@faas/coordination";
import { LeasedKeys } from "./leased_keys.ts";

Deno.test("LeasedKeys.set() binds keys to the lease and remove() deletes them", async () => {
  await using store = new MemoryStore();
  const lease = await store.grantLease(10);
  const keys = new LeasedKeys(store, lease.id);
  await keys.set("a", "1");
  assertEquals((await store.get("a"))?.leaseId, lease.id);
  await keys.remove("a");
  assertEquals(await store.get("a"), undefined);
  assertEquals(keys.size, 0);
});

Deno.test("LeasedKeys.sync() retries deletes that failed", async () => {
  await using store = new MemoryStore();
  const lease = await store.grantLease(10);
  let failing = true;
  const flaky = {
    put: (key: string, value: string, options?: { leaseId?: string }) =>
      store.put(key, value, options),
    delete: (key: string) => failing ? Promise.reject(new Error("down")) : store.delete(key),
  } as Pick<Store, "put" | "delete"> as Store;
  const keys = new LeasedKeys(flaky, lease.id);
  await keys.set("a", "1");
  await keys.remove("a");
  assertEquals((await store.get("a"))?.value, "1");
  failing = false;
  await keys.sync();
  assertEquals(await store.get("a"), undefined);
});

Deno.test("LeasedKeys.rebind() writes every held key under the new lease", async () => {
  await using store = new MemoryStore();
  const old = await store.grantLease(10);
  const keys = new LeasedKeys(store, old.id);
  await keys.set("a", "1");
  await keys.set("b", "2");
  await store.revokeLease(old.id);
  assertEquals(await store.get("a"), undefined);
  const fresh = await store.grantLease(10);
  await keys.rebind(fresh.id);
  assertEquals((await store.get("a"))?.leaseId, fresh.id);
  assertEquals((await store.get("b"))?.value, "2");
});

Deno.test("LeasedKeys.remove() right after set() never leaves the key behind", async () => {
  await using store = new MemoryStore();
  const lease = await store.grantLease(10);
  let release = () => {};
  const slowPut = new Promise<void>((resolve) => release = resolve);
  const slow = {
    put: async (key: string, value: string, options?: { leaseId?: string }) => {
      await slowPut;
      await store.put(key, value, options);
    },
    delete: (key: string) => store.delete(key),
  } as Pick<Store, "put" | "delete"> as Store;
  const keys = new LeasedKeys(slow, lease.id);
  const setting = keys.set("a", "1");
  const removing = keys.remove("a");
  release();
  await Promise.all([setting, removing]);
  assertEquals(await store.get("a"), undefined);
});
