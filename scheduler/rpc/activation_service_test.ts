import { assertEquals, assertRejects } from "@std/assert";
import {
  type ActivationMessage,
  ActivationServiceClient,
  decodeFetchResult,
  FETCH_TOKEN_METADATA_KEY,
  type FetchRequest,
  type FetchResult,
  FetchTokens,
  RpcError,
  serveRpc,
} from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import type { ActionFetch } from "../queue/queue_manager.ts";
import { activationService, type ActivationSource } from "./activation_service.ts";

const SECRET = "test-secret-0123456789";
const tokens = new FetchTokens(SECRET);

interface Recorder extends ActivationSource {
  readonly fetches: ActionFetch[];
  readonly rescheduled: ActivationMessage[];
}

function recorder(answer: (signal: AbortSignal) => Promise<FetchResult>): Recorder {
  const fetches: ActionFetch[] = [];
  const rescheduled: ActivationMessage[] = [];
  return {
    fetches,
    rescheduled,
    fetch: (request, signal) => {
      fetches.push(request);
      return answer(signal);
    },
    reschedule: (message) => {
      rescheduled.push(message);
      return true;
    },
  };
}

async function serve(source: ActivationSource, fetchWaitMs = 200, queueTimeoutMs = 200) {
  const server = await serveRpc({
    activation: activationService(source, { tokens, fetchWaitMs, queueTimeoutMs }),
  });
  const client = new ActivationServiceClient(`127.0.0.1:${server.port}`);
  return {
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.close(0);
    },
  };
}

const goodRequest = (): FetchRequest => ({
  invocationNamespace: "guest",
  fqn: JSON.stringify({ path: "guest", name: "hello", version: "0.0.1" }),
  rev: JSON.stringify("1-a"),
  containerId: "c1",
  warmed: true,
  lastDuration: 12,
  alive: true,
});

const metadataFor = async (ns = "guest", fqn = "guest/hello") => ({
  [FETCH_TOKEN_METADATA_KEY]: await tokens.mint(ns, fqn),
});

Deno.test("ActivationService.FetchActivation passes a parsed request to the queue and encodes its answer", async () => {
  const message = activationFixture();
  const source = recorder(() => Promise.resolve({ kind: "activation", message }));
  await using s = await serve(source);
  const response = await s.client.fetchActivation(goodRequest(), { metadata: await metadataFor() });
  assertEquals(decodeFetchResult(response.activationMessage), { kind: "activation", message });
  assertEquals(source.fetches, [{
    invocationNamespace: "guest",
    fqn: "guest/hello",
    revision: "1-a",
    containerId: "c1",
    warmed: true,
    alive: true,
    lastDurationMs: 12,
  }]);
});

Deno.test("ActivationService.FetchActivation holds the call for the wait window, then answers no_activation", async () => {
  const source = recorder((signal) =>
    new Promise((resolve) =>
      signal.addEventListener("abort", () => resolve({ kind: "no_activation" }))
    )
  );
  await using s = await serve(source, 300);
  const started = performance.now();
  const response = await s.client.fetchActivation(goodRequest(), { metadata: await metadataFor() });
  const elapsed = performance.now() - started;
  assertEquals(decodeFetchResult(response.activationMessage), { kind: "no_activation" });
  assertEquals(elapsed >= 250, true, `answered after ${elapsed} ms`);
});

Deno.test("ActivationService.FetchActivation fails the call when the queue manager is too slow, and keeps a late activation", async () => {
  const late = activationFixture();
  const source = recorder(() =>
    new Promise((resolve) => setTimeout(() => resolve({ kind: "activation", message: late }), 700))
  );
  await using s = await serve(source, 100, 100);
  const error = await assertRejects(
    async () => s.client.fetchActivation(goodRequest(), { metadata: await metadataFor() }),
    RpcError,
  );
  assertEquals(error.code, "DEADLINE_EXCEEDED");
  await new Promise((r) => setTimeout(r, 800));
  assertEquals(source.rescheduled.map((m) => m.activationId), [late.activationId]);
});

Deno.test("ActivationService.FetchActivation refuses malformed fields with INVALID_ARGUMENT and keeps serving", async () => {
  const source = recorder(() => Promise.resolve({ kind: "no_activation" }));
  await using s = await serve(source);
  const huge = "x".repeat(100_000);
  const bad: Partial<FetchRequest>[] = [
    { fqn: "{not json" },
    { fqn: "" },
    { fqn: JSON.stringify({ path: "guest" }) },
    { fqn: JSON.stringify({ path: "a/b/c", name: "x" }) },
    { fqn: huge },
    { rev: "3-abc" },
    { rev: JSON.stringify(42) },
    { rev: huge },
    { invocationNamespace: "" },
    { invocationNamespace: "a/b" },
    { invocationNamespace: huge },
    { containerId: "" },
    { containerId: "has space" },
    { containerId: huge },
    { lastDuration: -5 },
  ];
  const metadata = await metadataFor();
  for (const fields of bad) {
    const error = await assertRejects(
      () => s.client.fetchActivation({ ...goodRequest(), ...fields }, { metadata }),
      RpcError,
    );
    assertEquals(error.code, "INVALID_ARGUMENT", JSON.stringify(fields).slice(0, 80));
  }
  assertEquals(source.fetches.length, 0);
  const ok = await s.client.fetchActivation(goodRequest(), { metadata });
  assertEquals(decodeFetchResult(ok.activationMessage), { kind: "no_activation" });
});

Deno.test("ActivationService lets a container fetch only its own action", async () => {
  const source = recorder(() => Promise.resolve({ kind: "no_activation" }));
  await using s = await serve(source);
  const missing = await assertRejects(() => s.client.fetchActivation(goodRequest()), RpcError);
  assertEquals(missing.code, "UNAUTHENTICATED");
  const otherAction = await assertRejects(
    async () =>
      s.client.fetchActivation(goodRequest(), {
        metadata: await metadataFor("guest", "guest/other"),
      }),
    RpcError,
  );
  assertEquals(otherAction.code, "PERMISSION_DENIED");
  const otherNamespace = await assertRejects(
    async () =>
      s.client.fetchActivation(goodRequest(), {
        metadata: await metadataFor("other", "guest/hello"),
      }),
    RpcError,
  );
  assertEquals(otherNamespace.code, "PERMISSION_DENIED");
  assertEquals(source.fetches.length, 0);
});

Deno.test("ActivationService.RescheduleActivation requeues a valid activation of the caller's action only", async () => {
  const source = recorder(() => Promise.resolve({ kind: "no_activation" }));
  await using s = await serve(source);
  const message = activationFixture();
  const request = {
    invocationNamespace: "guest",
    fqn: JSON.stringify(message.action),
    rev: JSON.stringify(message.revision),
    activationMessage: JSON.stringify(message),
  };
  const metadata = await metadataFor();
  assertEquals(await s.client.rescheduleActivation(request, { metadata }), { isRescheduled: true });
  assertEquals(source.rescheduled.map((m) => m.activationId), [message.activationId]);
  const foreign = activationFixture({ action: { name: "other" } });
  const error = await assertRejects(
    () =>
      s.client.rescheduleActivation({ ...request, activationMessage: JSON.stringify(foreign) }, {
        metadata,
      }),
    RpcError,
  );
  assertEquals(error.code, "INVALID_ARGUMENT");
  const garbage = await assertRejects(
    () => s.client.rescheduleActivation({ ...request, activationMessage: "{}" }, { metadata }),
    RpcError,
  );
  assertEquals(garbage.code, "INVALID_ARGUMENT");
});
