/**
 * Chaos: the Kafka broker is SIGKILLed for a few seconds under load and comes
 * back. Activations accepted before, during (once the producer gets through)
 * and after all run. Uses a private broker, since it kills it.
 */
import { assertEquals } from "@std/assert";
import { connectKafka } from "@faas/bus";
import { createScheduler } from "@faas/scheduler";
import { activationFixture, eventually, startContainer, testCluster } from "./_harness.ts";
import { KafkaProcess } from "./_kafka_process.ts";

Deno.test("kafka outage: a broker killed for 3 s under load loses no accepted activation", async () => {
  await using kafka = await KafkaProcess.start();
  await using cluster = await testCluster(); // the shared etcd; its bus is not used here
  await using bus = await connectKafka({
    brokers: [kafka.broker],
    clientId: `${cluster.name}-outage`,
    retries: 8,
  });
  await using scheduler = await createScheduler(cluster.schedulerConfig("0"), {
    store: cluster.store,
    bus,
  });
  const topic = cluster.topics.scheduler("0");
  const accepted = new Set<string>();
  const ran = new Set<string>();
  const publish = async () => {
    const message = activationFixture({ action: { name: "steady" } });
    await bus.send(topic, [{ key: message.activationId, value: JSON.stringify(message) }]);
    accepted.add(message.activationId);
  };
  await publish();
  await eventually("the queue", () => scheduler.queues.leads("guest", "guest/steady"));
  const proxy = await startContainer(
    cluster,
    "steady",
    (message) => Promise.resolve(void ran.add(message.activationId)),
  );
  // Steady load: a publisher that keeps trying; only acknowledged sends count as accepted.
  let publishing = true;
  const load = (async () => {
    while (publishing) {
      await publish().catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await eventually("load to flow", () => ran.size >= 20);
  await kafka.kill();
  await new Promise((r) => setTimeout(r, 3_000));
  await kafka.restart();
  const acceptedAtRestart = accepted.size;
  await eventually(
    "new activations to be accepted after the restart",
    () => accepted.size > acceptedAtRestart + 20,
    60_000,
  );
  publishing = false;
  await load;
  await eventually(
    "every accepted activation to run",
    () => [...accepted].every((id) => ran.has(id)),
    60_000,
  );
  await proxy.close();
  assertEquals([...accepted].filter((id) => !ran.has(id)), []);
});
