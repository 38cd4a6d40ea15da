import { assertEquals } from "@std/assert";
import { MemoryStore } from "@faas/coordination";
import { Throttles } from "./throttles.ts";

async function eventually(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for the throttling flags");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("Throttles.start() sees flags set before it started", async () => {
  await using store = new MemoryStore();
  await store.put("whisk/throttling/guest/guest/hot", "true");
  await using throttles = await Throttles.start(store, "whisk");
  assertEquals(throttles.isThrottled("guest", "guest/hot"), true);
  assertEquals(throttles.isThrottled("guest", "guest/cold"), false);
});

Deno.test("Throttles follows changes, the action flag winning over the namespace flag", async () => {
  await using store = new MemoryStore();
  await using throttles = await Throttles.start(store, "whisk");
  await store.put("whisk/throttling/guest", "true");
  await eventually(() => throttles.isThrottled("guest", "guest/a"));
  await store.put("whisk/throttling/guest/guest/a", "false");
  await eventually(() => !throttles.isThrottled("guest", "guest/a"));
  assertEquals(throttles.isThrottled("guest", "guest/b"), true);
  await store.delete("whisk/throttling/guest");
  await eventually(() => !throttles.isThrottled("guest", "guest/b"));
  assertEquals(throttles.isThrottled("other", "other/a"), false);
});
