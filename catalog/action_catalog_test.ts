import { assertEquals, assertRejects } from "@std/assert";
import { MemoryStore } from "@faas/coordination";
import { ActionCatalog, ActionExistsError, type ActionInput } from "./action_catalog.ts";

const input = (name = "hello"): ActionInput => ({
  namespace: "guest",
  name,
  version: "0.0.1",
  exec: { kind: "nodejs:20", code: "function main(){return {}}", binary: false },
  parameters: [],
  limits: { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 },
  annotations: [],
  publish: false,
});

Deno.test("ActionCatalog.put() creates, refuses a duplicate, and bumps the revision on overwrite", async () => {
  await using store = new MemoryStore();
  const catalog = new ActionCatalog(store, "c");
  const first = await catalog.put(input());
  assertEquals(first.rev.startsWith("1-"), true);
  await assertRejects(() => catalog.put(input()), ActionExistsError);
  const second = await catalog.put({ ...input(), limits: { ...input().limits, memory: 512 } }, {
    overwrite: true,
  });
  assertEquals(second.rev.startsWith("2-"), true);
  assertEquals((await catalog.get("guest", "hello"))?.limits.memory, 512);
  assertEquals(await catalog.getRevision("guest", "hello", first.rev), undefined);
  assertEquals((await catalog.getRevision("guest", "hello", second.rev))?.rev, second.rev);
});

Deno.test("ActionCatalog.list() lists one namespace level, sorted and paged; delete() removes", async () => {
  await using store = new MemoryStore();
  const catalog = new ActionCatalog(store, "c");
  for (const name of ["b", "a", "c"]) await catalog.put(input(name));
  await catalog.put({ ...input("inner"), namespace: "guest/pkg" });
  assertEquals((await catalog.list("guest")).map((d) => d.name), ["a", "b", "c"]);
  assertEquals((await catalog.list("guest", { skip: 1, limit: 1 })).map((d) => d.name), ["b"]);
  assertEquals((await catalog.list("guest/pkg")).map((d) => d.name), ["inner"]);
  assertEquals((await catalog.delete("guest", "a"))?.name, "a");
  assertEquals(await catalog.delete("guest", "a"), undefined);
});
