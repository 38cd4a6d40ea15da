import { assertEquals, assertRejects } from "@std/assert";
import { MemoryStore } from "./memory_store.ts";
import { defineStoreContract } from "./store_contract.ts";

defineStoreContract("MemoryStore", () => Promise.resolve(new MemoryStore()));

Deno.test("MemoryStore.watchPrefix() rejects a fromRevision older than its history", async () => {
  await using store = new MemoryStore({ historyLimit: 3 });
  for (let i = 0; i < 5; i++) await store.put(`k${i}`, "v");
  const signal = new AbortController().signal;
  const error = await assertRejects(async () => {
    for await (const _ of store.watchPrefix("", { signal, fromRevision: 2 })) break;
  }, RangeError);
  assertEquals(error.message, 'Revision "2" was compacted; the oldest revision still held is "4"');
});

Deno.test("MemoryStore.watchPrefix() replays the history it still holds", async () => {
  await using store = new MemoryStore({ historyLimit: 3 });
  for (let i = 0; i < 5; i++) await store.put(`k${i}`, "v");
  const controller = new AbortController();
  const keys: string[] = [];
  for await (const event of store.watchPrefix("", { signal: controller.signal, fromRevision: 4 })) {
    if (event.type === "put") keys.push(event.kv.key);
    if (keys.length === 3) controller.abort();
  }
  assertEquals(keys, ["k2", "k3", "k4"]);
});

Deno.test("MemoryStore.getPrefix() sorts keys in etcd's byte order", async () => {
  await using store = new MemoryStore();
  for (const key of ["p/\u{1F600}", "p/\uFFFD", "p/z"]) await store.put(key, "v");
  const { kvs } = await store.getPrefix("p/");
  assertEquals(kvs.map((kv) => kv.key), ["p/z", "p/\uFFFD", "p/\u{1F600}"]);
});
