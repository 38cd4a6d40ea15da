import { assertEquals, assertRejects } from "@std/assert";
import { StoreUnavailableError } from "@faas/coordination";
import { RpcError } from "@faas/proto";
import { queueService } from "./queue_service.ts";

const request = {
  invocationNamespace: "guest",
  fqn: JSON.stringify({ path: "guest", name: "hello", version: "0.0.1" }),
  rev: JSON.stringify("1-a"),
};
const context = { signal: new AbortController().signal, metadata: () => undefined };

Deno.test("QueueService answers UNAVAILABLE, which callers retry, when etcd cannot be reached", async () => {
  const away = () => Promise.reject(new StoreUnavailableError("etcd is away"));
  const service = queueService({ create: away, join: away });
  for (
    const call of [
      () => service.createQueue(request, context),
      () => service.joinQueue(request, context),
    ]
  ) {
    const error = await assertRejects(call, RpcError);
    assertEquals(error.code, "UNAVAILABLE");
  }
});

Deno.test("QueueService passes other failures on unchanged", async () => {
  const broken = new Error("a bug");
  const service = queueService({
    create: () => Promise.reject(broken),
    join: () => Promise.reject(broken),
  });
  assertEquals(await service.createQueue(request, context).catch((e) => e), broken);
});
