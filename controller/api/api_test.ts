import { assertEquals, assertExists, assertMatch, assertStringIncludes } from "@std/assert";
import { MemoryBus } from "@faas/bus";
import { MemoryStore } from "@faas/coordination";
import {
  ActivationMessage,
  encodeCompletion,
  StatusCode,
  topics,
  type WhiskActivation,
} from "@faas/proto";
import { loadControllerConfig } from "../config.ts";
import { createController } from "../controller.ts";
import { MemoryActivationStore } from "../activations/memory_activation_store.ts";
import { GUEST_KEY } from "../auth/auth_keys.ts";

const OTHER = "11111111-2222-3333-4444-555555555555:other-secret-key";

// Answers are arbitrary JSON that each test reads field by field.
// deno-lint-ignore no-explicit-any
type Json = any;

interface Env extends AsyncDisposable {
  readonly store: MemoryStore;
  readonly base: string;
  readonly published: ActivationMessage[];
  call(method: string, path: string, init?: CallInit): Promise<{ status: number; body: Json }>;
}

interface CallInit {
  readonly body?: unknown;
  readonly auth?: string | null;
  readonly raw?: BodyInit;
  readonly headers?: Record<string, string>;
}

/** A controller on memory store and bus, with a fake scheduler that answers by `params.mode`. */
async function startEnv(overrides: Record<string, string> = {}): Promise<Env> {
  const store = new MemoryStore();
  const bus = new MemoryBus();
  const config = loadControllerConfig({
    CONTROLLER_PORT: "0",
    FAAS_AUTH_KEYS: `guest=${GUEST_KEY},other=${OTHER}`,
    CONTROLLER_MAX_BODY_BYTES: "2048",
    ...overrides,
  });
  await store.put("whisk/scheduler/0", schedulerState("0", 0));
  const published: ActivationMessage[] = [];
  const scheduler = await bus.subscribe({
    groupId: "fake-scheduler",
    topics: [topics().scheduler("0")],
    onRecord: async (record) => {
      const message = ActivationMessage.parse(JSON.parse(record.value));
      published.push(message);
      if (message.content?.mode === "silent") return;
      await bus.send(topics().completed("0"), [{ value: completion(message) }]);
    },
  });
  const controller = await createController(config, {
    store,
    bus,
    activations: new MemoryActivationStore(),
  });
  const base = `http://127.0.0.1:${controller.port}`;
  return {
    store,
    base,
    published,
    call: (method, path, init = {}) => call(base, method, path, init),
    async [Symbol.asyncDispose]() {
      await controller.close();
      await scheduler.close();
      await bus.close();
      await store.close();
    },
  };
}

function schedulerState(sid: string, queueSize: number): string {
  return JSON.stringify({
    sid: { asString: sid },
    queueSize,
    endpoints: { host: "127.0.0.1", rpcPort: 1 },
  });
}

function completion(message: ActivationMessage): string {
  const failed = message.content?.mode === "fail";
  const record: WhiskActivation = {
    namespace: message.user.namespace.name,
    name: message.action.name,
    subject: message.user.subject,
    activationId: message.activationId,
    start: Date.now(),
    end: Date.now(),
    response: failed
      ? { statusCode: StatusCode.applicationError, result: { error: "it failed" } }
      : { statusCode: StatusCode.success, result: { echo: message.content } },
    logs: ["a log line"],
    version: message.action.version ?? "0.0.1",
    publish: false,
    annotations: [],
    duration: 1,
  };
  return encodeCompletion(message, record, { instanceType: "invoker", instance: 0 });
}

async function call(base: string, method: string, path: string, init: CallInit) {
  const headers: Record<string, string> = { ...init.headers };
  const auth = init.auth === undefined ? GUEST_KEY : init.auth;
  if (auth !== null) headers.authorization = `Basic ${btoa(auth)}`;
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const HELLO = { exec: { kind: "nodejs:default", code: "function main(p) { return p }" } };
const ACTIONS = "/api/v1/namespaces/_/actions";

Deno.test("api: GET /api/v1 needs no credentials and lists runtimes", async () => {
  await using env = await startEnv();
  const { status, body } = await env.call("GET", "/api/v1", { auth: null });
  assertEquals(status, 200);
  assertEquals(body.description, "OpenWhisk API");
  assertEquals(body.runtimes.deno, [{ kind: "deno:2", default: true }]);
});

Deno.test("api: credentials are required and checked, and namespaces are private", async () => {
  await using env = await startEnv();
  const missing = await env.call("GET", ACTIONS, { auth: null });
  assertEquals(missing.status, 401);
  assertStringIncludes(missing.body.error, "requires authentication");
  assertMatch(missing.body.code, /^[0-9a-f]{32}$/);
  assertEquals((await env.call("GET", ACTIONS, { auth: "nobody:nothing" })).status, 401);
  assertEquals((await env.call("GET", ACTIONS, { auth: `${GUEST_KEY}x` })).status, 401);
  assertEquals((await env.call("GET", "/api/v1/namespaces")).body, ["guest"]);
  assertEquals((await env.call("GET", "/api/v1/namespaces/guest/actions")).status, 200);
  const forbidden = await env.call("GET", "/api/v1/namespaces/other/actions");
  assertEquals(forbidden.status, 403);
  assertStringIncludes(forbidden.body.error, `"other"`);
});

Deno.test("api: actions are created, read, listed, updated and deleted", async () => {
  await using env = await startEnv();
  const created = await env.call("PUT", `${ACTIONS}/hello`, {
    body: { ...HELLO, parameters: [{ key: "name", value: "x" }], limits: { timeout: 5_000 } },
  });
  assertEquals(created.status, 200);
  assertEquals(created.body.exec.kind, "nodejs:20");
  assertEquals(created.body.version, "0.0.1");
  assertEquals(created.body.limits, { timeout: 5_000, memory: 256, logs: 10, concurrency: 1 });
  assertEquals((await env.call("PUT", `${ACTIONS}/hello`, { body: HELLO })).status, 409);
  const updated = await env.call("PUT", `${ACTIONS}/hello?overwrite=true`, {
    body: { limits: { memory: 512 } },
  });
  assertEquals(updated.status, 200);
  assertEquals(updated.body.version, "0.0.2");
  assertEquals(updated.body.limits.timeout, 5_000, "limits merge field by field");
  assertEquals(updated.body.parameters, [{ key: "name", value: "x" }]);
  const noCode = await env.call("GET", `${ACTIONS}/hello?code=false`);
  assertEquals(noCode.body.exec, { kind: "nodejs:20", binary: false });
  assertEquals((await env.call("GET", `${ACTIONS}/hello`)).body.exec.code, HELLO.exec.code);
  const list = await env.call("GET", `${ACTIONS}?limit=10`);
  assertEquals(list.body.map((a: { name: string }) => a.name), ["hello"]);
  assertEquals((await env.call("GET", `${ACTIONS}?count=true`)).body, { actions: 1 });
  assertEquals((await env.call("DELETE", `${ACTIONS}/hello`)).status, 200);
  assertEquals((await env.call("GET", `${ACTIONS}/hello`)).status, 404);
  assertEquals((await env.call("DELETE", `${ACTIONS}/hello`)).status, 404);
});

Deno.test("api: bad bodies are refused with 400 and a message, large ones with 413", async () => {
  await using env = await startEnv();
  const cases: [BodyInit, string][] = [
    ["{not json", "not valid JSON"],
    [JSON.stringify({ exec: { kind: "cobol:1", code: "x" } }), `unknown kind "cobol:1"`],
    [JSON.stringify({ exec: { kind: "nodejs:20" } }), `"exec.code" is required`],
    [JSON.stringify({ exec: { kind: "blackbox" } }), `"exec.image" is required`],
    [JSON.stringify({ ...HELLO, limits: { memory: 1 } }), `"limits.memory"`],
    [JSON.stringify({ ...HELLO, paramters: [] }), "paramters"],
    [JSON.stringify({ exec: { kind: 7, code: "x" } }), `"exec.kind"`],
    [JSON.stringify([1, 2]), "expected object"],
    ["", `"exec" is required`],
  ];
  for (const [raw, message] of cases) {
    const { status, body } = await env.call("PUT", `${ACTIONS}/bad`, { raw });
    assertEquals(status, 400, String(raw));
    assertStringIncludes(body.error, message);
  }
  const large = await env.call("PUT", `${ACTIONS}/big`, {
    body: { exec: { kind: "deno:2", code: "x".repeat(4_096) } },
  });
  assertEquals(large.status, 413);
  assertStringIncludes(large.body.error, "2048");
  const streamed = await env.call("POST", `${ACTIONS}/big`, {
    raw: new Blob(["{", `"a":"${"y".repeat(4_096)}"`, "}"]).stream(),
  });
  assertEquals(streamed.status, 413);
  assertEquals((await env.call("PUT", `${ACTIONS}/ok`, { raw: '{"exec":' })).status, 400);
});

Deno.test("api: unknown routes are 404 and wrong methods 405", async () => {
  await using env = await startEnv();
  assertEquals((await env.call("GET", "/api/v1/nothing")).status, 404);
  assertEquals((await env.call("GET", `${ACTIONS}/pkg/inner`)).status, 404);
  assertEquals((await env.call("PATCH", `${ACTIONS}/x`)).status, 405);
  assertEquals((await env.call("GET", `${ACTIONS}/%E0%A4%A`)).status, 400);
});

Deno.test("api: invokes block for the result, or return the activation id", async () => {
  await using env = await startEnv();
  await env.call("PUT", `${ACTIONS}/hello`, { body: HELLO });
  const result = await env.call("POST", `${ACTIONS}/hello?blocking=true&result=true`, {
    body: { name: "x" },
  });
  assertEquals(result, { status: 200, body: { echo: { name: "x" } } });
  const record = await env.call("POST", `${ACTIONS}/hello?blocking=true`, { body: {} });
  assertEquals(record.status, 200);
  assertEquals(record.body.response, {
    status: "success",
    statusCode: 0,
    success: true,
    result: { echo: {} },
  });
  const failed = await env.call("POST", `${ACTIONS}/hello?blocking=true&result=true`, {
    body: { mode: "fail" },
  });
  assertEquals(failed, { status: 502, body: { error: "it failed" } });
  const async = await env.call("POST", `${ACTIONS}/hello`, { body: { n: 1 } });
  assertEquals(async.status, 202);
  assertMatch(async.body.activationId, /^[0-9a-f]{32}$/);
  assertEquals(env.published.at(-1)?.blocking, false);
  assertEquals(env.published.at(-1)?.content, { n: 1 });
  assertEquals((await env.call("POST", `${ACTIONS}/nope`, { body: {} })).status, 404);
});

Deno.test("api: a blocking invoke without a result within the timeout answers 202", async () => {
  await using env = await startEnv({ CONTROLLER_BLOCKING_TIMEOUT_MS: "100" });
  await env.call("PUT", `${ACTIONS}/hello`, { body: HELLO });
  const slow = await env.call("POST", `${ACTIONS}/hello?blocking=true`, {
    body: { mode: "silent" },
  });
  assertEquals(slow.status, 202);
  assertEquals(slow.body.activationId, env.published.at(-1)?.activationId);
});

Deno.test("api: activations are listed newest first and read with result and logs", async () => {
  await using env = await startEnv();
  await env.call("PUT", `${ACTIONS}/a`, { body: HELLO });
  await env.call("PUT", `${ACTIONS}/b`, { body: HELLO });
  const ids: string[] = [];
  for (const name of ["a", "b", "a"]) {
    const { body } = await env.call("POST", `${ACTIONS}/${name}?blocking=true`, { body: {} });
    ids.push(body.activationId);
    await new Promise((r) => setTimeout(r, 2));
  }
  const all = await env.call("GET", "/api/v1/namespaces/_/activations");
  assertEquals(all.body.map((a: { activationId: string }) => a.activationId), ids.toReversed());
  assertEquals(all.body[0].statusCode, 0);
  assertEquals(all.body[0].response, undefined, "summaries carry no result");
  const onlyA = await env.call("GET", "/api/v1/namespaces/_/activations?name=a&limit=1&skip=1");
  assertEquals(onlyA.body.map((a: { activationId: string }) => a.activationId), [ids[0]]);
  const docs = await env.call("GET", "/api/v1/namespaces/_/activations?docs=true&limit=1");
  assertExists(docs.body[0].response.result);
  const count = await env.call("GET", "/api/v1/namespaces/_/activations?count=true");
  assertEquals(count.body, { activations: 3 });
  const one = await env.call("GET", `/api/v1/namespaces/_/activations/${ids[1]}`);
  assertEquals(one.body.name, "b");
  const result = await env.call("GET", `/api/v1/namespaces/_/activations/${ids[1]}/result`);
  assertEquals(result.body.success, true);
  const logs = await env.call("GET", `/api/v1/namespaces/_/activations/${ids[1]}/logs`);
  assertEquals(logs.body, { logs: ["a log line"] });
  const missing = await env.call("GET", `/api/v1/namespaces/_/activations/${"0".repeat(32)}`);
  assertEquals(missing.status, 404);
  assertEquals((await env.call("GET", "/api/v1/namespaces/_/activations/xyz")).status, 400);
  const bad = await env.call("GET", "/api/v1/namespaces/_/activations?limit=500");
  assertEquals(bad.status, 400);
});

Deno.test("api: throttled actions are refused with 429, and no scheduler means 503", async () => {
  await using env = await startEnv();
  await env.call("PUT", `${ACTIONS}/hello`, { body: HELLO });
  await env.store.put("whisk/throttling/guest/guest/hello", "true");
  const deadline = Date.now() + 2_000;
  let throttled = await env.call("POST", `${ACTIONS}/hello`, { body: {} });
  while (throttled.status !== 429 && Date.now() < deadline) {
    throttled = await env.call("POST", `${ACTIONS}/hello`, { body: {} });
  }
  assertEquals(throttled.status, 429);
  assertEquals(throttled.body.error, "Too many requests");
  await env.store.delete("whisk/throttling/guest/guest/hello");
  await env.store.delete("whisk/scheduler/0");
  const unavailable = await env.call("POST", `${ACTIONS}/hello`, { body: {} });
  assertEquals(unavailable.status, 503);
  assertStringIncludes(unavailable.body.error, "No scheduler");
});
