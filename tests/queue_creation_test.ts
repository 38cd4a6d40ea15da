/**
 * Queue creation across three real scheduler processes: concurrent CreateQueue
 * calls end with exactly one leader, and the queue gets followers.
 */
import { assertEquals } from "@std/assert";
import { QueueLeader, QueueServiceClient } from "@faas/proto";
import { clusterCall, ETCD_ENDPOINTS, eventually, testCluster } from "./_harness.ts";
import { spawnScheduler } from "./_processes.ts";

Deno.test("queue creation: 100 concurrent CreateQueue calls over 3 schedulers elect one leader", async () => {
  await using cluster = await testCluster();
  const spawn = (sid: string) =>
    spawnScheduler({
      cluster: cluster.name,
      sid,
      etcdEndpoints: ETCD_ENDPOINTS,
      store: cluster.store,
    });
  await using s0 = await spawn("s0");
  await using s1 = await spawn("s1");
  await using s2 = await spawn("s2");
  const clients = [s0, s1, s2].map((s) => new QueueServiceClient(`127.0.0.1:${s.rpcPort}`));
  try {
    const fqn = JSON.stringify({ path: "guest", name: "popular", version: "0.0.1" });
    const options = await clusterCall();
    const answers = await Promise.all(
      Array.from(
        { length: 100 },
        (_, i) =>
          clients[i % 3]!.createQueue({
            invocationNamespace: "guest",
            fqn,
            rev: JSON.stringify("1-a"),
          }, options),
      ),
    );
    const leaders = new Set(answers.map((a) => a.leader));
    assertEquals(answers.every((a) => a.success), true);
    assertEquals(
      leaders.size,
      1,
      `callers were told different leaders: ${[...leaders].join(" | ")}`,
    );
    const told = QueueLeader.parse(JSON.parse([...leaders][0]!));
    const kv = await cluster.store.get(`${cluster.name}/queue/guest/guest/popular/leader`);
    assertEquals(QueueLeader.parse(JSON.parse(kv!.value)), told);
    assertEquals([s0, s1, s2].some((s) => s.sid === told.sid && s.rpcPort === told.rpcPort), true);
    // Creation leaves no in-progress marker behind.
    await eventually(
      "the creation marker to go",
      async () => (await cluster.store.countPrefix(`${cluster.name}/in-progress/queue/`)) === 0,
    );
  } finally {
    // Closing a channel sends GOAWAY, which Deno 2.9.6 may crash on (denoland/deno#36788):
    // stop the servers first.
    await Promise.all([s0, s1, s2].map((s) => s.kill("SIGKILL")));
    for (const c of clients) c.close();
  }
});

Deno.test("queue creation: the follower takes over when the leader process is killed", async () => {
  await using cluster = await testCluster();
  const spawn = (sid: string) =>
    spawnScheduler({
      cluster: cluster.name,
      sid,
      etcdEndpoints: ETCD_ENDPOINTS,
      store: cluster.store,
    });
  await using a = await spawn("a");
  await using b = await spawn("b");
  const client = new QueueServiceClient(`127.0.0.1:${a.rpcPort}`);
  const fqn = JSON.stringify({ path: "guest", name: "sturdy", version: "0.0.1" });
  const { leader } = await client.createQueue({
    invocationNamespace: "guest",
    fqn,
    rev: JSON.stringify("1-a"),
  }, await clusterCall());
  const first = QueueLeader.parse(JSON.parse(leader));
  const [victim, survivor] = first.sid === "a" ? [a, b] : [b, a];
  const killedAt = Date.now();
  await victim.kill("SIGKILL");
  const key = `${cluster.name}/queue/guest/guest/sturdy/leader`;
  await eventually("the survivor to lead", async () => {
    const kv = await cluster.store.get(key);
    return kv !== undefined && QueueLeader.parse(JSON.parse(kv.value)).sid === survivor.sid;
  }, 20_000);
  const takeoverMs = Date.now() - killedAt;
  // Lease TTL is 3 s in these processes: the new leader must serve within 2 × TTL.
  await Promise.all([a, b].map((s) => s.kill("SIGKILL")));
  client.close();
  assertEquals(takeoverMs <= 6_000, true, `takeover took ${takeoverMs} ms`);
});
