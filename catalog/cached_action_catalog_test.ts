import { assertEquals } from "@std/assert";
import { connectEtcd, type KeyValue, MemoryStore, type Store } from "@faas/coordination";
import { LossyStore } from "@faas/coordination/testing_lossy";
import { ActionCatalog, type ActionInput } from "./action_catalog.ts";
import { CachedActionCatalog } from "./cached_action_catalog.ts";

const endpoints = (Deno.env.get("FAAS_ETCD_ENDPOINTS") ?? "http://127.0.0.1:23790").split(",");

const input = (name: string, memory = 256): ActionInput => ({
  namespace: "guest",
  name,
  version: "0.0.1",
  exec: { kind: "nodejs:20", code: "function main(){return {}}", binary: false },
  parameters: [],
  limits: { timeout: 60_000, memory, logs: 10, concurrency: 1 },
  annotations: [],
  publish: false,
});

/** Counts point reads, to tell answers from memory from answers from the store. */
class CountingStore extends LossyStore {
  reads = 0;
  override get(key: string): Promise<KeyValue | undefined> {
    this.reads++;
    return super.get(key);
  }
}

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await condition())) {
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
  Deno.test(`CachedActionCatalog on ${name} reads an action once and sees others' changes`, async () => {
    await using inner: Store = await open();
    const store = new CountingStore(inner);
    const cluster = `cache${crypto.randomUUID().slice(0, 8)}`;
    const writer = new ActionCatalog(inner, cluster);
    await using cached = await CachedActionCatalog.start(store, cluster);
    await writer.put(input("a"));
    assertEquals((await cached.get("guest", "a"))?.limits.memory, 256);
    const reads = store.reads;
    assertEquals((await cached.get("guest", "a"))?.limits.memory, 256);
    assertEquals(store.reads, reads, "the second read comes from memory");
    await writer.put(input("a", 512), { overwrite: true });
    await waitFor(
      "the update",
      async () => (await cached.get("guest", "a"))?.limits.memory === 512,
    );
    await writer.delete("guest", "a");
    await waitFor("the delete", async () => (await cached.get("guest", "a")) === undefined);
    await inner.deletePrefix(`${cluster}/`);
  });
}

Deno.test("CachedActionCatalog answers its own writes at once", async () => {
  await using store = new MemoryStore();
  await using cached = await CachedActionCatalog.start(store, "c");
  await cached.put(input("a"));
  await cached.get("guest", "a");
  await cached.put(input("a", 1024), { overwrite: true });
  assertEquals((await cached.get("guest", "a"))?.limits.memory, 1024);
  await cached.delete("guest", "a");
  assertEquals(await cached.get("guest", "a"), undefined);
});

Deno.test("CachedActionCatalog does not keep a read that raced a change", async () => {
  await using inner = new MemoryStore();
  const store = new HeldReadStore(inner);
  const writer = new ActionCatalog(inner, "c");
  await writer.put(input("a"));
  await using cached = await CachedActionCatalog.start(store, "c");
  store.hold = true;
  const racing = cached.get("guest", "a"); // reads the old version, answers later
  await writer.put(input("a", 2048), { overwrite: true });
  await new Promise((resolve) => setTimeout(resolve, 20)); // the watch event arrives
  store.release();
  assertEquals((await racing)?.limits.memory, 256);
  store.hold = false;
  assertEquals((await cached.get("guest", "a"))?.limits.memory, 2048);
});

Deno.test("CachedActionCatalog keeps at most maxEntries actions", async () => {
  await using store = new MemoryStore();
  await using cached = await CachedActionCatalog.start(store, "c", { maxEntries: 2 });
  for (const name of ["a", "b", "c"]) await cached.put(input(name));
  for (const name of ["a", "b", "c"]) await cached.get("guest", name);
  assertEquals(cached.size, 2);
});

/** Holds point reads back until the test releases them. */
class HeldReadStore extends LossyStore {
  hold = false;
  #held: (() => void)[] = [];
  override async get(key: string): Promise<KeyValue | undefined> {
    const value = await super.get(key);
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    return value;
  }
  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }
}
