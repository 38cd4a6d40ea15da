import { assertEquals, assertRejects } from "@std/assert";
import { defineBusContract } from "./bus_contract.ts";
import { MemoryBus } from "./memory_bus.ts";
import type { BusRecord } from "./bus.ts";
import type { TopicPartition } from "./offset_tracker.ts";
import { waitUntil } from "./wait_until.ts";

defineBusContract("MemoryBus", () => Promise.resolve(new MemoryBus()));

Deno.test("MemoryBus.send() never calls onRecord synchronously", async () => {
  await using bus = new MemoryBus();
  const seen: string[] = [];
  await using _member = await bus.subscribe({
    groupId: "g",
    topics: ["t"],
    onRecord: (record) => void seen.push(record.value),
  });
  const sent = bus.send("t", [{ value: "a" }]);
  assertEquals(seen, []);
  await sent;
  await waitUntil(() => seen.length === 1, { timeout: 1_000 });
});

Deno.test("MemoryBus.subscribe() revokes moved partitions when a member joins", async () => {
  await using bus = new MemoryBus({ defaultPartitions: 4 });
  const revoked: TopicPartition[][] = [];
  await using _first = await bus.subscribe({
    groupId: "g",
    topics: ["t"],
    onRecord: () => {},
    onRevoke: (partitions) => void revoked.push([...partitions]),
  });
  await using _second = await bus.subscribe({ groupId: "g", topics: ["t"], onRecord: () => {} });
  assertEquals(revoked, [[{ topic: "t", partition: 1 }, { topic: "t", partition: 3 }]]);
});

Deno.test("MemoryBus.subscribe() hands a leaving member's uncommitted records to the rest", async () => {
  await using bus = new MemoryBus({ defaultPartitions: 2 });
  const first: BusRecord[] = [];
  const second: BusRecord[] = [];
  const a = await bus.subscribe({
    groupId: "g",
    topics: ["t"],
    onRecord: (r) => void first.push(r),
  });
  await using _b = await bus.subscribe({
    groupId: "g",
    topics: ["t"],
    onRecord: (r) => void second.push(r),
  });
  await bus.send("t", [{ value: "0" }, { value: "1" }, { value: "2" }, { value: "3" }]);
  await waitUntil(() => first.length + second.length === 4, { timeout: 1_000 });
  await a.commit([{ topic: "t", partition: 0, offset: "1" }]);
  await a.close();
  // Partition 0 held "0" and "2"; only "0" was committed.
  await waitUntil(() => second.length === 3, { timeout: 1_000 });
  assertEquals(second.map((r) => r.value), ["1", "3", "2"]);
});

Deno.test("MemoryBus.subscribe() ignores commits for partitions the member does not own", async () => {
  await using bus = new MemoryBus({ defaultPartitions: 2 });
  const a = await bus.subscribe({ groupId: "g", topics: ["t"], onRecord: () => {} });
  const b = await bus.subscribe({ groupId: "g", topics: ["t"], onRecord: () => {} });
  // Partition 1 belongs to `b` now.
  await a.commit([{ topic: "t", partition: 1, offset: "5" }]);
  await Promise.all([a.close(), b.close()]);
  await bus.send("t", [{ value: "0" }, { value: "1" }]);
  const seen: string[] = [];
  await using _c = await bus.subscribe({
    groupId: "g",
    topics: ["t"],
    onRecord: (r) => void seen.push(r.value),
  });
  await waitUntil(() => seen.length === 2, { timeout: 1_000 });
  assertEquals(seen.toSorted(), ["0", "1"]);
});

Deno.test("MemoryBus.ensureTopics() rejects a partition count below one", async () => {
  await using bus = new MemoryBus();
  await assertRejects(() => bus.ensureTopics(["t"], { partitions: 0 }), RangeError);
});
