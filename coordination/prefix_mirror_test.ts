import { assertEquals } from "@std/assert";
import { connectEtcd } from "./etcd_store.ts";
import { MemoryStore } from "./memory_store.ts";
import { PrefixMirror } from "./prefix_mirror.ts";
import type { KeyValue, Store } from "./store.ts";
import { HeldListingStore, LossyStore } from "./testing_lossy_store.ts";

const endpoints = (Deno.env.get("FAAS_ETCD_ENDPOINTS") ?? "http://127.0.0.1:23790").split(",");
const numbers = (kv: KeyValue) => kv.value === "" ? undefined : Number(kv.value);

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (
  const [name, open] of [
    ["MemoryStore", () => Promise.resolve(new MemoryStore())],
    ["EtcdStore", () => connectEtcd({ endpoints })],
  ] as const
) {
  Deno.test(`PrefixMirror on ${name} follows puts and deletes after the first listing`, async () => {
    await using store: Store = await open();
    const prefix = `mirror-${crypto.randomUUID()}/`;
    await store.put(`${prefix}a`, "1");
    await store.put(`${prefix}skipped`, "");
    const changes: string[] = [];
    await using mirror = new PrefixMirror(store, prefix, {
      parse: numbers,
      onChange: (key, value, previous) =>
        changes.push(`${key.slice(prefix.length)}:${previous}→${value}`),
    });
    await mirror.whenReady();
    assertEquals([...mirror.entries()], [[`${prefix}a`, 1]]);
    await store.put(`${prefix}a`, "2");
    await store.put(`${prefix}b`, "3");
    await store.delete(`${prefix}a`);
    await waitFor("three events", () => mirror.size === 1 && mirror.get(`${prefix}b`) === 3);
    assertEquals(changes, ["a:undefined→1", "a:1→2", "b:undefined→3", "a:2→undefined"]);
    await store.deletePrefix(prefix);
  });
}

Deno.test("PrefixMirror corrects lost events at its next listing", async () => {
  await using store = new MemoryStore();
  const lossy = new LossyStore(store);
  await using mirror = new PrefixMirror(lossy, "p/", { parse: numbers, reconcileIntervalMs: 50 });
  await mirror.whenReady();
  lossy.drop = () => true;
  await store.put("p/a", "1");
  await waitFor("a listing to find the lost put", () => mirror.get("p/a") === 1);
  await store.put("p/a", "2");
  await waitFor("a listing to find the lost update", () => mirror.get("p/a") === 2);
  await store.delete("p/a");
  await waitFor("a listing to find the lost delete", () => mirror.size === 0);
});

Deno.test("PrefixMirror keeps events newer than a listing that raced them", async () => {
  await using store = new MemoryStore();
  const held = new HeldListingStore(store);
  await store.put("p/old", "1");
  await store.put("p/changed", "1");
  await using mirror = new PrefixMirror(held, "p/", { parse: numbers });
  await mirror.whenReady();
  held.hold = true;
  const reconciling = mirror.reconcile(); // lists now, applies when released
  await store.put("p/new", "1");
  await store.put("p/changed", "2");
  await store.delete("p/old");
  await waitFor("the watch to apply the events", () => mirror.get("p/changed") === 2);
  held.release();
  await reconciling;
  assertEquals(
    [...mirror.entries()].sort(),
    [["p/changed", 2], ["p/new", 1]],
  );
});

Deno.test("PrefixMirror does not report a listed key that did not change", async () => {
  await using store = new MemoryStore();
  await store.put("p/a", "1");
  let changes = 0;
  await using mirror = new PrefixMirror(store, "p/", {
    parse: (kv) => ({ n: Number(kv.value) }),
    onChange: () => changes++,
  });
  await mirror.whenReady();
  await mirror.reconcile();
  await mirror.reconcile();
  assertEquals(changes, 1);
});

Deno.test("PrefixMirror.whenReady() rejects with the reason of an aborted signal", async () => {
  await using store = new MemoryStore();
  const held = new HeldListingStore(store);
  held.hold = true;
  await using mirror = new PrefixMirror(held, "p/", { parse: numbers });
  const reason = new Error("Stop");
  const error = await mirror.whenReady(AbortSignal.abort(reason)).catch((e) => e);
  assertEquals([error, mirror.ready], [reason, false]);
  held.release();
  await mirror.whenReady();
});
