import { assertEquals } from "@std/assert";
import { connectEtcd } from "./etcd_store.ts";
import type { WatchEvent } from "./store.ts";
import { defineStoreContract } from "./store_contract.ts";
import { EtcdProcess } from "./testing_etcd_process.ts";
import { TcpProxy } from "./testing_tcp_proxy.ts";

/** The shared test etcd; `deno task test` starts it and sets the variable. */
const endpoints = (Deno.env.get("FAAS_ETCD_ENDPOINTS") ?? "http://127.0.0.1:23790").split(",");

defineStoreContract("EtcdStore", () => connectEtcd({ endpoints }));

Deno.test("EtcdStore.watchPrefix() resumes after the last delivered revision when etcd restarts", async () => {
  await using etcd = await EtcdProcess.start();
  await using store = await connectEtcd({ endpoints: [etcd.endpoint], callTimeoutMs: 1000 });
  const controller = new AbortController();
  const seen: WatchEvent[] = [];
  const watching = (async () => {
    for await (const event of store.watchPrefix("w/", { signal: controller.signal })) {
      seen.push(event);
      if (event.type === "put" && event.kv.value === "3") controller.abort();
    }
  })();
  await waitFor(async () => {
    await store.put("w/a", "1");
    return seen.length > 0;
  });
  await etcd.restart();
  // Written before the watch can have reconnected, so only a resumed watch sees them.
  await waitFor(() => store.put("w/b", "2").then(() => true, () => false));
  await store.put("w/c", "3");
  await watching;
  const values = seen.map((event) => event.type === "put" ? event.kv.value : "delete");
  assertEquals(values.slice(-2), ["2", "3"]);
  assertEquals(new Set(values.slice(0, -2)), new Set(["1"]));
});

Deno.test("EtcdStore.watchPrefix() delivers the changes made while its connection was cut", async () => {
  await using direct = await connectEtcd({ endpoints });
  const { hostname, port } = new URL(endpoints[0]!);
  await using proxy = TcpProxy.start({ hostname, port: Number(port) });
  await using proxied = await connectEtcd({ endpoints: [proxy.endpoint], callTimeoutMs: 1000 });
  const prefix = `watch-cut/${crypto.randomUUID()}/`;
  const { revision } = await direct.getPrefix(prefix);
  const controller = new AbortController();
  const values: string[] = [];
  const watching = (async () => {
    const options = { signal: controller.signal, fromRevision: revision + 1 };
    for await (const event of proxied.watchPrefix(prefix, options)) {
      values.push(event.type === "put" ? event.kv.value : "delete");
      if (values.length === 3) controller.abort();
    }
  })();
  await direct.put(`${prefix}a`, "1");
  await waitFor(() => Promise.resolve(values.length === 1));
  await proxy.cut();
  await direct.put(`${prefix}b`, "2");
  await direct.put(`${prefix}c`, "3");
  await new Promise((resolve) => setTimeout(resolve, 300));
  proxy.resume();
  await watching;
  assertEquals(values, ["1", "2", "3"]);
  await direct.deletePrefix(prefix);
});

/** Retries `attempt` every 100 ms until it returns true, for at most 10 s. */
async function waitFor(attempt: () => Promise<boolean>): Promise<void> {
  const giveUpAt = Date.now() + 10_000;
  while (!(await attempt())) {
    if (Date.now() > giveUpAt) throw new Error("Gave up waiting after 10000 ms");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
