import { assertEquals } from "@std/assert";
import { MemoryStore, type Store } from "@faas/coordination";
import { clusterKeys, type QueueLeader, type QueueServiceClient } from "@faas/proto";
import type { QueueRole } from "../queue/queue_manager.ts";
import { type Peer, Peers } from "./peers.ts";
import { QueueCreator } from "./queue_creator.ts";

const keys = clusterKeys("c");
const self: QueueLeader = { host: "127.0.0.1", rpcPort: 1, sid: "s0" };
const target = {
  invocationNamespace: "guest",
  fqn: "guest/hello",
  fqnJson: JSON.stringify({ path: "guest", name: "hello" }),
  revision: "1-a",
};

/** Peers whose QueueService clients only record the joins asked of them. */
class RecordingPeers extends Peers {
  readonly joins: string[] = [];
  override client(peer: Peer): QueueServiceClient {
    return {
      joinQueue: () => {
        this.joins.push(peer.sid);
        return Promise.resolve({ role: "follower", leader: JSON.stringify(self) });
      },
    } as unknown as QueueServiceClient;
  }
}

async function register(store: Store, sid: string, queueSize: number): Promise<void> {
  await store.put(
    keys.scheduler(sid),
    JSON.stringify({
      sid: { asString: sid },
      queueSize,
      endpoints: { host: "127.0.0.1", rpcPort: 2000 + queueSize },
    }),
  );
}

Deno.test("QueueCreator.create() answers the leader its own join reported, without polling etcd for it", async () => {
  await using store = new MemoryStore();
  const lease = await store.grantLease(60);
  await register(store, "s0", 0);
  using peers = new RecordingPeers(store, keys);
  const creator = new QueueCreator({
    store,
    keys,
    peers,
    selfSid: "s0",
    clusterToken: () => Promise.resolve("token"),
    leaseId: () => lease.id,
    // Leads without writing a leader key: polling for one would time out.
    join: (): Promise<QueueRole> => Promise.resolve({ role: "leader", leader: self }),
  }, { leaderWaitMs: 50 });
  assertEquals(await creator.create(target), self);
  // The creation marker is gone once the creation is done.
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(await store.get(keys.queueCreation("guest", "guest/hello")), undefined);
});

Deno.test("QueueCreator.create() on the only registered scheduler writes no creation marker", async () => {
  await using store = new MemoryStore();
  const lease = await store.grantLease(60);
  await register(store, "s0", 0);
  const created: string[] = [];
  const recording = new Proxy(store, {
    get(target, name, receiver) {
      if (name === "createIfAbsent") {
        return (key: string, value: string, options?: { leaseId?: string }) => {
          created.push(key);
          return target.createIfAbsent(key, value, options);
        };
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Store;
  using peers = new RecordingPeers(recording, keys);
  const creator = new QueueCreator({
    store: recording,
    keys,
    peers,
    selfSid: "s0",
    clusterToken: () => Promise.resolve("token"),
    leaseId: () => lease.id,
    join: (): Promise<QueueRole> => Promise.resolve({ role: "leader", leader: self }),
  });
  assertEquals(await creator.create(target), self);
  assertEquals(created, []);
  // With another scheduler to place on, the marker arbitrates between callers.
  await register(store, "s1", 1);
  await new Promise((r) => setTimeout(r, 300));
  await creator.create({ ...target, fqn: "guest/other" });
  assertEquals(created, [keys.queueCreation("guest", "guest/other")]);
  assertEquals(peers.joins, ["s1"]);
});

Deno.test("QueueCreator does not recruit again for a queue it is placing: the chosen peers joined already", async () => {
  await using store = new MemoryStore();
  const lease = await store.grantLease(60);
  await register(store, "s0", 0);
  await register(store, "s1", 1);
  await register(store, "s2", 2);
  await register(store, "s3", 3);
  using peers = new RecordingPeers(store, keys);
  const creator: QueueCreator = new QueueCreator({
    store,
    keys,
    peers,
    selfSid: "s0",
    clusterToken: () => Promise.resolve("token"),
    leaseId: () => lease.id,
    // Winning the queue triggers recruitment, as QueueManager's onLeading does.
    join: async (ns, fqn, revision): Promise<QueueRole> => {
      await creator.recruit({ invocationNamespace: ns, fqn, revision });
      return { role: "leader", leader: self };
    },
  });
  await creator.create(target);
  assertEquals(peers.joins.sort(), ["s1", "s2"]);
  // Leading for another reason (a takeover, an activation): followers are recruited.
  await creator.recruit({ invocationNamespace: "guest", fqn: "guest/other", revision: null });
  assertEquals(peers.joins.sort(), ["s1", "s1", "s2", "s2"]);
});

Deno.test("QueueCreator.create() on the only registered scheduler answers an existing leader its join found", async () => {
  await using store = new MemoryStore();
  const lease = await store.grantLease(60);
  await register(store, "s0", 0);
  using peers = new RecordingPeers(store, keys);
  const other: QueueLeader = { host: "127.0.0.1", rpcPort: 9, sid: "s9" };
  const creator = new QueueCreator({
    store,
    keys,
    peers,
    selfSid: "s0",
    clusterToken: () => Promise.resolve("token"),
    leaseId: () => lease.id,
    // The key is held by a scheduler not registered (yet, or any more): this one follows it.
    join: (): Promise<QueueRole> => Promise.resolve({ role: "follower", leader: other }),
  });
  assertEquals(await creator.create(target), other);
});
