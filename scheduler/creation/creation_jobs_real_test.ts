import { assert, assertEquals } from "@std/assert";
import { connectKafka } from "@faas/bus";
import { connectEtcd } from "@faas/coordination";
import { clusterKeys, FetchTokens, topics } from "@faas/proto";
import { CreationJobManager } from "./creation_jobs.ts";
import type { CreationOutcome } from "./creation_outcome.ts";
import { FakeInvoker } from "./_fake_invoker.ts";
import { actionFixture, ETCD_ENDPOINTS, KAFKA_BROKERS, uniqueName, waitFor } from "./_testing.ts";

Deno.test("CreationJobManager creates containers through real etcd and Kafka, with a retry", async () => {
  const name = uniqueName();
  const keys = clusterKeys(name);
  const names = topics(`${name}-`);
  await using store = await connectEtcd({ endpoints: ETCD_ENDPOINTS });
  await using bus = await connectKafka({ brokers: KAFKA_BROKERS, clientId: name });
  const lease = await store.grantLease(30);
  const outcomes: CreationOutcome[] = [];
  try {
    // Invoker 0 has the most memory but refuses once; the retry goes to invoker 1.
    await using refusing = await FakeInvoker.start({
      store,
      bus,
      keys,
      topics: names,
      id: "0",
      resource: { freeMemory: 4096 },
      answer: () => ({ kind: "error", error: "ResourceNotEnoughError" }),
    });
    await using accepting = await FakeInvoker.start({ store, bus, keys, topics: names, id: "1" });
    await using jobs = await CreationJobManager.start({
      store,
      bus,
      keys,
      topics: names,
      tokens: new FetchTokens("a-test-secret-of-some-length"),
      leaseId: () => lease.id,
      self: () => ({ host: "127.0.0.1", rpcPort: 13001, sid: "0" }),
      onOutcome: (outcome) => outcomes.push(outcome),
    });
    const [id] = jobs.create({ invocationNamespace: "guest", action: actionFixture(), count: 1 });
    await waitFor("the outcome", () => outcomes.length === 1, 30_000);
    assertEquals(outcomes[0], {
      kind: "created",
      creationId: id!,
      invocationNamespace: "guest",
      fqn: "guest/hello",
      revision: "1-a",
      invokerId: "1",
    });
    assertEquals([refusing.received[0]?.retryCount, accepting.received[0]?.retryCount], [0, 1]);
    const live = await store.getPrefix(keys.existingContainers("guest", "guest/hello", "1-a"));
    assertEquals(live.kvs.length, 1);
    await waitFor(
      "the in-progress key to go",
      async () => (await store.countPrefix(keys.namespaceInProgress("guest"))) === 0,
    );
    assert(jobs.pending("guest").length === 0);
  } finally {
    await store.revokeLease(lease.id);
    await store.deletePrefix(`${name}/`);
  }
});
