import { assertEquals } from "@std/assert";
import { clusterKeys } from "./keys.ts";

const keys = clusterKeys("whisk");

Deno.test("parseContainerKey() reads back every container key layout", () => {
  assertEquals(
    keys.parseContainerKey(keys.existingContainer("guest", "guest/a", "1-x", "3", "c1")),
    {
      kind: "existing",
      invocationNamespace: "guest",
      fqn: "guest/a",
      revision: "1-x",
      owner: "3",
      id: "c1",
    },
  );
  assertEquals(
    keys.parseContainerKey(keys.inProgressContainer("guest", "guest/pkg/a", "2-y", "s0", "cid")),
    {
      kind: "in_progress",
      invocationNamespace: "guest",
      fqn: "guest/pkg/a",
      revision: "2-y",
      owner: "s0",
      id: "cid",
    },
  );
  assertEquals(keys.parseContainerKey(keys.warmedContainer("guest", "guest/a", "1-x", "7", "w")), {
    kind: "warmed",
    invocationNamespace: "guest",
    fqn: "guest/a",
    revision: "1-x",
    owner: "7",
    id: "w",
  });
});

Deno.test("parseContainerKey() rejects keys of other layouts and clusters", () => {
  for (
    const key of [
      keys.queueCreation("guest", "guest/a"),
      keys.queueLeader("guest", "guest/a"),
      keys.invoker("0"),
      clusterKeys("other").existingContainer("guest", "guest/a", "1-x", "3", "c1"),
      "whisk/namespace/guest/guest/a/1-x/worker3/container/c1",
      "whisk/namespace/guest/a/1-x/invoker3/container/c1",
      "whisk/in-progress/guest/guest/a/1-x/scheduler//creationId/c",
    ]
  ) {
    assertEquals(keys.parseContainerKey(key), undefined, key);
  }
});

Deno.test("namespace prefixes cover the container keys of that namespace only", () => {
  const existing = keys.existingContainer("guest", "guest/a", "1-x", "3", "c1");
  assertEquals(existing.startsWith(keys.namespaceContainers("guest")), true);
  assertEquals(existing.startsWith(keys.namespaceContainers("gue")), false);
  const job = keys.inProgressContainer("guest", "guest/a", "1-x", "s0", "cid");
  assertEquals(job.startsWith(keys.namespaceInProgress("guest")), true);
  const warmed = keys.warmedContainer("guest", "guest/a", "1-x", "3", "w");
  assertEquals(warmed.startsWith(keys.warmedContainers("guest", "guest/a", "1-x")), true);
});
