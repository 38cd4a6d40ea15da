/**
 * The controller end to end on real etcd and Kafka, driven by the real
 * `openwhisk` npm client: actions are created, invoked blocking and not,
 * listed, updated and deleted, while a real scheduler queues the activations
 * and an SDK-based runner (standing in for an invoker's container) pulls and
 * completes them.
 */
import {
  assert,
  assertEquals,
  assertExists,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import openwhisk from "npm:openwhisk@3.21.9";
import { createController, loadControllerConfig } from "@faas/controller";
import { GUEST_KEY, type TestCluster, testCluster } from "./_harness.ts";
import { startTestRunner } from "./controller_runner.ts";

const MAX_BODY_BYTES = 65_536;
const CODE = "export function main(params) { return { greeting: `hello ${params.name}` }; }";

async function startController(cluster: TestCluster) {
  const config = loadControllerConfig({
    FAAS_CLUSTER: cluster.name,
    FAAS_KAFKA_TOPIC_PREFIX: `${cluster.name}-`,
    CONTROLLER_PORT: "0",
    CONTROLLER_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    CONTROLLER_BLOCKING_TIMEOUT_MS: "20000",
  });
  return await createController(config, { store: cluster.store, bus: cluster.bus });
}

function client(port: number, apiKey = GUEST_KEY) {
  return openwhisk({ apihost: `http://127.0.0.1:${port}`, api_key: apiKey, namespace: "_" });
}

/** Polls until `read` stops throwing 404, for at most `timeoutMs`. */
async function until404Ends<T>(read: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

Deno.test("controller api: the openwhisk client creates, invokes, lists, updates and deletes actions", async () => {
  await using cluster = await testCluster();
  await cluster.startScheduler("0");
  await using controller = await startController(cluster);
  await using runner = startTestRunner(cluster, "guest", "hello");
  const ow = client(controller.port);

  const created = await ow.actions.create({
    name: "hello",
    action: CODE,
    kind: "deno:2",
    params: { name: "default" },
  });
  assertEquals(created.exec.kind, "deno:2");
  assertEquals(created.version, "0.0.1");

  const result = await ow.actions.invoke({
    name: "hello",
    blocking: true,
    result: true,
    params: { name: "world" },
  });
  assertEquals(result, { greeting: "hello world" });

  const { activationId } = await ow.actions.invoke({ name: "hello", params: { name: "later" } });
  assertMatch(activationId, /^[0-9a-f]{32}$/);
  const activation = await until404Ends(() => ow.activations.get({ name: activationId }));
  assertEquals(activation.response?.result, { greeting: "hello later" });
  assertEquals(activation.response?.success, true);
  assertEquals((await ow.activations.result({ name: activationId })).result, {
    greeting: "hello later",
  });
  const { logs } = await ow.activations.logs({ name: activationId });
  assertStringIncludes(String(logs[0]), "greeted later");
  const listed = await ow.activations.list({ name: "hello", limit: 5 });
  assertEquals(listed[0]?.activationId, activationId, "newest first");

  const actions = await ow.actions.list();
  assertEquals(actions.map((a) => a.name), ["hello"]);

  const updated = await ow.actions.update({
    name: "hello",
    action: CODE,
    kind: "deno:2",
    params: { name: "updated" },
  });
  assertEquals(updated.version, "0.0.2");
  await assertRejects(
    () => ow.actions.create({ name: "hello", action: CODE, kind: "deno:2" }),
    Error,
    "already exists",
  );
  const afterUpdate = await ow.actions.invoke({ name: "hello", blocking: true, result: true });
  assertEquals(afterUpdate, { greeting: "hello updated" }, "the new revision's defaults apply");

  const failed = await ow.actions.invoke({
    name: "hello",
    blocking: true,
    result: true,
    params: { fail: true },
  }).catch((error: unknown) => error);
  assertEquals(statusOf(failed), 502);
  assertStringIncludes(String((failed as Error).message), "failed on purpose");

  await ow.actions.delete({ name: "hello" });
  const gone = await ow.actions.get({ name: "hello" }).catch((error: unknown) => error);
  assertEquals(statusOf(gone), 404);
  assert(runner.ran >= 4);
});

Deno.test("controller api: the openwhisk client sees OpenWhisk's errors", async () => {
  await using cluster = await testCluster();
  await using controller = await startController(cluster);
  const ow = client(controller.port);

  const unauthorized = await client(controller.port, "nobody:wrong").actions.list()
    .catch((error: unknown) => error);
  assertEquals(statusOf(unauthorized), 401);
  assertStringIncludes(String(unauthorized), "authentication is invalid");

  const missing = await ow.actions.invoke({ name: "nope", blocking: true })
    .catch((error: unknown) => error);
  assertEquals(statusOf(missing), 404);

  const badBody = await ow.actions.create({
    name: "bad",
    action: { exec: { kind: "nodejs:20" } } as never,
  })
    .catch((error: unknown) => error);
  assertEquals(statusOf(badBody), 400);
  assertStringIncludes(String(badBody), `"exec.code" is required`);

  const unknownKind = await ow.actions.create({ name: "bad", action: CODE, kind: "cobol:85" })
    .catch((error: unknown) => error);
  assertEquals(statusOf(unknownKind), 400);
  assertStringIncludes(String(unknownKind), `unknown kind "cobol:85"`);

  const huge = "x".repeat(MAX_BODY_BYTES + 1);
  const oversized = await ow.actions.create({ name: "huge", action: huge, kind: "nodejs:20" })
    .catch((error: unknown) => error);
  assertEquals(statusOf(oversized), 413);

  const noScheduler = await ow.actions.create({ name: "lonely", action: CODE, kind: "deno:2" })
    .then(() => ow.actions.invoke({ name: "lonely" }))
    .catch((error: unknown) => error);
  assertEquals(statusOf(noScheduler), 503);
  assertExists(await ow.actions.get({ name: "lonely" }));
});
