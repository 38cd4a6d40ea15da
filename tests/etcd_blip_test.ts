/**
 * An etcd outage shorter than the lease TTL: the scheduler keeps its lease,
 * its queues and every activation. Runs on a private etcd, since it kills it.
 */
import { assertEquals, assertExists } from "@std/assert";
import { connectKafka } from "@faas/bus";
import { connectEtcd } from "@faas/coordination";
import { EtcdProcess } from "@faas/coordination/testing_etcd";
import { createScheduler } from "@faas/scheduler";
import {
  activationFixture,
  eventually,
  KAFKA_BROKERS,
  startContainer,
  testCluster,
} from "./_harness.ts";

Deno.test("etcd blip: a restart shorter than the TTL loses no queue and no activation", async () => {
  await using etcd = await EtcdProcess.start();
  await using cluster = await testCluster(); // topic names and helpers; its store is the shared etcd
  await using store = await connectEtcd({ endpoints: [etcd.endpoint] });
  await using bus = await connectKafka({
    brokers: KAFKA_BROKERS,
    clientId: `${cluster.name}-blip`,
  });
  await using scheduler = await createScheduler(
    cluster.schedulerConfig("0", { FAAS_LEASE_TTL_SECONDS: "6" }),
    { store, bus },
  );
  const leaderKey = `${cluster.name}/queue/guest/guest/steady/leader`;
  const ran = new Set<string>();
  const before = Array.from(
    { length: 20 },
    () => activationFixture({ action: { name: "steady" } }),
  );
  await cluster.publish("0", before);
  await eventually("the leader key", async () => (await store.get(leaderKey)) !== undefined);
  const leaderBefore = await store.get(leaderKey);
  const proxy = await startContainer(
    cluster,
    "steady",
    (message) => Promise.resolve(void ran.add(message.activationId)),
    { rpcPort: scheduler.rpcPort, store },
  );
  await eventually("the first batch", () => before.every((m) => ran.has(m.activationId)));

  // Down for 2 s, well under the 6 s TTL; activations keep arriving through Kafka meanwhile.
  const restarting = etcd.restart({ downMs: 2_000 });
  const during = Array.from(
    { length: 20 },
    () => activationFixture({ action: { name: "steady" } }),
  );
  await cluster.publish("0", during);
  await restarting;
  const after = Array.from({ length: 20 }, () => activationFixture({ action: { name: "steady" } }));
  await cluster.publish("0", after);

  const all = [...before, ...during, ...after];
  await eventually("every activation", () => all.every((m) => ran.has(m.activationId)), 20_000);
  // The test's own client may still be backing off from the outage: read until it answers.
  let leaderAfter: Awaited<ReturnType<typeof store.get>>;
  await eventually("etcd to answer the test", async () => {
    leaderAfter = await store.get(leaderKey).catch(() => undefined);
    return leaderAfter !== undefined;
  });
  assertExists(leaderAfter);
  assertEquals(
    leaderAfter.createRevision,
    leaderBefore!.createRevision,
    "the queue was re-created",
  );
  assertEquals(scheduler.reRegistrations, 0, "the scheduler lost its lease");
  assertEquals(scheduler.queues.leads("guest", "guest/steady"), true);
  await proxy.close();
});

Deno.test("etcd blip: an outage longer than the TTL makes the scheduler step down and register again", async () => {
  await using etcd = await EtcdProcess.start();
  await using cluster = await testCluster();
  await using store = await connectEtcd({ endpoints: [etcd.endpoint] });
  await using bus = await connectKafka({
    brokers: KAFKA_BROKERS,
    clientId: `${cluster.name}-outage`,
  });
  await using scheduler = await createScheduler(
    cluster.schedulerConfig("0", { FAAS_LEASE_TTL_SECONDS: "2" }),
    { store, bus },
  );
  const first = activationFixture({ action: { name: "phoenix" } });
  await cluster.publish("0", [first]);
  await eventually("the queue", () => scheduler.queues.leads("guest", "guest/phoenix"));
  // Held in the queue (no container yet) across the outage.
  await etcd.restart({ downMs: 4_000 });
  await eventually("a new registration", () => scheduler.reRegistrations >= 1, 20_000);
  const second = activationFixture({ action: { name: "phoenix" } });
  await cluster.publish("0", [second]);
  await eventually(
    "the queue to be led again",
    () => scheduler.queues.leads("guest", "guest/phoenix"),
    20_000,
  );
  const ran = new Set<string>();
  const proxy = await startContainer(
    cluster,
    "phoenix",
    (message) => Promise.resolve(void ran.add(message.activationId)),
    { store },
  );
  await eventually(
    "both activations",
    () => ran.has(first.activationId) && ran.has(second.activationId),
    20_000,
  );
  await proxy.close();
});
