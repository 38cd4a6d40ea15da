import { assertEquals } from "@std/assert";
import { connectEtcd, MemoryStore, type Store } from "@faas/coordination";
import { clusterKeys } from "@faas/proto";
import { InvokerPool, type InvokerPoolView } from "./invoker_pool.ts";
import { ETCD_ENDPOINTS, uniqueName } from "./_testing.ts";

const record = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    status: "up",
    freeMemory: 1024,
    busyMemory: 512,
    inProgressMemory: 256,
    tags: ["gpu"],
    dedicatedNamespaces: [],
    ...overrides,
  });

async function fill(store: Store, cluster: string): Promise<void> {
  const keys = clusterKeys(cluster);
  await store.put(keys.invoker("0"), record());
  await store.put(`${keys.invoker("1")}/unique-1/display`, record({ status: "down", tags: [] }));
  await store.put(keys.invoker("2"), "{not json");
  await store.put(keys.invoker("3"), record({ status: "sleeping" }));
  await store.put(keys.warmedContainer("guest", "guest/a", "1-x", "0", "w1"), "");
  await store.put(keys.warmedContainer("guest", "guest/a", "1-x", "1", "w2"), "");
  await store.put(keys.warmedContainer("guest", "guest/a", "2-y", "1", "w3"), "");
}

const expected: InvokerPoolView = {
  invokers: [
    {
      id: "0",
      status: "up",
      freeMemoryMb: 1024,
      totalMemoryMb: 1792,
      tags: ["gpu"],
      dedicatedNamespaces: [],
    },
    {
      id: "1",
      status: "down",
      freeMemoryMb: 1024,
      totalMemoryMb: 1792,
      tags: [],
      dedicatedNamespaces: [],
    },
  ],
  warmInvokerIds: ["0", "1"],
};

Deno.test("InvokerPool.read() parses invokers, skips malformed records and finds warmed containers", async () => {
  await using store = new MemoryStore();
  await fill(store, "whisk");
  const view = await new InvokerPool(store, clusterKeys("whisk")).read("guest", "guest/a", "1-x");
  assertEquals(view, expected);
});

Deno.test("InvokerPool.read() rejects with the reason of an aborted signal", async () => {
  await using store = new MemoryStore();
  const reason = new Error("Stop");
  const pool = new InvokerPool(store, clusterKeys("whisk"));
  const error = await pool.read("guest", "guest/a", "1-x", { signal: AbortSignal.abort(reason) })
    .catch((e) => e);
  assertEquals(error, reason);
});

Deno.test("InvokerPool.read() reads invokers from a real etcd", async () => {
  await using store = await connectEtcd({ endpoints: ETCD_ENDPOINTS });
  const cluster = uniqueName();
  try {
    await fill(store, cluster);
    const view = await new InvokerPool(store, clusterKeys(cluster)).read("guest", "guest/a", "1-x");
    assertEquals(view, expected);
  } finally {
    await store.deletePrefix(`${cluster}/`);
  }
});
