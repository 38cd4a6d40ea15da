import { assertEquals, assertRejects } from "@std/assert";
import { MemoryStore, type Store } from "@faas/coordination";
import { clusterKeys } from "@faas/proto";
import { Peers } from "./peers.ts";

const keys = clusterKeys("c");

function register(store: Store, sid: string, queueSize: number): Promise<void> {
  return store.put(
    keys.scheduler(sid),
    JSON.stringify({
      sid: { asString: sid },
      queueSize,
      endpoints: { host: "127.0.0.1", rpcPort: 1000 + queueSize },
    }),
  );
}

/** Counts prefix reads of the scheduler registrations. */
function counting(store: MemoryStore): { store: Store; reads: () => number; fail: boolean } {
  let reads = 0;
  const state = { fail: false };
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      if (name === "getPrefix") {
        return (prefix: string) => {
          reads++;
          return state.fail ? Promise.reject(new Error("etcd is away")) : target.getPrefix(prefix);
        };
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return Object.assign(state, { store: wrapped as Store, reads: () => reads });
}

Deno.test("Peers.list() shares one read among concurrent and recent callers, least loaded first", async () => {
  await using memory = new MemoryStore();
  await register(memory, "b", 3);
  await register(memory, "a", 1);
  const clock = { now: 0 };
  const counted = counting(memory);
  using peers = new Peers(counted.store, keys, { maxAgeMs: 250, now: () => clock.now });
  const lists = await Promise.all(Array.from({ length: 50 }, () => peers.list()));
  assertEquals(counted.reads(), 1);
  assertEquals(lists[0]!.map((p) => p.sid), ["a", "b"]);
  // Each caller gets its own array.
  lists[0]!.pop();
  assertEquals(lists[1]!.length, 2);
  clock.now = 250;
  await peers.list();
  assertEquals(counted.reads(), 1);
  await register(memory, "c", 0);
  clock.now = 251;
  assertEquals((await peers.list()).map((p) => p.sid), ["c", "a", "b"]);
  assertEquals(counted.reads(), 2);
});

Deno.test("Peers.list() does not reuse a failed read", async () => {
  await using memory = new MemoryStore();
  await register(memory, "a", 0);
  const counted = counting(memory);
  using peers = new Peers(counted.store, keys, { now: () => 0 });
  counted.fail = true;
  await assertRejects(() => peers.list());
  counted.fail = false;
  assertEquals((await peers.list()).map((p) => p.sid), ["a"]);
  assertEquals(counted.reads(), 2);
});
