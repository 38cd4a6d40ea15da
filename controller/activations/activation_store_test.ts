import { assertEquals, assertRejects } from "@std/assert";
import { connectEtcd, MemoryStore, type PutEntry, type Store } from "@faas/coordination";
import { LossyStore } from "@faas/coordination/testing_lossy";
import { newActivationId, StatusCode, type WhiskActivation } from "@faas/proto";
import type { ActivationStore } from "./activation_store.ts";
import { MemoryActivationStore } from "./memory_activation_store.ts";
import { StoreActivationStore } from "./store_activation_store.ts";

function record(name: string, start: number, namespace = "guest"): WhiskActivation {
  return {
    namespace,
    name,
    subject: namespace,
    activationId: newActivationId(),
    start,
    end: start + 5,
    response: { statusCode: StatusCode.success, result: { big: "x".repeat(100) } },
    logs: ["line"],
    version: "0.0.1",
    publish: false,
    annotations: [],
    duration: 5,
  };
}

const implementations: [string, (store: Store) => ActivationStore][] = [
  ["MemoryActivationStore", () => new MemoryActivationStore()],
  ["StoreActivationStore", (store) => new StoreActivationStore(store, "whisk")],
];

for (const [label, create] of implementations) {
  Deno.test(`${label}: get() returns stored records of the namespace only`, async () => {
    await using store = new MemoryStore();
    const activations = create(store);
    const mine = record("a", 1_000);
    await activations.put(mine);
    await activations.put(mine);
    assertEquals(await activations.get("guest", mine.activationId), mine);
    assertEquals(await activations.get("other", mine.activationId), undefined);
    assertEquals(await activations.get("guest", newActivationId()), undefined);
  });

  Deno.test(`${label}: list() is newest first, filtered, paged and without results`, async () => {
    await using store = new MemoryStore();
    const activations = create(store);
    const records = [record("a", 3_000), record("b", 1_000), record("a", 2_000)];
    for (const r of records) await activations.put(r);
    await activations.put(record("a", 4_000, "other"));
    const ids = (list: { activationId: string }[]) => list.map((s) => s.activationId);
    assertEquals(
      ids(await activations.list("guest")),
      [0, 2, 1].map((i) => records[i]!.activationId),
    );
    assertEquals(ids(await activations.list("guest", { name: "a", skip: 1, limit: 1 })), [
      records[2]!.activationId,
    ]);
    assertEquals(ids(await activations.list("guest", { since: 1_500, upto: 2_500 })), [
      records[2]!.activationId,
    ]);
    const [newest] = await activations.list("guest", { limit: 1 });
    assertEquals(newest?.statusCode, 0);
    assertEquals("response" in (newest ?? {}), false);
    assertEquals(await activations.count("guest", { name: "a" }), 2);
  });
}

Deno.test("MemoryActivationStore drops the oldest stored records beyond its capacity", async () => {
  const activations = new MemoryActivationStore({ capacity: 2 });
  const records = [record("a", 1), record("a", 2), record("a", 3)];
  for (const r of records) await activations.put(r);
  assertEquals(await activations.get("guest", records[0]!.activationId), undefined);
  assertEquals(await activations.count("guest"), 2);
});

Deno.test("StoreActivationStore binds records to leases that expire after the retention", async () => {
  await using store = new MemoryStore();
  let now = 0;
  const activations = new StoreActivationStore(store, "whisk", {
    retentionSeconds: 1,
    now: () => now,
  });
  const first = record("a", 1);
  await activations.put(first);
  await activations.put(record("a", 2));
  const { kvs } = await store.getPrefix("whisk/");
  assertEquals(kvs.length, 4, "a record and an index entry each");
  assertEquals(new Set(kvs.map((kv) => kv.leaseId)).size, 1, "one lease per bucket");
  now = 5_000;
  await activations.put(record("a", 3));
  assertEquals(new Set((await store.getPrefix("whisk/")).kvs.map((kv) => kv.leaseId)).size, 2);
  await waitFor(async () => (await activations.get("guest", first.activationId)) === undefined);
  assertEquals(await activations.count("guest"), 0);
});

Deno.test("StoreActivationStore passes on store failures", async () => {
  const store = new MemoryStore();
  await store.close();
  const activations = new StoreActivationStore(store, "whisk");
  await assertRejects(() => activations.put(record("a", 1)));
});

/** Counts transactions, to see records share them. */
class CountingStore extends LossyStore {
  writes = 0;
  override putAll(entries: readonly PutEntry[]): Promise<void> {
    this.writes++;
    return super.putAll(entries);
  }
}

Deno.test("StoreActivationStore writes records stored at the same time in few transactions", async () => {
  await using inner = new MemoryStore();
  const store = new CountingStore(inner);
  const activations = new StoreActivationStore(store, "whisk");
  const records = Array.from({ length: 100 }, (_, i) => record(`a${i}`, i));
  await Promise.all(records.map((r) => activations.put(r)));
  assertEquals(await activations.count("guest"), 100);
  // The first goes alone; the 99 that queued meanwhile fit in two (64 per transaction).
  assertEquals(store.writes, 3);
});

Deno.test("StoreActivationStore on etcd refuses a record too large alone, storing its batch mates", async () => {
  const endpoints = (Deno.env.get("FAAS_ETCD_ENDPOINTS") ?? "http://127.0.0.1:23790").split(",");
  await using store = await connectEtcd({ endpoints });
  const cluster = `actstore${crypto.randomUUID().slice(0, 8)}`;
  const activations = new StoreActivationStore(store, cluster, { retentionSeconds: 60 });
  const huge = record("huge", 2);
  huge.response.result = { big: "x".repeat(2 * 1_048_576) }; // over etcd's 1.5 MiB request limit
  const small = [record("a", 1), record("b", 3), record("c", 4)];
  const outcomes = await Promise.allSettled([
    activations.put(small[0]!),
    activations.put(huge),
    activations.put(small[1]!),
    activations.put(small[2]!),
  ]);
  assertEquals(outcomes.map((o) => o.status), ["fulfilled", "rejected", "fulfilled", "fulfilled"]);
  for (const r of small) {
    assertEquals((await activations.get("guest", r.activationId))?.name, r.name);
  }
  await store.deletePrefix(`${cluster}/`);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for the records to expire");
    await new Promise((r) => setTimeout(r, 50));
  }
}
