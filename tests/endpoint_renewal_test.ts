/**
 * The seed's failure cases across real schedulers: a container that asks a
 * scheduler without the queue finds the leader in etcd, and a container whose
 * action has no leader anywhere terminates.
 */
import { assertEquals } from "@std/assert";
import { activationFixture, eventually, startContainer, testCluster } from "./_harness.ts";

Deno.test("endpoint renewal: a container sent to the wrong scheduler reaches the leader through etcd", async () => {
  await using cluster = await testCluster();
  const wrong = await cluster.startScheduler("a");
  const leader = await cluster.startScheduler("b");
  const messages = Array.from(
    { length: 5 },
    () => activationFixture({ action: { name: "moved" } }),
  );
  await cluster.publish("b", messages);
  const leaderKey = `${cluster.name}/queue/guest/guest/moved/leader`;
  await eventually(
    "scheduler b to lead",
    async () => (await cluster.store.get(leaderKey)) !== undefined,
  );

  const ran = new Set<string>();
  const proxy = await startContainer(
    cluster,
    "moved",
    (message) => Promise.resolve(void ran.add(message.activationId)),
    { rpcPort: wrong.rpcPort },
  );
  await eventually("all activations through the leader", () => ran.size === messages.length);
  assertEquals(proxy.address, `127.0.0.1:${leader.rpcPort}`);
  await proxy.close();
});

Deno.test("endpoint renewal: a container terminates when etcd has no leader for its action", async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("a");
  const proxy = await startContainer(cluster, "orphan", () => Promise.resolve(), {
    rpcPort: scheduler.rpcPort,
  });
  assertEquals(await proxy.closed, { kind: "no_leader" });
});

Deno.test("endpoint renewal: containers terminate when their scheduler stops and nobody leads", async () => {
  await using cluster = await testCluster();
  const first = await cluster.startScheduler("a");
  await cluster.startScheduler("b");
  await cluster.publish("a", [activationFixture({ action: { name: "roam" } })]);
  const ran: string[] = [];
  const proxy = await startContainer(
    cluster,
    "roam",
    (message) => Promise.resolve(void ran.push(message.activationId)),
    { rpcPort: first.rpcPort },
  );
  await eventually("the first activation", () => ran.length === 1);
  // Stopping releases the leader key; the container's next fetch fails and etcd names no leader.
  await first.close();
  assertEquals(await proxy.closed, { kind: "no_leader" });
});
