/**
 * The cluster end to end with every program in its own process: controller,
 * scheduler and invoker on real etcd and Kafka, driven through the REST API
 * with the real `openwhisk` npm client.
 */
import { assertEquals, assertMatch } from "@std/assert";
import openwhisk from "npm:openwhisk@3.21.9";
import { ETCD_ENDPOINTS, eventually, GUEST_KEY, testCluster } from "./_harness.ts";
import { freePort, spawnProgram } from "./_processes.ts";

Deno.test("end to end: separate controller, scheduler and invoker processes run an action", async () => {
  await using cluster = await testCluster();
  const common = { cluster: cluster.name, etcdEndpoints: ETCD_ENDPOINTS };
  const registered = (key: string) => async () => (await cluster.store.get(key)) !== undefined;
  await using _scheduler = await spawnProgram({
    ...common,
    program: "scheduler",
    env: { SCHEDULER_ID: "0", SCHEDULER_RPC_PORT: "0" },
    ready: registered(`${cluster.name}/scheduler/0`),
  });
  await using _invoker = await spawnProgram({
    ...common,
    program: "invoker",
    env: { INVOKER_ID: "0", CONTAINER_IDLE_MS: "2000" },
    ready: registered(`${cluster.name}/invokers/0`),
  });
  const port = freePort();
  await using _controller = await spawnProgram({
    ...common,
    program: "controller",
    env: { CONTROLLER_PORT: String(port) },
    ready: async () =>
      (await fetch(`http://127.0.0.1:${port}/api/v1`).then((r) => r.body?.cancel().then(() => r.ok))
        .catch(() => false)) === true,
  });
  const ow = openwhisk({ apihost: `http://127.0.0.1:${port}`, api_key: GUEST_KEY, namespace: "_" });
  await ow.actions.create({
    name: "greet",
    action: {
      exec: {
        kind: "nodejs:20",
        code: "function main(p) { return { greeting: 'hello ' + p.name }; }",
      },
    },
  });
  const result = await ow.actions.invoke({
    name: "greet",
    blocking: true,
    result: true,
    params: { name: "cluster" },
  });
  assertEquals(result, { greeting: "hello cluster" });
  const { activationId } = await ow.actions.invoke({ name: "greet", params: { name: "later" } });
  assertMatch(activationId, /^[0-9a-f]{32}$/);
  let record: { response?: { result?: unknown } } | undefined;
  await eventually("the non-blocking activation", async () => {
    record = await ow.activations.get({ name: activationId }).catch(() => undefined);
    return record !== undefined;
  });
  assertEquals(record?.response?.result, { greeting: "hello later" });
  // Idle containers are removed: no container keys stay behind.
  await eventually(
    "idle containers to be removed",
    async () => (await cluster.store.countPrefix(`${cluster.name}/namespace/`)) === 0,
    20_000,
  );
});
