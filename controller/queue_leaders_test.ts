import { assertEquals } from "@std/assert";
import { MemoryStore } from "@faas/coordination";
import { QueueLeaders } from "./queue_leaders.ts";

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for the mirror");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const leader = (sid: string) => JSON.stringify({ host: "h", rpcPort: 1, sid });

Deno.test("QueueLeaders knows leaders written before and after it started", async () => {
  await using store = new MemoryStore();
  await store.put("whisk/queue/guest/guest/a/leader", leader("1"));
  await store.put("whisk/queue/guest/guest/a/followers/2", leader("2"));
  await using leaders = await QueueLeaders.start(store, "whisk");
  assertEquals(leaders.leaderOf("guest", "guest/a"), "1");
  await store.put("whisk/queue/guest/guest/b/leader", leader("3"));
  await store.put("whisk/queue/guest/guest/a/leader", leader("2"));
  await waitFor(() => leaders.leaderOf("guest", "guest/b") === "3");
  await waitFor(() => leaders.leaderOf("guest", "guest/a") === "2");
  await store.delete("whisk/queue/guest/guest/b/leader");
  await waitFor(() => leaders.leaderOf("guest", "guest/b") === undefined);
});

Deno.test("QueueLeaders treats an unreadable leader key as absent", async () => {
  await using store = new MemoryStore();
  await store.put("whisk/queue/guest/guest/a/leader", "{broken");
  await store.put("whisk/queue/guest/guest/b/leader", JSON.stringify({ sid: 5 }));
  await using leaders = await QueueLeaders.start(store, "whisk");
  assertEquals(
    [leaders.leaderOf("guest", "guest/a"), leaders.leaderOf("guest", "guest/b")],
    [undefined, undefined],
  );
});
