/**
 * The activation pull path end to end on real etcd and Kafka: activations
 * published to a scheduler's topic are pulled by SDK containers exactly once.
 */
import { assertEquals, assertExists, assertGreaterOrEqual } from "@std/assert";
import { QueueLeader, SchedulerStates } from "@faas/proto";
import { ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import {
  activationFixture,
  eventually,
  startContainer,
  type TestCluster,
  testCluster,
  tokens,
} from "./_harness.ts";

const ACTIONS = ["alpha", "beta", "gamma"];
const PER_ACTION = 100;
const HANDLER_MS = 15;

Deno.test("activation pull: containers pull every published activation exactly once", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  const published = ACTIONS.flatMap((name) =>
    Array.from({ length: PER_ACTION }, () => activationFixture({ action: { name } }))
  );
  await cluster.publish("0", published);
  // Containers exist only for queues that exist: wait for the leaders, as an invoker would.
  for (const name of ACTIONS) await leaderElected(cluster, name);
  const seen = new Map<string, number>();
  const wrongAction: string[] = [];
  const proxies = await Promise.all(
    ACTIONS.flatMap((name) =>
      [1, 2].map(async (i) =>
        ContainerProxy.start({
          invocationNamespace: "guest",
          action: { path: "guest", name, version: "0.0.1" },
          revision: "1-a",
          containerId: `${name}-${i}`,
          fetchToken: await tokens.mint("guest", `guest/${name}`),
          resolver: storeLeaderResolver(cluster.store, cluster.name),
          endpoint: { host: "127.0.0.1", rpcPort: scheduler.rpcPort },
        }, async (message) => {
          if (message.action.name !== name) wrongAction.push(message.activationId);
          seen.set(message.activationId, (seen.get(message.activationId) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, HANDLER_MS));
        })
      )
    ),
  );
  await eventually("every activation to run", () => seen.size === published.length, 30_000);

  assertEquals([...seen.values()].filter((n) => n !== 1), [], "an activation ran more than once");
  assertEquals(new Set(seen.keys()), new Set(published.map((m) => m.activationId)));
  assertEquals(wrongAction, []);
  for (const name of ACTIONS) {
    const counts = scheduler.queues.counts("guest", `guest/${name}`);
    assertExists(counts);
    assertEquals(counts.containers, 2);
    // Each proxy reports the handler's duration in its next fetch.
    assertGreaterOrEqual(counts.averageDurationMs ?? 0, HANDLER_MS - 1);
  }
  await Promise.all(proxies.map((p) => p.close()));
  for (const name of ACTIONS) {
    assertEquals(scheduler.queues.counts("guest", `guest/${name}`)?.containers, 0);
  }
});

Deno.test("activation pull: the scheduler registers itself and the leader keys of its queues in etcd", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("7");
  await cluster.publish("7", [activationFixture({ action: { name: "keyed" } })]);
  const leaderKey = `${cluster.name}/queue/guest/guest/keyed/leader`;
  await eventually(
    "the leader key",
    async () => (await cluster.store.get(leaderKey)) !== undefined,
  );
  const leader = QueueLeader.parse(JSON.parse((await cluster.store.get(leaderKey))!.value));
  assertEquals(leader, { host: "127.0.0.1", rpcPort: scheduler.rpcPort, sid: "7" });
  const stateKey = `${cluster.name}/scheduler/7`;
  await eventually("the queue count", async () => {
    const kv = await cluster.store.get(stateKey);
    return kv !== undefined && SchedulerStates.parse(JSON.parse(kv.value)).queueSize === 1;
  });
  assertExists((await cluster.store.get(stateKey))?.leaseId);
});

Deno.test("activation pull: malformed Kafka records are skipped and other actions keep flowing", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  const good = Array.from({ length: 20 }, () => activationFixture({ action: { name: "steady" } }));
  const garbage = [
    "not json",
    "{}",
    JSON.stringify({ ...good[0], activationId: "short" }),
    JSON.stringify({ ...good[0], action: { path: "", name: "x" } }),
    "x".repeat(100_000),
    "[1,2,3]",
    "null",
  ];
  await cluster.publish("0", [...garbage, ...good.slice(0, 10), ...garbage, ...good.slice(10)]);
  await leaderElected(cluster, "steady");
  const ran = new Set<string>();
  const proxy = await startContainer(
    cluster,
    "steady",
    (message) => Promise.resolve(void ran.add(message.activationId)),
    { rpcPort: scheduler.rpcPort },
  );
  await eventually("the valid activations", () => ran.size === good.length);
  assertEquals(ran, new Set(good.map((m) => m.activationId)));
  await proxy.close();
});

function leaderElected(cluster: TestCluster, action: string): Promise<void> {
  const key = `${cluster.name}/queue/guest/guest/${action}/leader`;
  return eventually(
    `the leader of ${action}`,
    async () => (await cluster.store.get(key)) !== undefined,
  );
}

Deno.test("activation pull: an idle queue is removed and releases its leader and throttling keys", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0", {
    QUEUE_IDLE_GRACE_MS: "300",
    QUEUE_STOP_GRACE_MS: "300",
  });
  await cluster.publish("0", [activationFixture({ action: { name: "brief" } })]);
  await leaderElected(cluster, "brief");
  const throttlingKey = `${cluster.name}/throttling/guest/guest/brief`;
  await eventually(
    "the throttling flag",
    async () => (await cluster.store.get(throttlingKey)) !== undefined,
  );
  const ran: string[] = [];
  const proxy = await startContainer(
    cluster,
    "brief",
    (message) => Promise.resolve(void ran.push(message.activationId)),
    { rpcPort: scheduler.rpcPort },
  );
  await eventually("the activation", () => ran.length === 1);
  await proxy.close();
  const leaderKey = `${cluster.name}/queue/guest/guest/brief/leader`;
  await eventually(
    "the queue to be removed",
    () => !scheduler.queues.leads("guest", "guest/brief"),
  );
  await eventually(
    "the leader key to go",
    async () => (await cluster.store.get(leaderKey)) === undefined,
  );
  await eventually(
    "the throttling flag to go",
    async () => (await cluster.store.get(throttlingKey)) === undefined,
  );
});

Deno.test("activation pull: copies of an activation that arrive while its queue is created run once", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0");
  const twice = activationFixture({ action: { name: "echoed" } });
  const other = activationFixture({ action: { name: "echoed" } });
  await cluster.publish("0", [twice, twice, twice, other]);
  await leaderElected(cluster, "echoed");
  const runs = new Map<string, number>();
  const proxy = await startContainer(
    cluster,
    "echoed",
    (message) =>
      Promise.resolve(
        void runs.set(message.activationId, (runs.get(message.activationId) ?? 0) + 1),
      ),
    { rpcPort: scheduler.rpcPort },
  );
  await eventually("both activations", () => runs.size === 2);
  await eventually("the duplicates to be counted", () => scheduler.queues.duplicates === 2);
  await proxy.close();
  assertEquals(runs.get(twice.activationId), 1);
});
