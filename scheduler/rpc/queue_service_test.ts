import { assertEquals, assertRejects } from "@std/assert";
import { StoreUnavailableError } from "@faas/coordination";
import { CLUSTER_TOKEN_METADATA_KEY, FetchTokens, RpcError } from "@faas/proto";
import { queueService } from "./queue_service.ts";

const request = {
  invocationNamespace: "guest",
  fqn: JSON.stringify({ path: "guest", name: "hello", version: "0.0.1" }),
  rev: JSON.stringify("1-a"),
};
const tokens = new FetchTokens("queue-service-test-secret");
const clusterToken = await tokens.mintCluster();
const withMetadata = (values: Record<string, string>) => ({
  signal: new AbortController().signal,
  metadata: (key: string) => values[key],
});
const context = withMetadata({ [CLUSTER_TOKEN_METADATA_KEY]: clusterToken });
const leader = { host: "h", rpcPort: 1, sid: "0" };
const host = {
  create: () => Promise.resolve(leader),
  join: () => Promise.resolve({ role: "leader" as const, leader }),
};

Deno.test("QueueService answers callers with the cluster token", async () => {
  const service = queueService(host, tokens);
  assertEquals(await service.createQueue(request, context), {
    success: true,
    leader: JSON.stringify(leader),
  });
  assertEquals((await service.joinQueue(request, context)).role, "leader");
});

Deno.test("QueueService refuses callers without the cluster token, or with a container's", async () => {
  const service = queueService(host, tokens);
  const containers = await tokens.mint("guest", "guest/hello");
  const cases = [
    [withMetadata({}), "UNAUTHENTICATED"],
    [withMetadata({ [CLUSTER_TOKEN_METADATA_KEY]: containers }), "PERMISSION_DENIED"],
    [withMetadata({ [CLUSTER_TOKEN_METADATA_KEY]: "forged" }), "PERMISSION_DENIED"],
  ] as const;
  for (const [call, code] of cases) {
    for (const method of [service.createQueue, service.joinQueue]) {
      const error = await assertRejects(() => method(request, call), RpcError);
      assertEquals(error.code, code);
    }
  }
});

Deno.test("QueueService answers UNAVAILABLE, which callers retry, when etcd cannot be reached", async () => {
  const away = () => Promise.reject(new StoreUnavailableError("etcd is away"));
  const service = queueService({ create: away, join: away }, tokens);
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
  }, tokens);
  assertEquals(await service.createQueue(request, context).catch((e) => e), broken);
});
